"""Label and field selectors, parsed and matched as the API server does.

Pure functions: no I/O, no threads; any thread may call them.

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``
(exists), ``!k`` (does not exist), joined by commas (AND). ``!=`` and ``notin`` also match
objects that lack the label, as in Kubernetes. ``>``/``<`` are not supported (400).

Field selectors: ``f=v``, ``f==v``, ``f!=v`` joined by commas, for ``metadata.name``,
``metadata.namespace`` and a few per-resource fields; any other field is a 400 BadRequest
(``field label not supported``), like the real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubeapi._resources import ResourceInfo, bad_request

__all__ = ["Selector", "parse_field_selector", "parse_label_selector"]

_LABEL_KEY = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_SET_TERM = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")

Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Selector:
    """An AND of predicates over one object; the empty selector matches everything.

    Thread-safety: immutable.
    """

    predicates: tuple[Predicate, ...] = ()
    text: str = ""

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """True when every term matches ``obj``."""
        return all(predicate(obj) for predicate in self.predicates)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    terms.append("".join(current).strip())
    return [term for term in terms if term]


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    metadata = obj.get("metadata") or {}
    labels = metadata.get("labels") or {}
    return labels if isinstance(labels, Mapping) else {}


def _check_key(key: str, text: str) -> str:
    if not _LABEL_KEY.match(key):
        raise bad_request(f"unable to parse requirement: invalid label key {key!r} in {text!r}")
    return key


def _label_term(term: str, text: str) -> Predicate:
    set_match = _SET_TERM.match(term)
    if set_match:
        key = _check_key(set_match.group(1), text)
        values = frozenset(v.strip() for v in set_match.group(3).split(",") if v.strip())
        if set_match.group(2) == "in":
            return lambda obj: _labels(obj).get(key) in values
        return lambda obj: _labels(obj).get(key) not in values
    for operator in ("!=", "==", "="):
        if operator in term:
            key, _, value = term.partition(operator)
            key = _check_key(key.strip(), text)
            value = value.strip()
            if operator == "!=":
                return lambda obj: _labels(obj).get(key) != value
            return lambda obj: _labels(obj).get(key) == value
    if any(char in term for char in "<>()"):
        raise bad_request(f"unable to parse requirement: unsupported operator in {text!r}")
    if term.startswith("!"):
        key = _check_key(term[1:].strip(), text)
        return lambda obj: key not in _labels(obj)
    key = _check_key(term, text)
    return lambda obj: key in _labels(obj)


def parse_label_selector(text: str | None) -> Selector:
    """Parse a ``labelSelector`` query value; raise ``KubeAPIError`` (400) if malformed."""
    if not text:
        return Selector()
    return Selector(tuple(_label_term(term, text) for term in _split_terms(text)), text)


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, Mapping):  # ``source`` of an Event is matched on its component
        return str(node.get("component", ""))
    return str(node)


def _field_term(field: str, value: str, *, negate: bool) -> Predicate:
    if negate:
        return lambda obj: _field_value(obj, field) != value
    return lambda obj: _field_value(obj, field) == value


def parse_field_selector(text: str | None, info: ResourceInfo) -> Selector:
    """Parse a ``fieldSelector`` for ``info``; raise ``KubeAPIError`` (400) if not supported."""
    if not text:
        return Selector()
    allowed = {"metadata.name", "metadata.namespace", *info.extra_fields}
    predicates: list[Predicate] = []
    for term in _split_terms(text):
        for operator in ("!=", "==", "="):
            if operator in term:
                field, _, value = term.partition(operator)
                field, value = field.strip(), value.strip()
                break
        else:
            raise bad_request(f"invalid selector: {text!r}; can't understand {term!r}")
        if field not in allowed:
            raise bad_request(f'field label not supported: "{field}"')
        predicates.append(_field_term(field, value, negate=operator == "!="))
    return Selector(tuple(predicates), text)
