import logging

import pytest

from deepclean.services.trainer.notify import notify

from .http_helpers import Recorder, closed_port_url


def test_posts_json_payload():
    with Recorder([200]) as server:
        assert notify(server.url, {"weights": "/x/weights.pt", "start": 1}, sleep=lambda s: None)
    assert server.bodies == [{"weights": "/x/weights.pt", "start": 1}]


def test_retries_with_exponential_backoff_until_accepted():
    delays = []
    with Recorder([503, 500, 200]) as server:
        assert notify(server.url, {"a": 1}, retries=4, backoff=0.5, sleep=delays.append)
    assert delays == [0.5, 1.0] and len(server.bodies) == 3


@pytest.mark.parametrize(
    "statuses, posts",
    [([404], 1), ([503], 3)],
    ids=["client-error-no-retry", "server-error-gives-up"],
)
def test_gives_up(statuses, posts, caplog):
    with Recorder(statuses) as server, caplog.at_level(logging.ERROR):
        assert not notify(server.url, {}, retries=2, backoff=0.01, sleep=lambda s: None)
    assert len(server.bodies) == posts
    assert "exporter" in caplog.text


def test_unreachable_exporter_is_logged_not_raised(caplog):
    delays = []
    with caplog.at_level(logging.WARNING):
        assert not notify(
            closed_port_url(), {}, retries=2, backoff=0.1, timeout=1.0, sleep=delays.append
        )
    assert delays == [0.1, 0.2]
    assert "unreachable after 3 attempt(s)" in caplog.text
