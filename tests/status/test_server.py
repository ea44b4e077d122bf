"""The status server: /healthz, /readyz, /metrics, /status over real HTTP."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from nodeconf.manager import ConfigManager
from nodeconf.status.address import parse_address
from nodeconf.status.metrics import MetricsSink
from nodeconf.status.server import StatusServer
from nodeconf.testing import RecordingListener, StaticSource

VALID = {"globalConfig": {"cpuQosConfig": {"enable": True}}}


def get(server: StatusServer, path: str, method: str = "GET") -> tuple[int, str, str]:
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        conn.close()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def manager(registry) -> Iterator[ConfigManager]:
    sink = MetricsSink(registry)
    manager = ConfigManager(StaticSource(VALID), [RecordingListener()], sink=sink)
    sink.bind(manager)
    yield manager
    manager.stop(10)


@pytest.fixture
def server(manager, registry) -> Iterator[StatusServer]:
    server = StatusServer(("127.0.0.1", 0), manager, registry)
    server.start()
    yield server
    server.stop()


def test_port_zero_binds_a_free_port(server) -> None:
    """Port 0 picks a free port; ``address`` tells which."""
    host, port = server.address
    assert host == "127.0.0.1"
    assert port > 0


def test_readyz_is_503_until_a_valid_config_is_applied(manager, server) -> None:
    """Before start nothing is applied: not ready; after start: ready."""
    assert get(server, "/readyz")[0] == 503
    manager.start(10)
    assert get(server, "/readyz")[:1] == (200,)


def test_healthz_is_200_while_running_and_503_after_stop(manager, server) -> None:
    """A running manager is healthy; a stopped one is not, and the body says why."""
    manager.start(10)
    assert get(server, "/healthz")[0] == 200
    manager.stop(10)
    status, _, body = get(server, "/healthz")
    assert status == 503
    assert "manager is stopped" in body


def test_healthz_includes_extra_checks(manager, registry) -> None:
    """A problem reported by an extra check (the source's) makes /healthz fail with it."""
    manager.start(10)
    server = StatusServer(
        ("127.0.0.1", 0),
        manager,
        registry,
        checks=[lambda: ["configmap watch silent for 95 s"]],
    )
    with server:
        status, _, body = get(server, "/healthz")
    assert status == 503
    assert body == "configmap watch silent for 95 s\n"


def test_metrics_serves_prometheus_text(manager, server) -> None:
    """/metrics is the Prometheus text format with nodeconf_ metrics."""
    manager.start(10)
    status, content_type, body = get(server, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    assert 'nodeconf_configs_applied_total{listener="RecordingListener"} 1.0' in body
    assert "nodeconf_current_revision 1.0" in body


def test_status_serves_the_manager_status_as_json(manager, server) -> None:
    """/status is manager.status().to_json()."""
    manager.start(10)
    status, content_type, body = get(server, "/status")
    assert (status, content_type) == (200, "application/json")
    data = json.loads(body)
    assert data["revision"] == 1
    assert data["lifecycle"] == "running"
    assert data["listeners"][0]["applied_revision"] == 1


def test_status_carries_what_the_source_says_about_itself(manager, registry) -> None:
    """With source_status, /status gains a "source" member, asked afresh on every request."""
    manager.start(10)
    said = iter([{"kind": "test", "n": 1}, {"kind": "test", "n": 2}])
    server = StatusServer(("127.0.0.1", 0), manager, registry, source_status=lambda: next(said))
    with server:
        first = json.loads(get(server, "/status")[2])
        second = json.loads(get(server, "/status")[2])
    assert first["source"] == {"kind": "test", "n": 1}
    assert second["source"] == {"kind": "test", "n": 2}
    assert first["revision"] == 1


def test_unknown_path_is_404(server) -> None:
    """Only the four pages exist."""
    assert get(server, "/nope")[0] == 404


def test_head_returns_no_body(manager, server) -> None:
    """HEAD answers like GET without the body."""
    status, _, body = get(server, "/healthz", method="HEAD")
    assert (status, body) == (503, "")


def test_post_is_refused(server) -> None:
    """The server is read-only."""
    assert get(server, "/status", method="POST")[0] == 501


def test_stop_joins_every_thread_and_is_idempotent(manager, registry) -> None:
    """After stop no server thread is left, and a second stop does nothing."""
    before = set(threading.enumerate())
    server = StatusServer(("127.0.0.1", 0), manager, registry)
    server.start()
    get(server, "/readyz")
    server.stop()
    server.stop()
    assert set(threading.enumerate()) <= before


def test_address_in_use_fails_at_start(server, manager, registry) -> None:
    """Binding an address that is taken raises OSError from start(), on the caller's thread."""
    other = StatusServer(server.address, manager, registry)
    with pytest.raises(OSError, match="in use"):
        other.start()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9808", ("127.0.0.1", 9808)),
        (":9808", ("", 9808)),
        ("[::1]:9808", ("::1", 9808)),
        ("0", None),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_parse_address(text, expected) -> None:
    """HOST:PORT, :PORT and [IPv6]:PORT are accepted; 0 disables."""
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["9808", "host:", "host:port", "host:70000", ""])
def test_parse_address_refuses_garbage(text) -> None:
    """Anything else is a ValueError with a one-line reason."""
    with pytest.raises(ValueError, match="status address"):
        parse_address(text)
