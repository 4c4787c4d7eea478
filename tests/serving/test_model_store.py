"""The served model: its own code, one version, safe under concurrent requests."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from serving.model_store import ServedModel
from training.tracking import TrackingConfig


def test_served_version_runs_the_code_it_was_logged_with(trained_home):
    """In a fresh process, loading the registry version must import `models` and `features`
    from the copy shipped with the model, not from the working tree."""
    uri = TrackingConfig.embedded(trained_home).tracking_uri
    script = (
        "import json, sys\n"
        "from serving.model_store import ServedModel\n"
        f"served = ServedModel.resolve({uri!r}, 'demand', 'champion')\n"
        "print(json.dumps({name: sys.modules[name].__file__ for name in ('models.base', 'features.pipeline')}))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    files = json.loads(output.stdout.strip().splitlines()[-1])
    artifacts = (trained_home / "mlartifacts").resolve()
    for name, path in files.items():
        package, module = name.split(".")
        assert path.startswith(str(artifacts)) and path.endswith(f"/code/{package}/{module}.py"), (name, path)


def test_concurrent_forecasts_match_sequential_ones(trained_home, sample_panel):
    served = ServedModel.resolve(TrackingConfig.embedded(trained_home).tracking_uri, "demand", "champion")
    ids = sorted(sample_panel["unique_id"].unique())
    expected = {uid: served.forecast_frame([uid], 7) for uid in ids}
    everything = served.all_series_forecast(7)

    def work(i):
        if i % 4 == 0:
            return "all", served.all_series_forecast(7)
        uid = ids[i % len(ids)]
        return uid, served.forecast_frame([uid], 7)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(48)))
    for key, frame in results:
        pd.testing.assert_frame_equal(frame, everything if key == "all" else expected[key])


def test_capcast_imports_after_a_model_version_brought_its_own_packages(trained_home):
    """Loading a version puts its copy of `models` and `features` first on the path: capcast's
    package check must accept that copy, not call it a clash."""
    uri = TrackingConfig.embedded(trained_home).tracking_uri
    script = (
        "from serving.model_store import ServedModel\n"
        f"ServedModel.resolve({uri!r}, 'demand', 'champion')\n"
        "import capcast.settings\n"
        "print('ok')\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert output.returncode == 0 and output.stdout.strip().endswith("ok"), output.stderr


def test_baseline_answers_are_the_models_own_for_any_series_and_horizon(trained_home, sample_panel):
    """A baseline request is rows of the forecast computed at load: equal to asking the model."""
    served = ServedModel.resolve(TrackingConfig.embedded(trained_home).tracking_uri, "demand", "champion")
    ids = sorted(sample_panel["unique_id"].unique())
    for chosen, horizon in ((ids[:1], 1), (ids[2:5], 3), (ids, served.info.max_horizon)):
        direct = served.pyfunc.predict(pd.DataFrame({"unique_id": chosen, "horizon": horizon}))
        pd.testing.assert_frame_equal(served.forecast_frame(chosen, horizon), direct, check_exact=True)
    everything = served.all_series_forecast(4)
    assert len(everything) == 4 * len(ids) and "family" in everything.columns
