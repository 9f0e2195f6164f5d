"""The rule table (optilab.rules): each record agrees with its function, CONTRACT.md is generated
from it, and it sits at the bottom of the library's layers."""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optilab import kernels, rules

ROOT = Path(__file__).resolve().parents[1]
RECORDS = [pytest.param(rule, id=rule.name) for rule in rules.TABLE]


#: The modules that hold the reference rules; optilab.kernels imports the others' rules.
KERNEL_MODULES = ("optilab.kernels", "optilab.kernels_adaptive", "optilab.kernels_modern")


def test_every_kernel_has_one_record_and_every_record_a_kernel():
    functions = {name for name, value in vars(kernels).items()
                 if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") in KERNEL_MODULES}
    assert functions == set(rules.names())
    assert list(kernels.RULES) == list(rules.names())
    assert all(kernels.RULES[rule.name] is rule.function for rule in rules.TABLE)


@pytest.mark.parametrize("rule", RECORDS)
def test_a_records_hyperparameters_are_keyword_arguments_of_its_function(rule):
    everything = rule.signature_defaults
    assert rule.hyperparameters[0] == "lr"
    assert set(rule.hyperparameters) <= set(everything)
    assert set(rule.torch_ranges) <= set(everything)
    assert list(rule.defaults) == list(rule.hyperparameters)


@pytest.mark.parametrize("rule", RECORDS)
def test_a_records_state_keys_are_what_its_function_returns(rule):
    rng = np.random.default_rng(0)
    for shape in [(3, 2), (2, 3, 4), (5,)] if rule.params == "any" else [(3, 2), (2, 5)]:
        param, state = rng.normal(size=shape), {}
        for _ in range(2):
            param, state = rule.function(param, rng.normal(size=shape), state)
        expected = {(3, 2): {"param": (3, 2), "rows": (3,), "cols": (2,), "scalar": ()},
                    (2, 5): {"param": (2, 5), "rows": (2,), "cols": (5,), "scalar": ()},
                    (2, 3, 4): {"param": (2, 3, 4), "rows": (2, 3), "cols": (2, 4), "scalar": ()},
                    (5,): {"param": (5,), "scalar": ()}}[shape]
        present = [s for s in rule.state if s.ndim == "any" or (s.ndim == "2+") == (len(shape) >= 2)]
        assert {s.name for s in present} <= set(state), shape
        assert not {s.name for s in rule.state if s not in present} & set(state), shape
        for slot in present:
            if slot.kind == "count":
                assert state[slot.name] == 2
            else:
                assert np.shape(state[slot.name]) == expected[slot.shape], (shape, slot.name)
    assert rule.accumulator is None or rule.accumulator in rule.state_keys
    assert rule.evaluate_at is None or rule.evaluate_at in rule.state_keys


def test_the_colours_are_distinct_hex_colours():
    colours = [rule.color for rule in rules.TABLE]
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colours)
    assert len(set(colours)) == len(colours)


def test_a_record_that_names_a_missing_hyperparameter_is_a_clear_error():
    wrong = dataclasses.replace(rules.get("adam"), hyperparameters=("lr", "beta3"))
    with pytest.raises(TypeError, match="optilab.kernels.adam has no keyword argument 'beta3'"):
        wrong.defaults


def test_an_unknown_rule_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown rule 'adma'.*Did you mean 'adam'"):
        rules.get("adma")


def test_a_slot_of_an_unknown_kind_or_shape_is_refused():
    with pytest.raises(ValueError, match="kind 'matrix'"):
        rules.Slot("m", "matrix")
    with pytest.raises(ValueError, match="shape 'diagonal'"):
        rules.Slot("m", shape="diagonal")


def test_contract_md_holds_the_generated_rule_table():
    text = (ROOT / "CONTRACT.md").read_text(encoding="utf-8")
    start, end = rules.CONTRACT_MARKERS
    assert start in text and end in text
    table = text.split(start, 1)[1].split(end, 1)[0].strip()
    assert table == rules.contract_markdown(), (
        "CONTRACT.md's rule table is out of date: run "
        ".venv/bin/python -c 'from optilab.rules import write_contract; write_contract(\"CONTRACT.md\")'")


def test_the_contract_table_lists_the_graded_rules_with_their_defaults():
    rows = rules.contract_markdown().splitlines()[2:]
    assert [row.split("|")[1].strip(" `") for row in rows] == list(rules.graded())
    assert "| `rmsprop` | `lr=1e-2, rho=0.99, eps=1e-8` | `sq_avg` |" in rules.contract_markdown()


def test_the_table_imports_nothing_of_the_library_at_import_time():
    tree = ast.parse((ROOT / "lib" / "optilab" / "rules.py").read_text(encoding="utf-8"))
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = [alias.name for node in top_level for alias in node.names] + [
        node.module for node in top_level if isinstance(node, ast.ImportFrom) and node.module]
    assert not [n for n in names if n and n.startswith("optilab")]


def test_reading_the_table_loads_neither_the_grader_nor_the_widgets_nor_matplotlib():
    code = ("import sys, optilab.rules as r; r.get('adam').defaults; "
            "print(sorted(m for m in sys.modules if m.startswith(('optilab.grading', 'optilab.widgets', "
            "'matplotlib'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_typo_is_matched_to_the_rule_it_most_likely_meant():
    names = list(rules.names()) + ["adamax"]
    assert rules.suggest("adma", names) == "adam"  # one swap, not the longer adamax
    assert rules.suggest("rmsporp", names) == "rmsprop"
    assert rules.suggest("Nesterov", names) == "nesterov"
    assert rules.suggest("lbfgs", names) is None


def test_readme_holds_the_generated_table_of_every_rule():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = rules.README_MARKERS
    assert start in text and end in text
    table = text.split(start, 1)[1].split(end, 1)[0].strip()
    assert table == rules.readme_markdown(), (
        "README.md's table of every rule is out of date: run .venv/bin/python -c "
        "'from optilab.rules import write_contract; write_contract(\"README.md\", readme=True)'")
    assert [row.split("|")[1].strip(" `") for row in table.splitlines()[2:]] == list(rules.names())


def test_the_readme_table_says_how_much_state_each_rule_keeps():
    table = rules.readme_markdown()
    assert "| `adam` | `t`, `m`, `v` | 2nk |" in table
    assert "| `adafactor` | `t`, `row`, `col`, `v` | n + k (a vector of n: n) |" in table
    assert "(matrices only)" in table.split("`muon`")[1].splitlines()[0]
