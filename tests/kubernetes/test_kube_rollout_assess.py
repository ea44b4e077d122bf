"""The pure rollout assessment: one state per node from the document, labels and conditions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodeconf.model.colocation import COLOCATION
from nodeconf.sources.kubernetes import CONDITION_TYPE
from nodeconf.sources.kubernetes.podstatus import config_hash, format_message
from nodeconf.sources.kubernetes.rollout import assess

pytestmark = pytest.mark.kubernetes

TEXT = json.dumps({"globalConfig": {"networkQosConfig": {"qosCheckInterval": 5}}})
HASH = config_hash(COLOCATION, COLOCATION.evaluate(COLOCATION.parse(TEXT), {}).config)


def node(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"pool": "a"}}}


def pod(node_name: str, reason: str | None, digest: str = HASH, rv: str = "7") -> dict[str, Any]:
    conditions = []
    if reason is not None:
        message = format_message(2, digest, rv, "why")
        conditions.append({"type": CONDITION_TYPE, "reason": reason, "message": message})
    return {
        "metadata": {"name": f"agent-{node_name}"},
        "spec": {"nodeName": node_name},
        "status": {"conditions": conditions},
    }


@pytest.mark.parametrize(
    ("published", "state"),
    [
        (pod("n", "Applied"), "up-to-date"),
        (pod("n", "Applied", digest="0" * 64), "pending"),
        (pod("n", "Pending"), "pending"),
        (pod("n", "ListenerFailing"), "failing"),
        (pod("n", "ListenerRejected"), "rejected"),
        (pod("n", "InvalidDocument", digest="0" * 64), "rejected"),
        (pod("n", "InvalidDocument", digest="0" * 64, rv="6"), "pending"),
        (pod("n", None), "unknown"),
    ],
)
def test_published_condition_maps_to_a_state(published: dict[str, Any], state: str) -> None:
    """Each published reason and hash gives the documented state."""
    report = assess(COLOCATION, TEXT, "7", [node("n")], [published])
    assert [n.state for n in report.nodes] == [state]


def test_summary_counts_exit_codes_and_the_summary_line() -> None:
    """Counts per state and total; exit 0 / 1 / 3; the summary line names non-zero states."""
    nodes = [node("a"), node("b"), node("c")]
    report = assess(COLOCATION, TEXT, "7", nodes, [pod("a", "Applied"), pod("b", "Applied")])
    assert report.counts()["no-agent"] == 1
    assert report.counts()["total"] == 3
    assert report.exit_code == 0
    assert report.summary_line() == "2/3 nodes up to date, 1 no-agent"
    pending = assess(COLOCATION, TEXT, "7", nodes, [pod("a", "Pending")])
    assert pending.exit_code == 3
    assert not pending.settled
    rejected = assess(COLOCATION, TEXT, "7", nodes, [pod("a", "ListenerRejected")])
    assert rejected.exit_code == 1


def test_an_unparsable_document_rejects_every_node_with_an_agent() -> None:
    """A document that does not parse is rejected on every node, with the parse error."""
    report = assess(COLOCATION, "{not json", "7", [node("a")], [pod("a", "Applied")])
    assert report.nodes[0].state == "rejected"
    assert report.nodes[0].message
