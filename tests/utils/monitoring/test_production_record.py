"""The monitor's record of production's ratios: one version at a time, bounded, round-trips."""

import json

import pytest

from deepclean.utils.monitoring.production_record import (
    KEPT_CHECKS,
    ProductionRecord,
    RatioCheck,
    record_path,
)


def test_a_new_version_starts_a_new_record(tmp_path):
    record = ProductionRecord()
    record.add(100, 3, 0.2)
    record.add(164, 3, 0.25)
    record.add(228, 4, 0.1)
    assert (record.production, record.count, record.checks) == (4, 1, [RatioCheck(228, 0.1)])
    assert record_path(tmp_path) == tmp_path / "monitor" / "production_ratios.json"


def test_keeps_the_first_and_the_latest_checks():
    record = ProductionRecord()
    total = 2 * KEPT_CHECKS + 10
    for i in range(total):
        record.add(i, 7, float(i))
    assert record.count == total and len(record.checks) == 2 * KEPT_CHECKS
    assert [c.gps for c in record.checks] == list(range(KEPT_CHECKS)) + list(
        range(total - KEPT_CHECKS, total)
    )


def test_round_trip_and_a_clear_error_on_bad_input():
    record = ProductionRecord()
    record.add(100, 3, 0.2)
    text = json.dumps(record.to_json())
    assert json.loads(text) == {"production": 3, "count": 1, "checks": [{"gps": 100, "ratio": 0.2}]}
    assert ProductionRecord.from_json(json.loads(text)) == record
    with pytest.raises(ValueError, match=r"not a production record \(KeyError: 'checks'\)"):
        ProductionRecord.from_json({"production": 3, "count": 1})
    with pytest.raises(ValueError, match="counts 0 check"):
        ProductionRecord.from_json(
            {"production": 3, "count": 0, "checks": [{"gps": 1, "ratio": 1}]}
        )
