"""optilab.show displays library source as a fenced, highlighted Python block."""

from __future__ import annotations

import ast
import inspect

import pytest

from optilab import kernels, show, theory


def test_source_is_a_python_code_block_with_the_functions_code():
    md = show.source(kernels.sgd)
    text = md.data
    assert text.startswith("```python\ndef sgd(param, grad, state, *, lr=1e-2")
    assert text.endswith("\n```")
    assert "return param - lr * g, {}" in text
    assert "Robbins & Monro" in text  # the docstring is kept by default
    assert md._repr_markdown_() is not None  # renders as Markdown in a notebook


def test_docstring_false_drops_only_the_docstring_and_keeps_valid_code():
    code = show.source_text(kernels.adam, docstring=False)
    assert "Kingma & Ba" not in code and '"""' not in code
    assert "m_hat = m / (1.0 - beta1**t)" in code
    tree = ast.parse(code)  # still valid Python
    assert isinstance(tree.body[0], ast.FunctionDef) and tree.body[0].name == "adam"
    # every line of the function except the docstring is shown
    full = inspect.getsource(kernels.adam).splitlines()
    assert len(code.splitlines()) == len(full) - len(kernels.adam.__doc__.splitlines())


def test_a_fence_longer_than_any_backtick_run_in_the_source(tmp_path, monkeypatch):
    text = show.source(theory).data  # the module's docstrings contain ``double backticks``
    assert "``" in text
    assert text.startswith("```python\n") and text.endswith("\n```")
    (tmp_path / "fenced.py").write_text('def f():\n    return "```"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    import fenced
    text = show.source(fenced.f).data
    assert text == '````python\ndef f():\n    return "```"\n````'


def test_source_of_something_without_source_says_what_to_pass():
    with pytest.raises(TypeError, match="pass a function, class or module"):
        show.source(len)


def test_a_rule_shown_by_its_interface_has_no_body():
    text = show.interface_text(kernels.adam)
    assert "def adam(param, grad, state, *, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08" in text
    assert "PyTorch: ``torch.optim.Adam" in text
    assert "sqrt" not in text and "return" not in text  # the maths is the lesson's, the code the lab's


def test_no_lesson_prints_the_code_a_lab_asks_for():
    """Found when tried: lesson 06 printed the reference `adam` just before lab 4 asked for it."""
    import ast
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    asked = set()
    for path in sorted((root / "solutions").glob("lab*/lab*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("solution"):
                tree = ast.parse("".join(cell["source"]))
                asked |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert {"sgd", "minibatches", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"} <= asked
    shown = []
    for path in sorted((root / "lessons").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            for node in ast.walk(ast.parse("".join(cell["source"]))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in {"source", "source_text", "getsource"} and node.args):
                    target = ast.unparse(node.args[0]).split(".")[-1]
                    if target in asked:
                        shown.append(f"{path.name} {cell['id']}: {ast.unparse(node)}")
    assert not shown, shown
