"""Optimizer-state memory: arrays counted by running the rules, GPT-2's parameter count."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import memory

# The state keys of CONTRACT.md's table: arrays the size of the parameter.
CONTRACT_ARRAYS = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2, "adamw": 2,
                   "amsgrad": 3}


@pytest.mark.parametrize("rule, arrays", CONTRACT_ARRAYS.items())
def test_state_arrays_counts_the_arrays_each_rule_keeps(rule, arrays):
    assert memory.state_arrays(rule) == arrays


def test_state_arrays_counts_a_students_rule_and_ignores_scalars():
    def my_rule(param, grad, state, *, lr=0.1):
        v = state.get("v", 0.0) + grad
        return param - lr * v, {"v": v, "t": state.get("t", 0) + 1, "lr_used": lr}

    assert memory.state_arrays(my_rule) == 1


def test_state_bytes_is_arrays_times_parameters_times_itemsize():
    assert memory.state_bytes(1000, "adam") == 2 * 1000 * 4
    assert memory.state_bytes(1000, "adam", np.float64) == 2 * 1000 * 8
    assert memory.state_bytes(10, "sgd") == 0
    with pytest.raises(ValueError, match="n_params must be >= 0"):
        memory.state_bytes(-1, "adam")


def test_gpt2_parameter_counts_match_the_published_models():
    # sum(p.numel() for p in GPT2LMHeadModel.from_pretrained(name).parameters()) in Hugging Face
    assert memory.gpt2_parameters(**memory.GPT2_SIZES["small"]) == 124_439_808
    assert memory.gpt2_parameters(**memory.GPT2_SIZES["xl"]) == 1_557_611_200


@pytest.mark.torch
def test_gpt2_parameter_count_matches_a_torch_model_of_the_same_shape(torch):
    n_layer, d, vocab, n_ctx = 2, 16, 50, 8
    nn = torch.nn
    blocks = [nn.ModuleList([nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d), nn.LayerNorm(d),
                             nn.Linear(d, 4 * d), nn.Linear(4 * d, d)]) for _ in range(n_layer)]
    model = nn.ModuleList([nn.Embedding(vocab, d), nn.Embedding(n_ctx, d), *blocks, nn.LayerNorm(d)])
    count = sum(p.numel() for p in model.parameters())
    assert memory.gpt2_parameters(n_layer=n_layer, d_model=d, vocab=vocab, n_ctx=n_ctx) == count


# --- rules whose state is not arrays of the parameter's shape (CONTRACT.md, "Rules that do not fit one array")
@pytest.mark.parametrize("rule", ["adam", "lion", "adafactor", "nadam", "schedule_free_adamw", "adadelta"])
@pytest.mark.parametrize("shape", [(), (5,), (4, 3), (2, 3, 4)], ids=str)
def test_state_numbers_read_from_the_table_are_what_the_rule_keeps(rule, shape):
    from optilab import kernels

    assert memory.state_numbers(rule, shape) == memory.state_numbers(kernels.RULES[rule], shape)


def test_adafactor_keeps_a_row_and_a_column_of_a_matrix_and_all_of_a_vector():
    assert memory.state_numbers("adafactor", (300, 40)) == 300 + 40
    assert memory.state_numbers("adafactor", (7, 300, 40)) == 7 * (300 + 40)
    assert memory.state_numbers("adafactor", (300,)) == 300
    assert memory.state_numbers("lion", (300, 40)) == 300 * 40  # one array, half of Adam's
    assert memory.state_numbers("adam", (300, 40)) == 2 * 300 * 40


def test_muon_counts_its_matrices_and_gives_the_rest_to_another_rule():
    assert memory.state_arrays("muon") == 1
    shapes = [(30, 20), (20,)]
    assert memory.model_state_bytes(shapes, "muon", np.float32) == (600 + 2 * 20) * 4
    assert memory.model_state_bytes(shapes, "muon", np.float32, others="sgd") == 600 * 4
    with pytest.raises(ValueError, match="muon takes matrices only"):
        memory.state_numbers("muon", (20,))


def test_gpt2_shapes_add_up_to_its_parameter_count():
    for size in memory.GPT2_SIZES.values():
        shapes = memory.gpt2_shapes(**size)
        assert sum(int(np.prod(s)) for s in shapes) == memory.gpt2_parameters(**size)
    # Adafactor's state for GPT-2 small is a fraction of a percent of Adam's
    shapes = memory.gpt2_shapes()
    ratio = memory.model_state_bytes(shapes, "adafactor") / memory.model_state_bytes(shapes, "adam")
    assert ratio < 0.005
