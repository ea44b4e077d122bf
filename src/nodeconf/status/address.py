"""Parsing ``--status-addr``: ``HOST:PORT``, ``[IPV6]:PORT``, ``:PORT``, or ``0`` (disabled).

Kept apart from the server so that checking flags imports neither ``http.server`` nor
``prometheus_client``.

Thread-safety: a pure function.
"""

from __future__ import annotations

__all__ = ["parse_address"]


def parse_address(text: str) -> tuple[str, int] | None:
    """``"host:port"`` -> ``(host, port)``; ``"0"`` -> ``None`` (disabled).

    ``":9808"`` binds every interface; ``"[::1]:9808"`` is an IPv6 address. Raises
    ``ValueError`` with a one-line reason on anything else.
    """
    text = text.strip()
    if text == "0":
        return None
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"status address must be HOST:PORT or 0, got {text!r}")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"status address port must be 0..65535, got {port}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port
