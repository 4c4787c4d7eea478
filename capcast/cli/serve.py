"""``capcast serve``: the BentoML service on the configured address, after checking it can start."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

import capcast
from capcast.cli.edge import fail, load_inventory_config_or_fail, load_site_or_fail
from capcast.settings import Settings


@contextmanager
def _registry_answers_quickly() -> Iterator[None]:
    """No minutes of retries before saying a registry server is down (MLflow's default), unless the
    environment asks for them."""
    quick = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}
    added = {name: value for name, value in quick.items() if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            del os.environ[name]


def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (default CAPCAST_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default CAPCAST_PORT or 3000)")] = None,
) -> None:
    """Start the BentoML service serving the @champion model."""
    from serving.auth import load_or_create_token
    from serving.model_store import ModelNotFound, RegistryUnreachable, ServedModel

    settings = Settings()
    try:  # fail here, in one line, rather than inside the server
        with _registry_answers_quickly():
            version = ServedModel.lookup(settings.tracking_uri, settings.model_name, settings.model_alias)
    except (ModelNotFound, RegistryUnreachable) as error:
        fail(str(error))
    site_path = settings.site_path.resolve()
    if site_path.exists():
        load_site_or_fail(site_path)
    if settings.inventory_path.exists():
        load_inventory_config_or_fail(settings.inventory_path)
    host, port = host or settings.host, port or settings.port
    base = f"http://{host}:{port}"
    typer.echo(f"serving {settings.model_name} version {version.version} (@{settings.model_alias}) on {base}")
    typer.echo(f"  planner page: {base}/ui/")
    typer.echo(f"  GET  {base}/readyz    GET {base}/model    GET {base}/docs")
    typer.echo(f"  POST {base}/forecast  POST {base}/recommend  POST {base}/plans")
    if settings.planner_token is None:
        try:  # made here rather than by the server, so that its place can be said before it starts
            load_or_create_token(settings.planner_token_file)
        except OSError as error:
            fail(f"{settings.planner_token_file}: cannot write the planner token: {error.strerror or error}")
        typer.echo(f"  writes (plan jobs, approvals) need the planner token in {settings.planner_token_file}")
    # The folder holding the capcast packages: the server imports serving.service from there.
    packages = Path(capcast.__file__).resolve().parent.parent
    # The server runs from that folder: pass every path absolute.
    env = {**os.environ, "CAPCAST_HOME": str(settings.home.resolve()), "CAPCAST_SITE": str(site_path)}
    command = [sys.executable, "-m", "bentoml", "serve", "serving.service:Capcast", "--host", host, "--port", str(port)]
    sys.stdout.flush()
    os.execvpe(command[0], [*command, "--working-dir", str(packages)], env)
