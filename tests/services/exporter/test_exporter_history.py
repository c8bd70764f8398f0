"""The production history a rollback follows: repaired against the disk, pushed and popped."""

import pytest

from deepclean.services.exporter.history import (
    MAX_HISTORY,
    PRODUCTION_HISTORY,
    current_history,
    promoted,
    rollback_target,
)


@pytest.mark.parametrize(
    ("recorded", "production", "disk", "expected"),
    [
        (None, 1, [1], [1]),  # a repository from before the history: production alone
        ([1, 2, 4], 4, [1, 2, 3, 4], [1, 2, 4]),
        ([1, 2, 4], 2, [1, 2, 3, 4], [1, 2]),  # recorded, then the switch failed: repaired
        ([1, 2, 4], 5, [1, 2, 4, 5], [1, 2, 4, 5]),  # production never recorded: appended
        ([1, 2, 4], 4, [2, 4], [2, 4]),  # 1 removed by retention
        ([2, 2, 4], 4, [2, 4], [2, 4]),
        ([1, "x", 4], 4, [1, 4], [1, 4]),  # junk in the config parameter is ignored
    ],
)
def test_current_history(recorded, production, disk, expected) -> None:
    params = {} if recorded is None else {PRODUCTION_HISTORY: recorded}
    assert current_history(params, production, disk) == expected


def test_promote_then_roll_back_twice() -> None:
    history = [1]
    for version in (3, 5, 8):
        history = promoted(history, version)
    assert promoted(history, 8) == history == [1, 3, 5, 8]
    assert rollback_target(history) == 5
    assert rollback_target(history[:-1]) == 3
    assert rollback_target([8]) is None
    long = [1]
    for version in range(2, 100):
        long = promoted(long, version)
    assert len(long) == MAX_HISTORY and long[-1] == 99
