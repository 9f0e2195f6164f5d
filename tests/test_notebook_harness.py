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
