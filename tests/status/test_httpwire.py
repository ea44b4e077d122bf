"""The status server's wire format, without sockets: request heads and responses."""

from __future__ import annotations

import pytest

from nodeconf.status.httpwire import MAX_HEAD_BYTES, BadRequest, Request, parse_head, response


def test_incomplete_head_is_none() -> None:
    """Until the blank line arrives there is no request yet."""
    assert parse_head(b"GET /healthz HTTP/1.1\r\nHost: x\r\n") is None


def test_request_and_its_length() -> None:
    """A complete head gives the method, the path without its query, and the head's length."""
    head = b"GET /status?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    assert parse_head(head + b"GET") == (Request("GET", "/status", keep_alive=True), len(head))


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [
        ("HTTP/1.1", "", True),
        ("HTTP/1.1", "Connection: close\r\n", False),
        ("HTTP/1.0", "", False),
        ("HTTP/1.0", "Connection: Keep-Alive\r\n", True),
    ],
)
def test_keep_alive_follows_version_and_connection_header(version, connection, keep_alive) -> None:
    """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told not to."""
    head = f"GET / {version}\r\n{connection}\r\n".encode()
    parsed = parse_head(head)
    assert parsed is not None
    assert parsed[0].keep_alive is keep_alive


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /\r\n\r\n", 400),
        (b"GET / SPDY/3\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_BYTES, 431),
    ],
)
def test_bad_heads_are_refused_with_a_status(head, status) -> None:
    """A malformed head, a body, or a head over the limit is answered with a 4xx."""
    with pytest.raises(BadRequest) as caught:
        parse_head(head)
    assert caught.value.status == status


def test_response_names_nodeconf_only_and_gives_the_length() -> None:
    """The Server header carries no Python version; Content-Length is the body's length."""
    data = response(
        200, "text/plain", b"ok\n", keep_alive=True, date="Thu, 01 Jan 2026 00:00:00 GMT"
    )
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nServer: nodeconf\r\n" in head
    assert b"Python" not in head
    assert b"\r\nContent-Length: 3\r\n" in head
    assert b"\r\nConnection: keep-alive" in head
    assert body == b"ok\n"


def test_head_response_has_no_body() -> None:
    """A HEAD answer keeps the length of the body it leaves out."""
    data = response(200, "text/plain", b"ok\n", head=True)
    assert data.endswith(
        b"Content-Length: 3\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
