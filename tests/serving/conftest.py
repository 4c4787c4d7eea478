import pytest


@pytest.fixture(scope="session")
def service_client(trained_home):
    """The real BentoML service in-process, its ASGI app built once per test session
    (a second build registers duplicate Prometheus metrics)."""
    from starlette.testclient import TestClient

    mp = pytest.MonkeyPatch()
    mp.setenv("CAPCAST_HOME", str(trained_home))
    mp.delenv("CAPCAST_MLFLOW_TRACKING_URI", raising=False)
    mp.delenv("CAPCAST_SITE", raising=False)
    from serving.service import Capcast

    with TestClient(Capcast.to_asgi()) as client:
        yield client
    mp.undo()
