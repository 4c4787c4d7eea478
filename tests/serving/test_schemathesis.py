"""A bounded schemathesis run against the real service over HTTP on 127.0.0.1: every operation of
the OpenAPI document, its examples, the coverage cases and seeded generated requests (a fixed
count per operation), with an admin token so the write endpoints are reached too. No answer may
be a 5xx or differ from what the document declares (status, content type, headers, body)."""

import json
import subprocess
import sys

import pytest

from benchmarks.service_process import running_service

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]


@pytest.mark.timeout(420)
def test_generated_requests_find_no_server_error_and_no_contract_fault(trained_home, tmp_path):
    env = {
        "CAPCAST_TOKENS": json.dumps([{"name": "fuzz", "role": "admin", "token": "fuzz-admin"}]),
        "CAPCAST_DATABASE_URL": f"sqlite:///{tmp_path / 'capcast.db'}",  # the shared home's stock stays as it is
        "CAPCAST_WORKERS": "1",
        "CAPCAST_MODEL_POLL_S": "0",
        # Solves bounded well below the request timeout: thousands of requests reach /recommend and /plans.
        "CAPCAST_PLAN_TIME_LIMIT_S": "0.3",
        "CAPCAST_MAX_RECOMMEND_TIME_LIMIT_S": "0.5",
    }
    with (tmp_path / "serve.log").open("w") as log, running_service(trained_home, env=env, log=log) as base:
        command = [
            *(sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json"),
            *("--checks", ",".join(CHECKS), "--phases", "examples,coverage,fuzzing"),
            *("--max-examples", "3", "--seed", "1", "--workers", "1", "--request-timeout", "20", "--no-color"),
            *("--header", "Authorization: Bearer fuzz-admin"),
        ]
        run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=360)
    assert run.returncode == 0, run.stdout[-6000:]
    assert " passed" in run.stdout and "generated" in run.stdout
