"""Feature gates (spec section 6): which node features an effective config turns on.

"Colocated" means colocation or oversubscription in ``nodeLabelConfig``.

=================================================== ===========================================
feature                                             active when
=================================================== ===========================================
CPUQoS, CPUBurst, MemoryQoS, MemoryQoSV2, NetworkQoS colocated and that section's ``enable``
OverSubscription                                    node oversubscription and
                                                    ``overSubscriptionConfig.enable``
CPUThrottle                                         node oversubscription and
                                                    ``cpuThrottlingConfig.enable``
Eviction, Resources                                 always
=================================================== ===========================================

As in Volcano's feature gate (``pkg/agent/features/feature_gate.go``), a config with no
``nodeLabelConfig`` at all is an error for every feature (``nil node label config``), and a
missing ``enable`` is an error for its feature (``nil cpu qos config``, ...), worded as Volcano
words it: that includes Volcano's ``nil memory qos config`` for a missing **network** QoS
``enable`` (the ``Issue``'s path, ``networkQosConfig.enable``, names the right section).
Configs produced by ``evaluate`` always have every ``enable`` set, so these errors only concern
configs built by hand or read with ``config_from_json``.

Thread-safety: pure functions.
"""

from __future__ import annotations

from typing import Final

from nodeconf.errors import ConfigInvalid, Issue
from nodeconf.model.config import ColocationConfig
from nodeconf.model.fields import SECTIONS, field_index

__all__ = ["FEATURES", "feature_enabled", "features"]

#: Every feature gate, in the order ``features`` lists them.
FEATURES: Final = (
    "CPUQoS",
    "CPUBurst",
    "MemoryQoS",
    "MemoryQoSV2",
    "NetworkQoS",
    "OverSubscription",
    "CPUThrottle",
    "Eviction",
    "Resources",
)
_ALWAYS: Final = frozenset({"Eviction", "Resources"})
_NEEDS_OVERSUBSCRIPTION: Final = frozenset({"OverSubscription", "CPUThrottle"})
_COLOCATION: Final = field_index("nodeLabelConfig", "nodeColocationEnable")
_OVERSUBSCRIPTION: Final = field_index("nodeLabelConfig", "nodeOverSubscriptionEnable")
#: feature -> (slot of its section's ``enable``, path, error message)
_ENABLE: Final = {
    s.feature: (s.field("enable").index, f"{s.key}.enable", s.feature_error)
    for s in SECTIONS
    if s.feature
}


def _issue(config: ColocationConfig, feature: str) -> Issue | None:
    values = config.values
    if values[_COLOCATION] is None and values[_OVERSUBSCRIPTION] is None:
        return Issue("nodeLabelConfig", None, "nil node label config")
    if feature in _ALWAYS:
        return None
    slot, path, message = _ENABLE[feature]
    if values[slot] is None:
        return Issue(path, None, message)
    return None


def _enabled(config: ColocationConfig, feature: str) -> bool:
    if feature in _ALWAYS:
        return True
    values = config.values
    over = values[_OVERSUBSCRIPTION] is True
    gate = over if feature in _NEEDS_OVERSUBSCRIPTION else over or values[_COLOCATION] is True
    return gate and values[_ENABLE[feature][0]] is True


def feature_enabled(config: ColocationConfig, feature: str) -> bool:
    """Whether ``feature`` is on; ``ConfigInvalid`` if the config lacks what it needs.

    ``KeyError`` for a feature name that is not one of ``FEATURES``.
    """
    if feature not in FEATURES:
        raise KeyError(f"unknown feature {feature!r}; known: {', '.join(FEATURES)}")
    issue = _issue(config, feature)
    if issue is not None:
        raise ConfigInvalid((issue,))
    return _enabled(config, feature)


def features(config: ColocationConfig) -> dict[str, bool]:
    """All nine gates, in ``FEATURES`` order; ``ConfigInvalid`` listing every missing piece."""
    issues: list[Issue] = []
    for feature in FEATURES:
        issue = _issue(config, feature)
        if issue is not None and issue not in issues:
            issues.append(issue)
    if issues:
        raise ConfigInvalid(tuple(issues))
    return {feature: _enabled(config, feature) for feature in FEATURES}
