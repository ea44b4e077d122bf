"""Findings are bounded: the first issues of each kind are kept, the rest counted."""

from __future__ import annotations

import json

from nodeconf.model.document import parse_document
from nodeconf.model.findings import MAX_ISSUES, MAX_ISSUES_PER_KIND, MAX_VALUE_CHARS, IssueCap
from nodeconf.model.merge import check_document, evaluate_document

N = 1_000


def doc(tree: object) -> str:
    return json.dumps(tree)


def test_many_overrides_with_the_same_warning_keep_the_first_and_count_the_rest() -> None:
    """1,000 overrides with an unknown key: 10 warnings of each kind, then how many more."""
    document = parse_document(doc({"globalConfig": {}, "nodesConfig": [{"x": 0}] * N}))
    unknown = [w for w in document.warnings if w.message.startswith("unknown field")]
    assert [w.path for w in unknown] == [f"nodesConfig[{i}].x" for i in range(MAX_ISSUES_PER_KIND)]
    closing = [w for w in document.warnings if "not listed" in w.message]
    assert {(w.path, w.value) for w in closing} == {
        (f"nodesConfig[{MAX_ISSUES_PER_KIND}].x", N - MAX_ISSUES_PER_KIND),
        (f"nodesConfig[{MAX_ISSUES_PER_KIND}].selector", N - MAX_ISSUES_PER_KIND),
    }
    assert len(document.warnings) == 2 * MAX_ISSUES_PER_KIND + 2


def test_the_cap_never_changes_the_verdict_or_the_config() -> None:
    """Errors beyond the cap still make the document invalid; the last override still applies."""
    overrides: list[object] = [{"cpuQosConfig": {"enable": 1}}] * N
    overrides.append({"selector": {"matchLabels": {"a": "b"}}, "cpuBurstConfig": {"enable": True}})
    document = parse_document(doc({"globalConfig": {}, "nodesConfig": overrides}))
    evaluation = evaluate_document(document, {"a": "b"})
    assert not evaluation.valid
    assert len(document.errors) == MAX_ISSUES_PER_KIND + 1
    assert document.errors[-1].value == N - MAX_ISSUES_PER_KIND
    assert evaluation.config.value("cpuBurstConfig", "enable") is True  # type: ignore[attr-defined]


def test_check_document_caps_rule_violations_of_every_override() -> None:
    """A rule broken by each of 1,000 overrides is reported 10 times, then counted."""
    bad = {"evictingConfig": {"evictingCPULowWatermark": 99}}
    document = parse_document(
        doc({"globalConfig": {}, "nodesConfig": [{"selector": {}, **bad}] * N})
    )
    issues = check_document(document)
    assert len(issues) == MAX_ISSUES_PER_KIND + 1
    assert issues[-1].value == N - MAX_ISSUES_PER_KIND
    assert "not listed" in issues[-1].message


def test_many_kinds_are_bounded_in_all() -> None:
    """Whatever the number of distinct problems, at most MAX_ISSUES are kept, plus one each."""
    cap = IssueCap("warning")
    for i in range(10_000):
        cap.add(f"p{i}", i, f"problem {i}")
    issues = cap.issues()
    assert len(cap) == 10_000
    assert len(issues) <= MAX_ISSUES + 33
    kept = [i for i in issues if "not listed" not in i.message]
    counted = sum(int(str(i.value)) for i in issues if "not listed" in i.message)
    assert len(kept) + counted == 10_000


def test_large_values_are_shown_as_a_short_stand_in() -> None:
    """A long string is cut; a wide or deep object is described, not kept."""
    wide = {f"k{i}": i for i in range(50_000)}
    deep: object = 0
    for _ in range(100):
        deep = [deep]
    document = parse_document(
        doc({"globalConfig": {"s": "a" * 100_000, "w": wide, "d": deep, "small": {"a": [1]}}})
    )
    values = {w.path: w.value for w in document.warnings}
    assert values["globalConfig.s"] == "a" * MAX_VALUE_CHARS + "…"
    assert values["globalConfig.w"] == "<object of 50000 keys, not shown>"
    assert values["globalConfig.d"] == "<array of 1 items, not shown>"
    assert values["globalConfig.small"] == {"a": [1]}
