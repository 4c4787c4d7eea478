"""The retraining loop through the command line: exit codes a scheduler reads, failed runs, reproduction,
and one line (never a traceback) for every data, store or model error."""

import json

import pandas as pd
import pytest
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from capcast.cli import app
from training import train as train_module
from training.tracking import TrackingConfig
from training.train import TrainConfig, train

FAST = ["--horizon", "7", "--n-estimators", "20", "--threads", "1", "--origins", "2"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPCAST_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CAPCAST_MLFLOW_TRACKING_URI", raising=False)
    return tmp_path / "home"


@pytest.fixture
def data(tmp_path, sample_dir):
    """The sample as two deliveries: the older one without the last two weeks, then the whole."""
    sales = pd.read_csv(sample_dir / "sales.csv")
    older, newer = tmp_path / "older", tmp_path / "newer"
    for folder in (older, newer):
        folder.mkdir()
    sales[sales["ds"] <= sorted(sales["ds"].unique())[-15]].to_csv(older / "sales.csv", index=False)
    sales.to_csv(newer / "sales.csv", index=False)
    return older, newer


def _run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr, result.output + result.stderr
    return result


def _error_lines(result) -> list[str]:
    """stderr without MLflow's notes on creating a new store (logged once MLflow is imported in-process)."""
    return [line for line in result.stderr.splitlines() if "INFO mlflow" not in line]


def _runs(home):
    client = MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("capcast")
    return [] if experiment is None else client.search_runs([experiment.experiment_id])


def test_retrain_exit_codes(home, data, tmp_path):
    older, newer = data
    first = _run("retrain", "--data", older, *FAST)
    assert first.exit_code == 0 and "first @champion" in first.stdout
    fresher = _run("retrain", "--data", newer, *FAST, "--json-log")
    assert fresher.exit_code == 0, fresher.output
    events = [json.loads(line) for line in fresher.stdout.splitlines()]
    assert [e["stage"] for e in events if e["event"] == "stage_finished"] == [
        "backtest",
        "fit",
        "log",
        "register",
        "promote",
    ]
    assert events[-1]["event"] == "result" and events[-1]["outcome"] == "promoted"
    assert events[-1]["decision"]["rule"] == "refresh"
    kept = _run("retrain", "--data", newer, *FAST)
    assert kept.exit_code == 3 and "not promoted; the champion stays" in kept.stdout
    # A panel that fails validation stops the job before any run exists.
    bad = tmp_path / "bad"
    bad.mkdir()
    pd.read_csv(newer / "sales.csv").assign(y=-1.0).to_csv(bad / "sales.csv", index=False)
    runs_before = len(_runs(home))
    failed = _run("retrain", "--data", bad, *FAST)
    assert failed.exit_code == 1 and "column y" in failed.stderr and len(_runs(home)) == runs_before
    listed = _run("models", "list", "--json")
    document = json.loads(listed.stdout)
    assert [v["aliases"] for v in document["versions"]] == ["", "@champion", ""]
    assert [e["version"] for e in document["champion_history"]] == ["1", "2"]


def test_an_unknown_version_or_an_empty_store_is_one_line(home):
    assert _error_lines(_run("promote")) == ["promote: model 'demand' has no versions: train one first"]
    listed = _run("models", "list")
    assert listed.exit_code == 1 and _error_lines(listed) == ["model 'demand' has no versions yet: run `capcast train`"]
    reproduced = _run("train", "--reproduce", "no-such-run")
    assert reproduced.exit_code == 1 and len(_error_lines(reproduced)) == 1


def test_a_run_failing_half_way_is_failed_and_registers_nothing(tmp_path, sample_panel, monkeypatch):
    tracking = TrackingConfig.embedded(tmp_path / "home")
    config = TrainConfig(horizon=7, n_estimators=20, num_threads=1)

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    with monkeypatch.context() as patched, pytest.raises(OSError):
        patched.setattr(train_module, "_log_plots", disk_full)
        train(sample_panel, tracking, config, origins=2)
    # Failing after the version exists (its scores cannot be written) deletes the version.
    with monkeypatch.context() as patched, pytest.raises(OSError):
        patched.setattr(train_module, "record_evaluation", disk_full)
        train(sample_panel, tracking, config, origins=2)
    client = MlflowClient(tracking.tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name("capcast").experiment_id])
    assert [r.info.status for r in runs] == [RunStatus.to_string(RunStatus.FAILED)] * 2
    assert all(r.data.tags["error"] == "OSError: No space left on device" for r in runs)
    assert client.search_model_versions("name = 'demand'") == []


def test_a_run_reproduces_or_says_what_differs(home, data, monkeypatch):
    _, newer = data
    trained = _run("train", "--data", newer, *FAST)
    run_id = trained.stdout.split("(run ")[1].split(")")[0]
    same = _run("train", "--reproduce", run_id)
    assert same.exit_code == 0 and f"run {run_id} reproduced:" in same.stdout and "identical" in same.stdout
    with monkeypatch.context() as patched:
        patched.setattr("training.reproduce.package_versions", lambda names: dict.fromkeys(names, "0.0"))
        packages = _run("train", "--reproduce", run_id)
    assert packages.exit_code == 1 and "package versions differ from the run's: mlflow" in packages.stderr
    sales = pd.read_csv(newer / "sales.csv")
    sales.assign(y=sales["y"] + 1).to_csv(newer / "sales.csv", index=False)
    changed = _run("train", "--reproduce", run_id)
    assert changed.exit_code == 1 and "the data differs from the run's: fingerprint" in changed.stderr
