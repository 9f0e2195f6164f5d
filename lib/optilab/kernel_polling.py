"""Headless notebook runs that do not stall: poll the kernel's replies in short slices.

nbclient (which nbgrader and the tests use to run notebooks) waits for a cell's reply with one
long poll on the kernel's ZMQ socket. When many messages arrive at once (an ipywidgets explorer
sends dozens) on a busy machine, the asyncio wake-up for the reply can be lost: the reply sits
in the socket until the poll times out, so the cell takes exactly its whole time limit and then
succeeds (nbclient issue #312, "when cell contains ipywidget, execute cell will sometimes
blocks", open). Measured here under load: 4 of 7 runs of a lesson's explorer cell took the full
limit; with the slices below, none of 10.

:func:`install` makes every poll of jupyter_client's async channels wait at most
:data:`SLICE` seconds at a time until its own deadline, so a lost wake-up costs a tenth of a
second. Timeouts keep their meaning: with no message, ``get_msg`` still raises ``Empty`` at the
deadline it was given.
"""

from __future__ import annotations

import functools
from queue import Empty
from time import monotonic
from typing import Any, Awaitable, Callable

__all__ = ["SLICE", "sliced", "install"]

#: The longest single wait, in seconds.
SLICE = 0.1


def sliced(get_msg: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap an async ``get_msg(self, timeout=None)`` so that it polls in slices of :data:`SLICE` seconds."""

    @functools.wraps(get_msg)
    async def get_msg_in_slices(self: Any, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            wait = SLICE if deadline is None else max(0.0, min(SLICE, deadline - monotonic()))
            try:
                return await get_msg(self, timeout=wait)
            except Empty:
                if deadline is not None and monotonic() >= deadline:
                    raise

    get_msg_in_slices.sliced = True
    return get_msg_in_slices


def install() -> None:
    """Poll every async kernel channel in this process in slices (idempotent)."""
    from jupyter_client.channels import AsyncZMQSocketChannel

    if not getattr(AsyncZMQSocketChannel.get_msg, "sliced", False):
        AsyncZMQSocketChannel.get_msg = sliced(AsyncZMQSocketChannel.get_msg)
