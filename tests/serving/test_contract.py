"""The OpenAPI document planning systems generate their clients from: valid, one named operation per
route, an example for every request body that the service itself accepts, every error answer
declared in the one error format with a code from ``ErrorCode``, and local times that strict
clients can read."""

import ast
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from serving import schemas
from serving.errors import ErrorCode

ROOT = Path(__file__).resolve().parents[2]
_FASTAPI_DEFAULT_ID = re.compile(r"_(get|post|put|patch|delete)$")
# Where each error-raising call takes its code.
_CODE_ARGUMENT = {"ApiError": 1, "_send_error": 2}


@pytest.fixture(scope="module")
def document(service_client) -> dict:
    return service_client.get("/openapi.json").json()


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_the_document_is_valid_openapi(document):
    validate(document)


def test_every_operation_has_its_own_name(document):
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids))
    assert not [i for i in ids if _FASTAPI_DEFAULT_ID.search(i)], "FastAPI's generated ids leak into clients"
    assert {"forecast", "get_model", "list_series", "reload_model", "recommend"} <= set(ids)


def test_every_request_body_has_examples_the_service_accepts(document):
    components = document["components"]["schemas"]
    for path, method, operation in _operations(document):
        if "requestBody" not in operation:
            continue
        reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        name = reference.rsplit("/", 1)[1]
        examples = components[name].get("examples")
        assert examples, f"{method.upper()} {path}: {name} has no example"
        for example in examples:
            getattr(schemas, name).model_validate(example)


def test_errors_are_declared_in_the_one_error_format(document):
    forecast = document["paths"]["/forecast"]["post"]["responses"]
    assert {"404", "413", "422", "503"} <= set(forecast)
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, method, status)
    codes = document["components"]["schemas"]["ErrorCode"]["enum"]
    assert {"unknown_series", "horizon_too_long", "missing_future_value", "too_many_series"} <= set(codes)
    assert {"payload_too_large", "overloaded", "unauthorized", "invalid_history"} <= set(codes)


def test_every_error_code_the_service_raises_is_declared():
    """Codes are literals at each ``ApiError(status, "code", ...)``: each one must be in ``ErrorCode``."""
    raised = set()
    for source in (ROOT / "serving").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and (name := getattr(node.func, "id", None)) in _CODE_ARGUMENT:
                position = _CODE_ARGUMENT[name]
                raised.update(a.value for a in node.args[position : position + 1] if isinstance(a, ast.Constant))
    assert raised, "no ApiError found: the scan is broken"
    assert raised <= {code.value for code in ErrorCode}, raised - {code.value for code in ErrorCode}


def test_local_times_are_not_declared_as_offset_date_times(document):
    """A ``date-time`` must carry a UTC offset: forecast periods are local time and carry none."""
    components = document["components"]["schemas"]
    assert "format" not in components["ModelInfo"]["properties"]["last_period"]
    for variant in components["ForecastPoint"]["properties"]["ds"]["anyOf"]:
        assert variant.get("format") != "date-time"


def test_a_method_a_path_does_not_have_is_405_with_allow(service_client):
    response = service_client.get("/forecast")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_series_are_listed_a_page_at_a_time(service_client, sample_panel):
    ids = sorted(sample_panel["unique_id"].unique())
    first = service_client.get("/series", params={"limit": 5}).json()
    assert first["total"] == len(ids) and first["next_offset"] == 5
    assert [s["unique_id"] for s in first["series"]] == ids[:5]
    assert {"family"} <= set(first["series"][0]["attributes"])
    last = service_client.get("/series", params={"limit": 5, "offset": 10}).json()
    assert [s["unique_id"] for s in last["series"]] == ids[10:] and last["next_offset"] is None
    prefix = ids[0][:3]
    matching = service_client.get("/series", params={"prefix": prefix}).json()
    assert matching["total"] == sum(i.startswith(prefix) for i in ids)
    assert service_client.get("/series", params={"limit": 0}).status_code == 422
