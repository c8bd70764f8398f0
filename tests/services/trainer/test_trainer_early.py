"""The trainer retrains before its cadence when the monitor's record shows production degrading
(a short simulated stream, tiny real training runs, the record written as the monitor writes it,
the metrics over real HTTP)."""

import json
import logging

import pytest
import requests

from deepclean.services.trainer.metrics import TrainerMetrics
from deepclean.services.trainer.service import TrainerService
from deepclean.utils.files import atomic_write_text
from deepclean.utils.monitoring.production_record import ProductionRecord, record_path

from .http_helpers import closed_port_url
from .sim_helpers import GPS, simulate
from .test_trainer_service import _settings


@pytest.fixture(scope="module")
def stream_dir(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("stream") / "data", 40)


def _write_record(project_dir, checks):
    """The monitor's record of production 3 (``checks``: (GPS, ratio), oldest first)."""
    record = ProductionRecord()
    for gps, ratio in checks:
        record.add(gps, 3, ratio)
    path = record_path(project_dir)
    path.parent.mkdir(parents=True)
    atomic_write_text(path, json.dumps(record.to_json()))


def _service(stream_dir, project_dir, cadence):
    settings = _settings(
        stream_dir,
        project_dir,
        notify_url=closed_port_url(),
        notify_retries=0,
        max_runs=2,
        retrain_cadence=cadence,
        early_retrain_checks=2,
        early_retrain_tolerance=0.1,
        early_retrain_min_gap=6,
    )
    return TrainerService(settings, profile="cpu")


def _runs(project_dir):
    return sorted(p.name for p in (project_dir / "train").iterdir())


def test_a_step_in_production_s_ratio_retrains_early(stream_dir, tmp_path, caplog):
    # baseline (0.06 + 0.06) / 2, latest (0.09 + 0.09) / 2 measured after the first run
    # started (GPS + 20): +50 %, due once 6 s of data have passed since, at GPS + 26
    _write_record(tmp_path, [(GPS + 2, 0.06), (GPS + 4, 0.06), (GPS + 22, 0.09), (GPS + 24, 0.09)])
    service = _service(stream_dir, tmp_path, cadence=1000)
    with caplog.at_level(logging.WARNING, logger="deepclean.services.trainer"):
        assert service.run() == 2
    assert _runs(tmp_path) == [f"{GPS}-{GPS + 20}", f"{GPS + 6}-{GPS + 26}"]
    (line,) = [r.getMessage() for r in caplog.records if "retraining early" in r.getMessage()]
    assert line.startswith(f"retraining early at GPS {GPS + 26}: production 3's in-band ratio")
    assert "0.0900 over its latest 2 checks is +50.0% above 0.0600 over its first 2" in line
    registry = service.metrics.registry
    assert registry.get_sample_value("deepclean_trainer_early_retrains_total") == 1
    assert registry.get_sample_value("deepclean_trainer_runs_total") == 2


def test_a_flat_ratio_leaves_the_cadence_alone(stream_dir, tmp_path):
    _write_record(tmp_path, [(GPS + 2, 0.06), (GPS + 4, 0.06), (GPS + 22, 0.062), (GPS + 24, 0.06)])
    service = _service(stream_dir, tmp_path, cadence=16)
    assert service.run() == 2
    assert _runs(tmp_path) == [f"{GPS}-{GPS + 20}", f"{GPS + 16}-{GPS + 36}"]  # the cadence's
    assert service.metrics.registry.get_sample_value("deepclean_trainer_early_retrains_total") == 0


def test_metrics_are_served_over_http():
    metrics = TrainerMetrics()
    port = metrics.serve("127.0.0.1", 0)
    try:
        metrics.early_retrains.inc()
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        metrics.stop()
    assert "deepclean_trainer_early_retrains_total 1.0" in text
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
