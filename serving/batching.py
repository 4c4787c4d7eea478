"""Adaptive micro-batching: requests that arrive while the model is busy share its next call.

A model call costs about the same for one series as for a hundred (its cost is per call, not
per row), so concurrent requests are answered together. Nothing waits on a timer: the first
request of an idle batcher is served at once, and whatever queues up during a call forms the
next batch.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["MicroBatcher"]

_log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")
_STOP = object()


@dataclass
class _Waiting(Generic[Item]):
    item: Item
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future = field(repr=False)


class MicroBatcher(Generic[Item, Result]):
    """Runs ``call`` on batches of items in one thread of its own.

    Args:
        call: answers a batch, one result (or the exception to raise for that item) per item, in order.
        fits: whether an item may join a batch; an item that does not waits for the next batch,
            ahead of items that arrived after it.
        name: the thread's name.
    """

    def __init__(
        self,
        call: Callable[[list[Item]], Sequence[Result | Exception]],
        fits: Callable[[list[Item], Item], bool],
        name: str = "micro-batcher",
    ):
        self._call, self._fits = call, fits
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()
        self.batches = self.items = 0  # what it has done, for the benchmark and the metrics

    async def submit(self, item: Item) -> Result:
        """The item's result, once a batch holding it has run."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._queue.put(_Waiting(item, loop, done))
        return await done

    def stop(self) -> None:
        """Finish the batches queued so far, then end the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def _serve(self) -> None:
        held: deque[_Waiting] = deque()  # items that did not fit the last batch, oldest first
        stopping = False
        while not (stopping and not held):
            if not held:
                first = self._queue.get()
                if first is _STOP:
                    return
                held.append(first)
            while True:  # everything that arrived meanwhile
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is _STOP:
                    stopping = True
                else:
                    held.append(waiting)
            batch, later = [], deque()
            for waiting in held:
                if not batch or self._fits([w.item for w in batch], waiting.item):
                    batch.append(waiting)
                else:
                    later.append(waiting)
            held = later
            self._run(batch)

    def _run(self, batch: list[_Waiting]) -> None:
        try:
            results = list(self._call([w.item for w in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} items got {len(results)} results")
        except Exception as error:  # the call itself failed: every item of the batch fails with it
            _log.exception("a batch of %d items failed", len(batch))
            results = [error] * len(batch)
        self.batches += 1
        self.items += len(batch)
        for waiting, result in zip(batch, results):
            waiting.loop.call_soon_threadsafe(_settle, waiting.done, result)


def _settle(done: asyncio.Future, result) -> None:
    if done.cancelled():  # the caller went away
        return
    if isinstance(result, Exception):
        done.set_exception(result)
    else:
        done.set_result(result)
