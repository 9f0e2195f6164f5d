"""Lesson 10's mixed-precision section: the claims its prose makes, asserted from the computed values."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import memory
from optilab import mixed_precision as mp
from optilab.experiments import precision as E
from optilab.experiments import training_in_practice as practice

MIXED = "float16 + fp32 master + dynamic scale"


def test_one_plus_a_ten_thousandth_is_one_in_both_16_bit_formats_and_not_in_float32():
    stored = E.vanishing(small=1e-4, eps=1e-8)
    assert stored["float16"][0] == 1.0 and stored["bfloat16"][0] == 1.0
    assert stored["float32"][0] == pytest.approx(1.0001, rel=1e-6)


def test_adams_epsilon_is_zero_in_float16_only():
    stored = E.vanishing(small=1e-4, eps=1e-8)
    assert stored["float16"][1] == 0.0
    assert stored["bfloat16"][1] == pytest.approx(1e-8, rel=0.01) and stored["float32"][1] == pytest.approx(1e-8)


def test_the_library_refuses_float16_and_opted_in_adam_steps_to_minus_infinity():
    message, step = E.adam_step_in_float16(grad=(1e-4, 1.0))
    assert "float16" in message and "allow_low_precision=True" in message
    assert step.dtype == np.float16 and np.isneginf(step[0]) and np.isfinite(step[1])


def test_an_update_of_a_thousandth_is_lost_from_the_printed_weight_up_and_kept_below_it():
    for name, w in E.smallest_weight_losing(1e-3).items():
        assert mp.update_is_lost([1.01 * w, 1.5 * w], [1e-3, 1e-3], name).all(), name
        assert not mp.update_is_lost([0.99 * w, 0.6 * w], [1e-3, 1e-3], name).any(), name
    losing = E.smallest_weight_losing(1e-3)
    assert losing["bfloat16"] < losing["float16"] < losing["float32"]
    assert losing["bfloat16"] <= 1.0  # on weights of ordinary size, bfloat16 loses Adam's first steps


def test_pure_float16_adam_fails_at_its_first_step_on_every_seed():
    c = E.compare("float16")
    assert c["failed"] == len(practice.SEEDS) and c["first non-finite steps"] == [1] * len(practice.SEEDS)
    assert np.all(np.isinf(E.final_losses("float16")))


def test_master_weights_and_a_dynamic_scale_end_within_float32s_interval():
    mixed, fp32 = E.compare(MIXED), E.compare("float32")
    assert abs(mixed["mean"] - fp32["mean"]) <= fp32["half"]
    assert mixed["failed"] == 0 and mixed["unchanged"] < 1e-3


def test_the_dynamic_scale_skips_a_few_steps_and_ends_a_little_higher_paired_by_seed():
    """The prose: it skips some steps per run and ends higher by much less than the spread across seeds."""
    mixed, fp32 = E.compare(MIXED), E.compare("float32")
    assert 0 < mixed["skipped"] / len(practice.SEEDS) < 0.1 * practice.steps()
    assert mixed["difference"] > 0
    assert fp32["half"] / mixed["difference"] >= 5


def test_the_dynamic_scale_halves_at_each_skipped_step_and_grows_otherwise():
    run = E.run(MIXED, 0)
    assert run.scales[0] == E.SCALE and len(run.skipped) > 0
    for step in run.skipped:
        assert run.scales[step] == run.scales[step - 1] / 2  # scales[step] is the scale of step + 1
    assert run.scales.max() > E.SCALE


def test_pure_bfloat16_rounds_away_many_updates_and_ends_higher_on_every_seed():
    bf16 = E.compare("bfloat16")
    assert bf16["unchanged"] > 0.3
    assert bf16["worse"] == len(practice.SEEDS)
    assert bf16["difference"] - bf16["difference half"] > 0  # the paired interval excludes 0


def test_bfloat16_with_a_float32_master_copy_loses_no_update_and_matches_float32():
    master, fp32 = E.compare("bfloat16 + fp32 master"), E.compare("float32")
    assert master["unchanged"] < 1e-3
    assert abs(master["difference"]) < 0.05 * fp32["half"]


def test_without_a_scale_many_hidden_gradients_are_subnormal_and_some_zero_and_the_scale_rescues_them():
    hidden = E.activation_gradients(seed=0)
    plain, scaled = E.underflow(hidden, 1.0), E.underflow(hidden, E.SCALE)
    assert plain["subnormal"] > 0.2 and plain["zero"] > 0
    assert scaled["subnormal"] < 0.01 and scaled["zero"] == 0 and scaled["overflow"] == 0


def test_underflow_counts_what_float16_stores():
    fractions = E.underflow(np.array([1e-9, 1e-6, 1e-3, 1e5, -1e-9]), 1.0)
    assert fractions == {"zero": 0.4, "subnormal": 0.2, "overflow": 0.2}


def test_a_static_scale_too_large_skips_every_step_and_never_moves():
    static = E.static_scales((2.0 ** 10, 2.0 ** 24))
    never = static[2.0 ** 24]
    assert len(never.skipped) == practice.steps()
    assert np.all(never.val_loss == never.val_loss[0])
    assert len(static[2.0 ** 10].skipped) == 0 and static[2.0 ** 10].val_loss[-1] < 0.2 * never.val_loss[0]


def test_mixed_precision_holds_as_many_bytes_per_parameter_as_float32_and_bfloat16_half():
    sizes = E.bytes_per_parameter()
    assert sizes["float32"]["total"] == 16 and sizes["float16 + fp32 master"]["total"] == 16
    assert sizes["bfloat16 everywhere"]["total"] == 8
    assert sizes["float32"]["GPT-2 small (GB)"] == pytest.approx(16 * memory.gpt2_parameters() / 1e9)


def test_16_bit_activations_take_half_the_bytes():
    kept = E.activation_bytes()
    assert kept["float16"] * 2 == kept["float32"] > 0


def test_an_unknown_recipe_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="choose one of float32"):
        E.run("float8", 0)


def test_the_experiments_draw_nothing():
    """Computing the section's numbers loads neither matplotlib nor ipywidgets nor the widgets."""
    import subprocess
    import sys

    code = ("import sys\nfrom optilab.experiments import precision as p\np.vanishing(); p.bytes_per_parameter()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'ipywidgets') "
            "or m.startswith('optilab.widgets')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
