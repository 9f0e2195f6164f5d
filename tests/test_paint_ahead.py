"""Frames one input away are painted while the kernel waits, and a move there shows them from memory."""

from __future__ import annotations

import asyncio

import ipywidgets as widgets
import pytest

from optilab.widgets import explorer as module
from optilab.widgets import registry
from tests.test_render import _spans, assert_same_as_full_draw


@pytest.mark.parametrize("control, expected", [
    (widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.1), {1: [0.6], -1: [0.4]}),
    (widgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.1), {1: [], -1: [0.9]}),  # stops at its end
    (widgets.IntSlider(value=3, min=0, max=5, step=2), {1: [5], -1: [1]}),
    (widgets.FloatLogSlider(value=0.01, base=10, min=-4, max=0, step=0.5), {1: [10 ** -1.5], -1: [10 ** -2.5]}),
    (widgets.SelectionSlider(options=["a", "b", "c"], value="a"), {1: ["b"], -1: []}),
    (widgets.Dropdown(options=["a", "b", "c"], value="a"), {1: ["b"], -1: ["c"]}),  # a menu goes round
    (widgets.Checkbox(value=False), {1: [True], -1: []}),
    (widgets.SelectMultiple(options=["a", "b"], value=("a",)), {1: [("a", "b")], -1: []}),  # never none ticked
])
def test_one_move_away_is_what_one_key_press_or_click_makes(control, expected):
    for direction, values in expected.items():
        got = module._one_move_away(control, direction)
        assert got == pytest.approx(values) if values and isinstance(values[0], float) else got == values


def test_finding_the_next_values_makes_no_widget():
    """Each widget made in a kernel opens a comm to the browser: a round of painting ahead must make none."""
    from ipywidgets.widgets import widget as base

    picks = widgets.SelectMultiple(options=[("A", "a"), ("B", "b"), ("C", "c")], value=("a",))
    before = len(base._instances)
    assert module._one_move_away(picks, 1) == [("a", "b"), ("a", "c")]
    assert len(base._instances) == before


def test_a_float_computed_in_the_browser_finds_the_frame_painted_for_it():
    # noUiSlider and JavaScript's Math.pow round differently from Python in the last bits
    assert module._frame_key({"lr": 0.1 + 0.2}) == module._frame_key({"lr": 0.3})
    assert module._frame_key({"lr": 10 ** -1.98}) == module._frame_key({"lr": 0.010471285480508996})
    assert module._frame_key({"lr": 0.3}) != module._frame_key({"lr": 0.30000001})
    assert module._frame_key({"flag": 1}) != module._frame_key({"flag": True})


def _logged(calls: list, step: float = 0.25, spans=(1.0, 2.0)) -> module.Explorer:
    """An explorer of a slider ``a`` and a menu ``span`` whose every draw is logged in ``calls``."""
    draw = _spans()
    return module.Explorer({"a": widgets.FloatSlider(value=0.0, min=-1, max=1, step=step),
                            "span": widgets.Dropdown(options=list(spans))},
                           lambda a, span: calls.append((a, span)) or draw(a, span))


@pytest.fixture
def in_kernel(monkeypatch):
    """As in a notebook's kernel, with painting ahead starting as soon as the event loop turns."""
    monkeypatch.setattr(module, "_in_kernel", lambda: True)
    monkeypatch.setattr(module.Explorer, "AHEAD_AFTER", 0.0)
    return monkeypatch


def _in_a_kernel(monkeypatch, build, moves):
    """Build an explorer and make `moves` as a notebook would, each followed by the kernel's idle time
    (a running event loop that turns until nothing is left to do); returns the explorer."""
    monkeypatch.setattr(module, "_in_kernel", lambda: True)

    monkeypatch.setattr(module.Explorer, "AHEAD_AFTER", 0.0)

    async def session():
        explorer = build()
        for values in moves:
            explorer.set(**values)
            for _ in range(4 * module.Explorer.AHEAD):
                await asyncio.sleep(0)
        return explorer

    return asyncio.run(session())


def test_after_a_move_the_next_ones_come_from_memory_and_equal_a_full_draw(monkeypatch):
    calls = []

    def build():
        return _logged(calls, spans=(1.0, 2.0, 3.0))

    explorer = _in_a_kernel(monkeypatch, build, [{"a": 0.25}])
    # after the move's own draw: the same way again, then the menu's next option, (back to a = 0.0 was
    # shown before, so it is kept already), then the menu's previous option: likeliest first
    assert calls[calls.index((0.25, 1.0)):] == [(0.25, 1.0), (0.5, 1.0), (0.25, 2.0), (0.25, 3.0)]
    assert explorer.painted_ahead == 3
    for values in ({"a": 0.5}, {"span": 2.0}):
        explorer = _in_a_kernel(monkeypatch, build, [{"a": 0.25}])  # each move from a = 0.25
        before = len(calls)
        explorer.set(**values)
        assert explorer.timings.get("from_memory") and len(calls) == before, f"{values} was drawn again"
        assert_same_as_full_draw(explorer.figure, explorer.image.value, f"the frame painted ahead for {values}")


