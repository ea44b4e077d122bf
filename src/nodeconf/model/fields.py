"""The one declarative table of the colocation format: sections, fields, defaults, rules.

Everything else in the model is driven by ``SECTIONS``: the parser (names and JSON types),
the defaults, the merge (one flat position per field), validation (each section's rules, in
Volcano's check order), serialisation (key order) and the JSON Schema.

Order is part of the contract:

* sections appear in Volcano's Go struct order, which is also the validation order
  (nodeLabel, cpuQos, cpuBurst, memoryQos, memoryQosV2, networkQos, overSubscription,
  evicting, cpuThrottling);
* fields appear in their Go struct order (every rendered config uses it; so does the default
  document, except that it lists sections in ``DEFAULT_DOCUMENT_ORDER``, the order of the text
  Volcano writes);
* a section's ``rules`` are listed in the order Volcano checks them, which is not always the
  field order (networkQos checks ``qosCheckInterval`` first).

An effective config is a flat tuple with one slot per field, in table order (``Field.index``);
``None`` in a slot means "not set".

Thread-safety: the table is built once at import and never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from nodeconf.model.rules import (
    AtLeast,
    CommaSeparatedChoice,
    NotAbove,
    Positive,
    Rule,
    Within,
)

__all__ = [
    "DEFAULT_DOCUMENT_ORDER",
    "DEFAULT_VALUES",
    "FIELDS",
    "FIELD_COUNT",
    "INT64_MAX",
    "INT64_MIN",
    "SECTIONS",
    "SECTION_BY_KEY",
    "SECTION_KEYS",
    "Field",
    "FieldType",
    "Section",
    "field_index",
]

#: The JSON types a field can have. ``bool`` is never accepted where ``int`` is expected.
FieldType = type[bool] | type[int] | type[str]

#: Go's ``int`` on the 64-bit platforms the agent runs on.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Field:
    """One field: its section, JSON name, type, default (``None``: unset) and description.

    ``index`` is its slot in an effective config's flat value tuple.

    Thread-safety: immutable.
    """

    section: str
    name: str
    type: FieldType
    default: bool | int | str | None
    description: str
    index: int = -1


@dataclass(frozen=True, slots=True)
class Section:
    """One section: its key, fields (Go struct order), rules (check order) and feature gate.

    ``feature`` names the feature gate its ``enable`` switches (empty when none);
    ``feature_error`` is the error message when that ``enable`` is missing.

    Thread-safety: immutable.
    """

    key: str
    description: str
    fields: tuple[Field, ...]
    rules: tuple[Rule, ...] = ()
    feature: str = ""
    feature_error: str = ""

    def field(self, name: str) -> Field:
        """The field called ``name``; ``KeyError`` if this section has none."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.key} has no field {name!r}")


def _f(name: str, type_: FieldType, default: bool | int | str | None, description: str) -> Field:
    return Field(section="", name=name, type=type_, default=default, description=description)


def _enable(default: bool, what: str) -> Field:
    return _f("enable", bool, default, f"Enable {what}.")


_POSITIVE = "{} must be a positive number"
_PERCENT_1000 = "{} must be a positive number between 1 and 1000"

