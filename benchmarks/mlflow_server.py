"""Run a real ``mlflow server`` as a child process on a free 127.0.0.1 port until /health answers.

Used by the tracking-server tests (with a throwaway PostgreSQL from ``benchmarks.postgres_process``
as its backend store): one way to start, wait for and stop a tracking server whose artifacts go to
a folder of the caller's.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

__all__ = ["MlflowServerDidNotStart", "mlflow_server"]

# The mlflow command of this interpreter's environment (the virtualenv's, beside python).
MLFLOW = Path(sys.executable).with_name("mlflow")


class MlflowServerDidNotStart(RuntimeError):
    """The server exited, or did not answer /health, before the deadline (the message ends with its log)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(log: Path, lines: int = 30) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@contextmanager
def mlflow_server(
    backend_uri: str, artifacts: Path | None = None, ready_timeout_s: float = 60.0, workers: int = 1
) -> Iterator[str]:
    """A tracking server (runs and the model registry) on ``backend_uri`` (a SQLAlchemy URL such as
    ``postgresql+psycopg://postgres@127.0.0.1:5432/store_0``) that serves artifacts itself, stored
    under ``artifacts`` (a temp folder, deleted on exit, when None); yields its URL
    (``http://127.0.0.1:<port>``) once ``/health`` answers 200. The server creates its tables at
    start. Its process group is stopped on exit."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="capcast-mlflow-") as tmp:
        folder = Path(tmp)
        destination = artifacts or folder / "artifacts"
        log_path = folder / "server.log"
        command = [
            str(MLFLOW),
            "server",
            "--backend-store-uri",
            backend_uri,
            "--artifacts-destination",
            str(destination),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        # No job runner: MLflow 3 otherwise starts eight more processes (GenAI evaluation queues, huey
        # stores left in /dev/shm) that runs and the registry never use.
        variables = os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=folder, env=variables
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + ready_timeout_s
        try:
            while True:
                if process.poll() is not None:
                    raise MlflowServerDidNotStart(
                        f"mlflow server exited with {process.returncode}; its log:\n{_tail(log_path)}"
                    )
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise MlflowServerDidNotStart(
                        f"mlflow server did not answer /health within {ready_timeout_s:g} s; its log:\n"
                        f"{_tail(log_path)}"
                    )
                time.sleep(0.2)
            yield url
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (``mlflow server`` and its uvicorn), SIGKILL to what is
    left after 15 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # uvicorn outliving its parent, or a parent that hung
    process.wait(timeout=15)
