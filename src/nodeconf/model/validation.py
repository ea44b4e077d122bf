"""Validation of a merged config, and blaming each error on the path its value came from.

Rules come from the field table (``nodeconf.model.fields``) and run in Volcano's order:
section by section (nodeLabel, cpuQos, cpuBurst, memoryQos, memoryQosV2, networkQos,
overSubscription, evicting, cpuThrottling), each section's rules in its check order. Only set
fields are checked; every error is reported, none stops the others.

**Where an error points.** Every ``Issue`` carries the path of the layer that set the value:
``nodesConfig[i].<section>.<field>`` (the matching override), ``globalConfig.<section>.<field>``,
or ``defaults.<section>.<field>`` (the built-in default). A cross-field rule (low above high)
involves two values; it blames the one set by the most specific layer (override, then global,
then defaults), because that is the value the operator most likely just wrote; when both come
from the same layer it blames the rule's subject: the low watermark for
``cpu/memory evicting low watermark is higher than high watermark``, the high percentage for
``offlineHighBandwidthPercent cannot be less than offlineLowBandwidthPercent``. The ``Issue``'s
value is the blamed field's value.

**Identical issues are reported once.** ``overSubscriptionTypes: "gpu,gpu"`` breaks the rule
twice with the same message for the same field; Volcano's aggregated error
(``utilerrors.NewAggregate(...).Error()``) prints a repeated message once, and so the issue
list holds it once (then ``volcano_aggregate`` prints exactly Volcano's text).

Thread-safety: pure functions over immutable data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from nodeconf.errors import Issue
from nodeconf.model.fields import FIELDS, SECTIONS, field_index
from nodeconf.model.labels import COLOCATION_LABEL, OVERSUBSCRIPTION_LABEL
from nodeconf.model.rules import Checker, Violation

__all__ = ["DEFAULTS_PATH", "Provenance", "blame", "validate_values"]

#: Path prefix of a value that nobody set (the built-in default).
DEFAULTS_PATH: Final = "defaults"
GLOBAL_PATH: Final = "globalConfig"

_COLOCATION_SLOT: Final = field_index("nodeLabelConfig", "nodeColocationEnable")
_OVERSUBSCRIPTION_SLOT: Final = field_index("nodeLabelConfig", "nodeOverSubscriptionEnable")


def _compile() -> tuple[Checker, ...]:
    checkers: list[Checker] = []
    for section in SECTIONS:
        index = {f.name: f.index for f in section.fields}
        checkers.extend(rule.compile(index) for rule in section.rules)
    return tuple(checkers)


_CHECKERS: Final = _compile()


def validate_values(values: Sequence[object]) -> list[Violation]:
    """Every rule broken by the flat ``values``, in Volcano's order."""
    out: list[Violation] = []
    for check in _CHECKERS:
        found = check(values)
        if found:
            out.extend(found)
    return out


@dataclass(frozen=True, slots=True)
class Provenance:
    """Which layers made a merged config: tells, for each field slot, where its value came from.

    ``global_values`` / ``override_values`` are the set fields of ``globalConfig`` and of the
    overlaid override (``override_path`` is its ``nodesConfig[i]``); ``labels_applied`` says
    whether node labels decided ``nodeLabelConfig``.

    Thread-safety: immutable.
    """

    global_values: Mapping[int, object] | None = None
    override_values: Mapping[int, object] | None = None
    override_path: str = ""
    labels_applied: bool = False

    def rank(self, slot: int) -> int:
        """3 node labels, 2 override, 1 global, 0 defaults."""
        if self.labels_applied and slot in (_COLOCATION_SLOT, _OVERSUBSCRIPTION_SLOT):
            return 3
        if self.override_values is not None and slot in self.override_values:
            return 2
        if self.global_values is not None and slot in self.global_values:
            return 1
        return 0

    def path(self, slot: int) -> str:
        """The path of the value in ``slot``, e.g. ``nodesConfig[3].evictingConfig.x``."""
        f = FIELDS[slot]
        rank = self.rank(slot)
        if rank == 3:
            label = OVERSUBSCRIPTION_LABEL if slot == _OVERSUBSCRIPTION_SLOT else COLOCATION_LABEL
            return f'nodeLabels["{label}"]'
        prefix = (DEFAULTS_PATH, GLOBAL_PATH, self.override_path)[rank]
        return f"{prefix}.{f.section}.{f.name}"


def blame(
    violations: Sequence[Violation], values: Sequence[object], provenance: Provenance
) -> tuple[Issue, ...]:
    """Turn violations into ``Issue``s that point at the path their value came from."""
    issues: list[Issue] = []
    for v in violations:
        slot = v.candidates[0]
        best = provenance.rank(slot)
        for other in v.candidates[1:]:
            r = provenance.rank(other)
            if r > best:
                slot, best = other, r
        issue = Issue(provenance.path(slot), values[slot], v.message)
        if issue not in issues:  # "gpu,gpu": one problem, said once (as Volcano's aggregate)
            issues.append(issue)
    return tuple(issues)
