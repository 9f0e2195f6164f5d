"""The tests' notebook runs survive a lost wake-up (jupyter/nbclient#312; see tests/support/notebooks.py)."""

from __future__ import annotations

import asyncio
from queue import Empty

import pytest

from tests.support.notebooks import CONFIG, SlicedKernelClient, SlicedPolls


class LosesWakeUps:
    """A kernel channel whose reply arrives while a poll waits, and whose wake-up for it is lost.

    A poll that was already waiting when the reply came ends empty (after its whole timeout, in the
    real channel); the next poll finds the reply.
    """

    def __init__(self, polls_before_the_reply: int):
        self.polls_before_the_reply = polls_before_the_reply
        self.polls = 0

    async def get_msg(self, timeout: float | None = None):
        self.polls += 1
        if self.polls > self.polls_before_the_reply:
            return {"msg_type": "execute_reply"}
        raise Empty


class SlicedLosesWakeUps(SlicedPolls, LosesWakeUps):
    pass


def test_one_long_poll_loses_the_reply_for_the_whole_time_limit():
    channel = LosesWakeUps(polls_before_the_reply=1)
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=60))  # nbclient then waits out the cell's time limit


def test_polls_in_slices_find_the_reply_at_the_next_slice():
    channel = SlicedLosesWakeUps(polls_before_the_reply=1)
    assert asyncio.run(channel.get_msg(timeout=60)) == {"msg_type": "execute_reply"}
    assert channel.polls == 2


def test_polls_in_slices_still_give_up_at_the_deadline():
    channel = SlicedLosesWakeUps(polls_before_the_reply=10**9)
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=0.2))
    assert channel.polls > 1


def test_the_notebook_runs_of_the_tests_get_the_sliced_client_through_jupyter_clients_config():
    from jupyter_client import AsyncKernelManager

    manager = AsyncKernelManager(kernel_name="python3", config=CONFIG)
    assert isinstance(manager.client(), SlicedKernelClient)


def test_a_run_keeping_figures_shows_the_notebooks_own_cells_as_a_plain_run_would(tmp_path):
    """test_lessons.py checks a lesson from the run that keeps its figures (tests/support/lesson_runs.py):
    that run's notebook is the lesson's cells, with what they printed, showed and raised, and not the
    cells the harness adds before and after them. (A figure is made as the library makes them, with
    matplotlib's Figure.)"""
    import nbformat

    from tests.support.figures import execute_keeping_figures

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        "import sys\nfrom matplotlib.figure import Figure\nprint('a warning', file=sys.stderr)",
        "fig = Figure()\nax = fig.subplots()\nax.plot([0, 1], [1, 0], label='line')\nax.set_title('t')\nfig",
        "x = 2", "1 / 0")]
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, path)
    report = execute_keeping_figures(path, {"x": "x"})
    own = report.run.notebook.cells
    assert [c.id for c in own] == [c.id for c in nb.cells]
    assert report.run.stderr() == ["a warning\n"]
    assert [c.id for c in own if any("image/png" in o.get("data", {}) for o in c.outputs)] == [nb.cells[1].id]
    assert report.run.errors == ["ZeroDivisionError: division by zero"]
    assert report.values == {"x": 2} and len(report.figures) == 1


def test_the_notebook_runs_of_the_tests_talk_to_their_kernels_over_unix_sockets(tmp_path):
    """Two test workers start kernels at once: a TCP port that one manager chose and let go could be
    taken by the other's kernel before its own kernel bound it (jupyter/jupyter_client#487)."""
    import nbformat

    from tests.support.notebooks import run_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from ipykernel import get_connection_info\nprint(get_connection_info(unpack=True)['transport'])")]
    run = run_notebook(nb, tmp_path / "transport.ipynb")
    assert run.notebook.cells[0].outputs[0]["text"] == "ipc\n"
