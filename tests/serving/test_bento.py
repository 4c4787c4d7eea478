"""The Bento (``bentoml build``, bentofile.yaml) packages the whole service: its code, the page, the
migrations, and exactly the project's dependencies."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_bento_carries_the_service_and_the_projects_dependencies(tmp_path):
    packages = yaml.safe_load((ROOT / "bentofile.yaml").read_text())["python"]["packages"]
    assert packages == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = {**os.environ, "BENTOML_HOME": str(tmp_path), "BENTOML_DO_NOT_TRACK": "true"}
    build = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "--output", "tag"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    [bento] = list((tmp_path / "bentos" / "capcast").glob("*/src"))
    parts = ("serving/service.py", "serving/ui/index.html", "training/pyfunc_model.py", "capcast/migrations/env.py")
    for part in parts:
        assert (bento / part).is_file(), part
    assert not list(bento.rglob("test_*.py")) and not (bento / "benchmarks").exists()