_TABLE: tuple[Section, ...] = (
    Section(
        "nodeLabelConfig",
        "Decided by the node's labels (volcano.sh/colocation, volcano.sh/oversubscription), "
        "whatever the document says.",
        (
            _f("nodeColocationEnable", bool, True, "Colocation is enabled on the node."),
            _f("nodeOverSubscriptionEnable", bool, False, "Oversubscription is enabled."),
        ),
    ),
    Section(
        "cpuQosConfig",
        "CPU QoS.",
        (_enable(False, "CPU QoS"),),
        feature="CPUQoS",
        feature_error="nil cpu qos config",
    ),
    Section(
        "cpuBurstConfig",
        "CPU burst.",
        (_enable(False, "CPU burst"),),
        feature="CPUBurst",
        feature_error="nil cpu burst config",
    ),
    Section(
        "memoryQosConfig",
        "Memory QoS.",
        (_enable(False, "memory QoS"),),
        feature="MemoryQoS",
        feature_error="nil memory qos config",
    ),
    Section(
        "memoryQosV2Config",
        "Memory QoS, second version.",
        (_enable(False, "memory QoS v2"),),
        feature="MemoryQoSV2",
        feature_error="nil memory qos v2 config",
    ),
    Section(
        "networkQosConfig",
        "Network QoS.",
        (
            _enable(False, "network QoS"),
            _f(
                "onlineBandwidthWatermarkPercent",
                int,
                80,
                "Online bandwidth threshold, percent (1..1000).",
            ),
            _f(
                "offlineLowBandwidthPercent",
                int,
                10,
                "Offline low bandwidth threshold, percent (1..1000, at most the high one).",
            ),
            _f(
                "offlineHighBandwidthPercent",
                int,
                40,
                "Offline high bandwidth threshold, percent (1..1000).",
            ),
            _f("qosCheckInterval", int, 10_000_000, "Network QoS check interval (positive)."),
        ),
        rules=(
            Positive("qosCheckInterval", _POSITIVE.format("qosCheckInterval")),
            Within(
                "onlineBandwidthWatermarkPercent",
                1,
                1000,
                _PERCENT_1000.format("onlineBandwidthWatermarkPercent"),
            ),
            Within(
                "offlineHighBandwidthPercent",
                1,
                1000,
                _PERCENT_1000.format("offlineHighBandwidthPercent"),
            ),
            Within(
                "offlineLowBandwidthPercent",
                1,
                1000,
                _PERCENT_1000.format("offlineLowBandwidthPercent"),
            ),
            NotAbove(
                low="offlineLowBandwidthPercent",
                high="offlineHighBandwidthPercent",
                message="offlineHighBandwidthPercent cannot be less than "
                "offlineLowBandwidthPercent",
                subject="high",
            ),
        ),
        feature="NetworkQoS",
        # Volcano's gate says "memory" here (pkg/agent/features/feature_gate.go); kept as is:
        # the path (networkQosConfig.enable) says which section is meant.
        feature_error="nil memory qos config",
    ),
    Section(
        "overSubscriptionConfig",
        "Oversubscription.",
        (
            _enable(True, "oversubscription"),
            _f(
                "overSubscriptionTypes",
                str,
                "cpu,memory",
                "Comma-separated resource types to oversubscribe: cpu, memory.",
            ),
        ),
        rules=(
            CommaSeparatedChoice(
                "overSubscriptionTypes",
                ("cpu", "memory"),
                "overSubscriptionType({part}) is not supported, only supports cpu/memory",
            ),
        ),
        feature="OverSubscription",
        feature_error="nil overSubscription config",
    ),
    Section(
        "evictingConfig",
        "Eviction watermarks, percent of usage.",
        (
            _f("evictingCPUHighWatermark", int, 80, "Evict offline pods above this CPU usage."),
            _f(
                "evictingMemoryHighWatermark",
                int,
                60,
                "Evict offline pods above this memory usage.",
            ),
            _f("evictingCPULowWatermark", int, 30, "Schedule again below this CPU usage."),
            _f("evictingMemoryLowWatermark", int, 30, "Schedule again below this memory usage."),
        ),
        rules=(
            Positive("evictingCPUHighWatermark", _POSITIVE.format("evictingCPUHighWatermark")),
            Positive(
                "evictingMemoryHighWatermark", _POSITIVE.format("evictingMemoryHighWatermark")
            ),
            Positive("evictingCPULowWatermark", _POSITIVE.format("evictingCPULowWatermark")),
            Positive("evictingMemoryLowWatermark", _POSITIVE.format("evictingMemoryLowWatermark")),
            NotAbove(
                low="evictingCPULowWatermark",
                high="evictingCPUHighWatermark",
                message="cpu evicting low watermark is higher than high watermark",
            ),
            NotAbove(
                low="evictingMemoryLowWatermark",
                high="evictingMemoryHighWatermark",
                message="memory evicting low watermark is higher than high watermark",
            ),
        ),
    ),
    Section(
        "cpuThrottlingConfig",
        "CPU throttling of offline pods.",
        (
            _enable(False, "CPU throttling"),
            _f("cpuThrottlingThreshold", int, None, "Throttling threshold, percent (1..100)."),
            _f("cpuJitterLimitPercent", int, None, "Jitter limit, percent (not negative)."),
            _f("cpuRecoverLimitPercent", int, None, "Recover limit, percent (positive)."),
        ),
        rules=(
            Within(
                "cpuThrottlingThreshold",
                1,
                100,
                "cpuThrottlingThreshold must be a positive number between 1 and 100",
            ),
            AtLeast(
                "cpuJitterLimitPercent",
                0,
                "cpuJitterLimitPercent must be a non-negative number between 1 and 100",
            ),
            Positive("cpuRecoverLimitPercent", _POSITIVE.format("cpuRecoverLimitPercent")),
        ),
        feature="CPUThrottle",
        feature_error="nil cpu throttling config",
    ),
)


def _number(table: tuple[Section, ...]) -> tuple[Section, ...]:
    out: list[Section] = []
    i = 0
    for sec in table:
        fields = []
        for f in sec.fields:
            fields.append(
                Field(
                    section=sec.key,
                    name=f.name,
                    type=f.type,
                    default=f.default,
                    description=f.description,
                    index=i,
                )
            )
            i += 1
        out.append(
            Section(
                key=sec.key,
                description=sec.description,
                fields=tuple(fields),
                rules=sec.rules,
                feature=sec.feature,
                feature_error=sec.feature_error,
            )
        )
    return tuple(out)


#: Every section, in canonical (Go struct and validation) order.
SECTIONS: Final[tuple[Section, ...]] = _number(_TABLE)
SECTION_KEYS: Final[tuple[str, ...]] = tuple(s.key for s in SECTIONS)
SECTION_BY_KEY: Final = MappingProxyType({s.key: s for s in SECTIONS})
#: Every field, in slot order (``FIELDS[i].index == i``).
FIELDS: Final[tuple[Field, ...]] = tuple(f for s in SECTIONS for f in s.fields)
FIELD_COUNT: Final = len(FIELDS)
#: The defaults as a flat value tuple (spec section 2).
DEFAULT_VALUES: Final[tuple[bool | int | str | None, ...]] = tuple(f.default for f in FIELDS)

#: Section order of the default document. Volcano creates the ConfigMap from a JSON text
#: (``DefaultCfg`` in ``pkg/agent/config/utils/utils.go``, re-indented by ``json.Indent``), not
#: by marshalling its struct, and that text lists ``cpuBurstConfig`` before ``cpuQosConfig``;
#: everything else (and the field order inside each section) is the struct order.
DEFAULT_DOCUMENT_ORDER: Final[tuple[str, ...]] = (
    "nodeLabelConfig",
    "cpuBurstConfig",
    "cpuQosConfig",
    "memoryQosConfig",
    "memoryQosV2Config",
    "networkQosConfig",
    "overSubscriptionConfig",
    "evictingConfig",
    "cpuThrottlingConfig",
)
assert sorted(DEFAULT_DOCUMENT_ORDER) == sorted(SECTION_KEYS), "a section is missing"


def field_index(section: str, name: str) -> int:
    """Slot of ``section.name`` in a flat value tuple; ``KeyError`` if there is no such field."""
    return SECTION_BY_KEY[section].field(name).index
