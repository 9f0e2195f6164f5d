"""Sliced polling recovers a reply whose wake-up was lost, and keeps timeouts exact."""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import pytest

from optilab import kernel_polling


class LosesWakeUps:
    """A channel whose poll, like a missed asyncio wake-up, sees only messages there when it starts."""

    def __init__(self, arrives_after: float | None):
        self.arrival = None if arrives_after is None else time.monotonic() + arrives_after

    async def get_msg(self, timeout=None):
        if self.arrival is not None and time.monotonic() >= self.arrival:
            return {"msg_type": "execute_reply"}
        await asyncio.sleep(timeout if timeout is not None else 3600)
        raise Empty


def _timed(coroutine):
    start = time.monotonic()
    try:
        return asyncio.run(coroutine), time.monotonic() - start
    except Empty:
        return Empty, time.monotonic() - start


def test_without_slices_a_lost_wake_up_costs_the_whole_timeout():
    channel = LosesWakeUps(arrives_after=0.2)
    result, seconds = _timed(channel.get_msg(timeout=1.5))
    assert result is Empty and seconds >= 1.5


def test_slices_deliver_the_reply_a_slice_after_it_arrives():
    channel = LosesWakeUps(arrives_after=0.2)
    result, seconds = _timed(kernel_polling.sliced(LosesWakeUps.get_msg)(channel, timeout=5.0))
    assert result == {"msg_type": "execute_reply"}
    assert 0.2 <= seconds < 0.2 + 3 * kernel_polling.SLICE


def test_slices_keep_the_timeout_when_nothing_arrives():
    channel = LosesWakeUps(arrives_after=None)
    result, seconds = _timed(kernel_polling.sliced(LosesWakeUps.get_msg)(channel, timeout=0.5))
    assert result is Empty and 0.5 <= seconds < 0.5 + 2 * kernel_polling.SLICE


def test_no_timeout_waits_until_the_message_comes():
    channel = LosesWakeUps(arrives_after=0.3)
    result, seconds = _timed(kernel_polling.sliced(LosesWakeUps.get_msg)(channel, timeout=None))
    assert result == {"msg_type": "execute_reply"} and seconds < 0.3 + 3 * kernel_polling.SLICE


def test_install_patches_jupyter_clients_async_channel_once():
    from jupyter_client.channels import AsyncZMQSocketChannel

    kernel_polling.install()
    patched = AsyncZMQSocketChannel.get_msg
    kernel_polling.install()
    assert AsyncZMQSocketChannel.get_msg is patched and patched.sliced
