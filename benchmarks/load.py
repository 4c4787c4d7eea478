"""A bounded HTTP load: a fixed number of requests at a fixed concurrency, over keep-alive
connections to 127.0.0.1, timing each request from send to the last byte of its answer."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
import numpy as np

__all__ = ["LoadResult", "run_load"]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    concurrency: int
    seconds: float
    latencies_ms: np.ndarray
    statuses: Counter
    versions: Counter

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q))


async def _load(
    url: str, bodies: Sequence[bytes], requests: int, concurrency: int, timeout_s: float, version_header: str
) -> LoadResult:
    latencies = np.empty(requests)
    statuses: Counter = Counter()
    versions: Counter = Counter()
    turns = itertools.count()
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:

        async def caller() -> None:
            while (turn := next(turns)) < requests:
                started = time.perf_counter()
                try:
                    async with session.post(url, data=bodies[turn % len(bodies)], headers=headers) as response:
                        await response.read()
                        statuses[response.status] += 1
                        versions[response.headers.get(version_header)] += 1
                except (aiohttp.ClientError, TimeoutError) as error:
                    statuses[type(error).__name__] += 1
                latencies[turn] = (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return LoadResult(requests, concurrency, seconds, latencies, statuses, versions)


def run_load(
    url: str,
    bodies: Sequence[bytes],
    requests: int,
    concurrency: int,
    timeout_s: float = 60.0,
    version_header: str = "X-Capcast-Model",
) -> LoadResult:
    """POST ``bodies`` (in turn) to ``url``: ``requests`` in all, ``concurrency`` at a time."""
    return asyncio.run(_load(url, bodies, requests, concurrency, timeout_s, version_header))