def test_a_new_move_stops_painting_ahead_for_the_old_values(in_kernel):
    calls = []

    async def session():
        explorer = _logged(calls)
        explorer.set(a=0.25)
        await asyncio.sleep(0)  # one frame ahead painted
        explorer.set(a=-0.75)  # then a jump: the round for a = 0.25 stops
        for _ in range(20):
            await asyncio.sleep(0)
        return explorer

    explorer = asyncio.run(session())
    ahead_of_old = [c for c in calls[calls.index((-0.75, 1.0)):] if c[0] in (0.0, 0.5)]
    assert ahead_of_old == [], f"painted ahead for values no longer shown: {ahead_of_old}"
    assert (-1.0, 1.0) in calls and (-0.5, 1.0) in calls  # the new round painted around a = -0.75
    assert explorer.values()["a"] == -0.75


def test_outside_a_kernel_nothing_is_painted_ahead():
    calls = []
    explorer = _logged(calls)
    explorer.set(a=0.25)
    assert calls == [(0.0, 1.0), (0.25, 1.0)] and explorer.painted_ahead == 0


@pytest.mark.parametrize("name", ["01-gd-step-size", "03-momentum-ravine"])
def test_a_lesson_explorer_shows_the_next_key_press_from_memory(monkeypatch, name):
    """The explorers that draw in the kernel: after a slider's step, the next step (and back) is painted."""
    explorer = _in_a_kernel(monkeypatch, registry()[name], [])
    slider_name, slider = next((n, c) for n, c in explorer.controls.items()
                               if isinstance(c, (widgets.FloatSlider, widgets.FloatLogSlider)))
    (one_step,) = module._one_move_away(slider, 1)
    explorer = _in_a_kernel(monkeypatch, lambda: explorer, [{slider_name: one_step}])
    (next_step,) = module._one_move_away(slider, 1)
    explorer = _in_a_kernel(monkeypatch, lambda: explorer, [{slider_name: next_step}])
    assert explorer.timings.get("from_memory"), f"{name}: the next step of {slider_name} was drawn again"
    assert_same_as_full_draw(explorer.figure, explorer.image.value, f"{name}, {slider_name} = {next_step}")


def test_inputs_that_come_quickly_never_wait_behind_a_frame_painted_ahead(monkeypatch):
    """A key held down: every input comes before AHEAD_AFTER has passed (here: never passes), so nothing
    is painted ahead, and only the round for the last input waits."""
    monkeypatch.setattr(module, "_in_kernel", lambda: True)
    monkeypatch.setattr(module.Explorer, "AHEAD_AFTER", 3600.0)

    async def session():
        explorer = _logged([], step=0.125)
        handles = []
        for k in range(1, 6):
            explorer.set(a=k / 8)
            handles.append(explorer._ahead_handle)
            for _ in range(10):
                await asyncio.sleep(0)
        return explorer, handles

    explorer, handles = asyncio.run(session())
    assert explorer.painted_ahead == 0
    assert [h.cancelled() for h in handles] == [True, True, True, True, False]


def test_once_code_asks_for_the_figure_nothing_is_painted_over_it_until_a_control_moves(in_kernel):
    """JupyterLab runs widget messages in a kernel subshell, beside the cells: a cell that reads
    explorer.figure must find it drawn for the values shown, and keep it so while it uses it."""
    calls = []

    async def session():
        explorer = _logged(calls)
        explorer.set(a=0.25)
        while explorer.painted_ahead == 0:  # the round starts: one frame painted ahead, more to come
            await asyncio.sleep(0)
        assert explorer.painted_ahead < module.Explorer.AHEAD
        figure = explorer.figure  # a cell asks for the figure
        held_at = len(calls)
        for _ in range(20):
            await asyncio.sleep(0)
        return explorer, figure, held_at

    explorer, figure, held_at = asyncio.run(session())
    assert len(calls) == held_at, f"painted ahead over a figure code holds: {calls[held_at:]}"
    assert calls[-1] == (0.25, 1.0)  # drawn again for the values shown when the cell asked
    assert_same_as_full_draw(figure, explorer.image.value, "the figure a cell holds, against the frame shown")


def test_a_frame_ahead_that_fails_to_paint_leaves_the_figure_drawn_for_the_values_shown(in_kernel):
    """Painting ahead draws the figure for other values, then paints it. If the paint fails, the round
    stops quietly and a cell that asks for the figure gets it drawn for the values shown, not for the
    values of the frame that failed. (Seen in the browser test: CPython raised SystemError in
    ``tuple(generator)`` in the subshell's thread while a cell walked ``gc.get_objects()`` in the main
    one, python/cpython#107137.)"""
    calls, reported = [], []

    def failing_paint(figure):
        raise SystemError("bad argument to internal function")

    async def session():
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
        explorer = _logged(calls)
        explorer.set(a=0.25)  # drawn, painted and shown; the round ahead starts at the loop's next turn
        paint, explorer.renderer.paint = explorer.renderer.paint, failing_paint
        for _ in range(20):
            await asyncio.sleep(0)
        explorer.renderer.paint = paint
        return explorer

    explorer = asyncio.run(session())
    assert reported == [], f"the event loop was handed the failure: {reported}"
    assert calls[-1] != (0.25, 1.0) and explorer.painted_ahead == 0  # it drew other values, then failed
    assert isinstance(explorer.ahead_error, SystemError)
    figure = explorer.figure
    assert calls[-1] == (0.25, 1.0), "the figure a cell asks for was not drawn again for the values shown"
    assert_same_as_full_draw(figure, explorer.image.value, "the figure after a frame ahead failed to paint")
