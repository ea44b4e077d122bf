"""Rollout assessment: what every node should have, against what its agent published.

``assess`` takes what three LISTs returned (the ConfigMap's document, the Nodes, the agent
Pods) and computes, for every node, the effective config it should have (the same pure
model as the agents, ``schema.evaluate``, cached per distinct set of the labels that matter,
``schema.label_keys(document)``) and compares its
hash (``podstatus.config_hash``) with the ``nodeconf.io/ConfigApplied`` condition of the
agent pod on that node (``spec.nodeName``). States:

* ``up-to-date``: the agent published ``Applied`` with the expected hash;
* ``rejected``: the document is invalid for this node (the validation message), or the agent
  published ``ListenerRejected`` (or ``InvalidDocument``) for this document version or for
  the expected hash;
* ``failing``: the agent published ``ListenerFailing`` for the expected hash;
* ``pending``: the agent has not yet published this document's result (another hash, or
  ``Pending``);
* ``no-agent``: no agent pod on the node;
* ``unknown``: an agent pod without the condition (or with a message not in the stable form).

Pure: no I/O, no threads, no clock. Thread-safety: stateless functions, immutable results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from nodeconf.errors import DocumentError
from nodeconf.sources.kubernetes.podstatus import CONDITION_TYPE, config_hash, parse_message

__all__ = ["STATES", "NodeRollout", "RolloutReport", "assess"]

STATES: Final = ("up-to-date", "pending", "rejected", "failing", "no-agent", "unknown")


@dataclass(frozen=True, slots=True)
class NodeRollout:
    """One node's state. ``revision`` is the agent's published revision (``None``: none).

    Thread-safety: immutable."""

    node: str
    state: str
    pod: str = ""
    revision: int | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "state": self.state,
            "pod": self.pod or None,
            "revision": self.revision,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class RolloutReport:
    """Every node, sorted by name. Thread-safety: immutable."""

    nodes: tuple[NodeRollout, ...]

    def counts(self) -> dict[str, int]:
        """Nodes per state (every state present) and ``total``."""
        counts = dict.fromkeys(STATES, 0)
        for node in self.nodes:
            counts[node.state] += 1
        counts["total"] = len(self.nodes)
        return counts

    @property
    def settled(self) -> bool:
        """Every node with an agent is up to date or rejected."""
        return all(n.state in ("up-to-date", "rejected", "no-agent") for n in self.nodes)

    @property
    def exit_code(self) -> int:
        """0: every node with an agent up to date; 1: any rejected or failing; 3: otherwise
        (nodes still pending or unknown)."""
        states = {n.state for n in self.nodes}
        if states & {"rejected", "failing"}:
            return 1
        if states <= {"up-to-date", "no-agent"}:
            return 0
        return 3

    def summary_line(self) -> str:
        """``4/5 nodes up to date, 1 rejected``."""
        counts = self.counts()
        line = f"{counts['up-to-date']}/{counts['total']} nodes up to date"
        rest = [f"{counts[s]} {s}" for s in STATES[1:] if counts[s]]
        return ", ".join([line, *rest])

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.counts(), "nodes": [n.to_json() for n in self.nodes]}


def assess(
    schema: Any,
    document_text: str | bytes | None,
    document_version: str,
    nodes: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
) -> RolloutReport:
    """The rollout state of every node (see the module docstring)."""
    parse_error = ""
    document = None
    if document_text is not None:
        try:
            document = schema.parse(document_text)
        except DocumentError as exc:
            parse_error = str(exc)
    # The labels that can change a node's config (``schema.label_keys``): the cache key, so
    # nodes differing only in a hostname label share one evaluation.
    keys = schema.label_keys(document) if not parse_error else frozenset()
    by_node: dict[str, Mapping[str, Any]] = {}
    for pod in sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name", ""))):
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        if node_name and node_name not in by_node:
            by_node[node_name] = pod
    expected: dict[frozenset[tuple[str, str]], tuple[str, str]] = {}  # labels -> (hash, error)
    out: list[NodeRollout] = []
    for node in nodes:
        meta = node.get("metadata") or {}
        name = str(meta.get("name", ""))
        labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        key = frozenset((k, v) for k, v in labels.items() if k in keys)
        if key not in expected:
            expected[key] = _expect(schema, document, parse_error, labels)
        digest, error = expected[key]
        out.append(_node_state(name, by_node.get(name), digest, error, document_version))
    out.sort(key=lambda n: n.node)
    return RolloutReport(tuple(out))


def _expect(
    schema: Any, document: Any, parse_error: str, labels: Mapping[str, str]
) -> tuple[str, str]:
    if parse_error:
        return "", parse_error
    evaluation = schema.evaluate(document, labels)
    if not evaluation.valid:
        return "", "; ".join(str(issue) for issue in evaluation.errors)
    return config_hash(schema, evaluation.config), ""


def _node_state(
    name: str, pod: Mapping[str, Any] | None, digest: str, error: str, version: str
) -> NodeRollout:
    if pod is None:
        return NodeRollout(name, "no-agent", message=error)
    pod_name = str((pod.get("metadata") or {}).get("name", ""))
    condition = next(
        (
            c
            for c in (pod.get("status") or {}).get("conditions") or ()
            if c.get("type") == CONDITION_TYPE
        ),
        None,
    )
    fields = parse_message(str(condition.get("message", ""))) if condition else None
    revision = int(fields["revision"]) if fields else None
    text = fields["reason"] if fields else ""
    if error:
        return NodeRollout(name, "rejected", pod_name, revision, error)
    if condition is None or fields is None:
        return NodeRollout(name, "unknown", pod_name, None, "the agent has not published")
    reason = str(condition.get("reason", ""))
    same = fields["sha256"] == digest
    this_document = bool(version) and fields["resourceVersion"] == version
    if same and reason == "Applied":
        return NodeRollout(name, "up-to-date", pod_name, revision, text)
    if reason == "ListenerRejected" and same:
        return NodeRollout(name, "rejected", pod_name, revision, text)
    if reason == "ListenerFailing" and same:
        return NodeRollout(name, "failing", pod_name, revision, text)
    if reason == "InvalidDocument" and this_document:
        return NodeRollout(name, "rejected", pod_name, revision, text)
    return NodeRollout(name, "pending", pod_name, revision, text)
