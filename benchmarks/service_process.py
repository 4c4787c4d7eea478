"""Run `capcast serve` as a child process on a free 127.0.0.1 port until /readyz answers.

Used by the pipeline benchmark and the HTTP tests: one way to start, wait for
and stop a real service process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

__all__ = ["ServiceDidNotStart", "running_service"]


class ServiceDidNotStart(RuntimeError):
    """The service exited, or did not answer /readyz, before the deadline."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_service(
    home: Path,
    ready_timeout_s: float = 90.0,
    log: IO | None = None,
    command: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Serve the champion of ``home`` (a CAPCAST_HOME); yields the base URL once /readyz is 200.

    Args:
        command: how to start the service (default ``python -m capcast serve``); it listens
            where ``CAPCAST_HOST`` and ``CAPCAST_PORT`` say, set here to 127.0.0.1 and a free port.
        env: further variables for the service (``CAPCAST_PLANNER_TOKEN``, ``CAPCAST_DATABASE_URL``...).

    The ``CAPCAST_*`` variables of this process are not passed on, so the service sees only
    ``home`` and ``env``. The process group is stopped on exit.
    """
    port = _free_port()
    variables = {k: v for k, v in os.environ.items() if not k.startswith("CAPCAST_")} | dict(env or {})
    variables |= {"CAPCAST_HOME": str(home), "CAPCAST_HOST": "127.0.0.1", "CAPCAST_PORT": str(port)}
    output = log if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        list(command or [sys.executable, "-m", "capcast", "serve"]),
        env=variables,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_timeout_s
    try:
        while True:
            if process.poll() is not None:
                raise ServiceDidNotStart(f"capcast serve exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ServiceDidNotStart(f"capcast serve did not answer /readyz within {ready_timeout_s:g} s")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
