"""``Layers``: the layering and the checks every generic schema shares.

The effective config of a node (spec of issue 11):

1. the schema's defaults (``defaults_of``: a ``default`` counts at any depth);
2. ``globalConfig`` over them;
3. the **last** override whose selector matches the node's labels (Volcano's rule), or, when
   the schema opts in (``overrides="every-match"``), every matching override in document order;

each layer merged over the one below: objects key by key at every depth, while scalars, arrays
and ``null`` replace what was there (``nodeconf.model.generic.merge``). A document
without ``globalConfig`` is one with an empty ``globalConfig``; no document at all gives the
defaults.

Then the merged config is checked against the schema (every problem) and, if it passed, by
the optional cross-field rules. **Each problem points at the layer that wrote the value**:
``nodesConfig[1].limits.rate`` (an override; with every-match the last one that set it),
``globalConfig.limits.rate``, or ``defaults.limits.rate`` (nobody set it). A missing required
key points where it should be written: inside the most specific layer that has its parent
object, and at ``globalConfig`` for a top-level key.

``check`` (no node): ``globalConfig`` over the defaults, then each override alone over that;
an override's problem is reported only if the global check did not already report it, so each
problem appears once, at the path to fix.

Thread-safety: immutable after construction; every method is pure and safe from any thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from nodeconf.errors import Issue
from nodeconf.model.generic.accept import acceptor_over
from nodeconf.model.generic.check import Parts, Problem, defaults_of, render_path, validate
from nodeconf.model.generic.document import GLOBAL, NODES, SELECTOR, LayeredDocument
from nodeconf.model.generic.merge import merger
from nodeconf.model.generic.spec import Spec
from nodeconf.model.labels import LabelVerdicts

__all__ = ["DEFAULTS", "Layers", "Merged", "parse_parts"]

DEFAULTS: Final = "defaults"

#: Where a layer is in the document: ``globalConfig``, or an override's position.
Where = str | int
#: A merged config and the layers that made it, most specific last: ``(where, object)``.
Merged = tuple[dict[str, Any], tuple[tuple[Where, Mapping[str, Any]], ...]]

_PART: Final = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def parse_parts(path: str) -> Parts | None:
    """``limits.rate`` or ``tags[0]`` as parts; ``None`` when it is not such a path."""
    import json  # noqa: PLC0415 - only for quoted keys, rare

    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _PART.match(path, pos)
        if m is None or (pos == 0 and path.startswith(".")):
            return None
        name, index, quoted = m.groups()
        parts.append(
            name if name is not None else int(index) if index is not None else json.loads(quoted)
        )
        pos = m.end()
    return tuple(parts)


def _has(layer: object, parts: Parts) -> bool:
    node = layer
    for part in parts:
        if isinstance(part, int):
            if type(node) is not list or part >= len(node):
                return False
        elif type(node) is not dict or part not in node:
            return False
        node = node[part]  # type: ignore[index]
    return True


class Layers:
    """The config ``spec``, its defaults and the override mode (see the module docstring).

    ``labels`` are the label syntax verdicts of every document parsed with these layers
    (``LabelVerdicts``: bounded, and what it remembers never changes a result).

    Thread-safety: immutable apart from ``labels``, which is safe to share; the defaults
    object is never mutated (merges copy).
    """

    __slots__ = ("accept", "defaults", "every", "labels", "merge_layer", "spec")

    def __init__(self, spec: Spec, every: bool = False) -> None:
        self.spec = spec
        self.every = every
        #: ``(base, layer, skip)``: one layer over the config below it (``merge.merger``).
        self.merge_layer = merger(spec)
        found = defaults_of(spec)
        self.defaults: dict[str, Any] = found if type(found) is dict else {}
        #: ``True`` only for a valid config merged over the defaults (``accept.acceptor_over``).
        self.accept = acceptor_over(spec, self.defaults)
        self.labels = LabelVerdicts()

    def merge(self, document: LayeredDocument | None, labels: Mapping[str, str]) -> Merged:
        """The node's merged config and its layers."""
        merged = self.defaults
        if document is None:
            return merged, ()
        merge = self.merge_layer
        found = document.global_config
        if self.every:
            layers: list[tuple[str | int, Mapping[str, Any]]] = []
            if found is not None:
                merged = merge(merged, found, None)
                layers.append((GLOBAL, found))
            for position, raw, _ in document.matching(labels, True):
                merged = merge(merged, raw, SELECTOR)
                layers.append((position, raw))
            return merged, tuple(layers)
        last = document.last_match(labels)
        if found is None:
            if last is None:
                return merged, ()
            return merge(merged, last[1], SELECTOR), (last[:2],)
        merged = merge(merged, found, None)
        if last is None:
            return merged, ((GLOBAL, found),)
        return merge(merged, last[1], SELECTOR), ((GLOBAL, found), last[:2])

    def blame(
        self, problems: Iterable[Problem], layers: Sequence[tuple[Where, object]]
    ) -> list[Issue]:
        """``Issue``s whose paths name the layer each problem's value came from."""
        out: list[Issue] = []
        for parts, value, message in problems:
            issue = Issue(
                render_path(self.where(parts, value is None, layers), parts), value, message
            )
            if issue not in out:
                out.append(issue)
        return out

    def where(self, parts: Parts, missing: bool, layers: Sequence[tuple[Where, object]]) -> str:
        """The path prefix of the layer that wrote ``parts`` (see the module docstring)."""
        if missing and not _has_any(parts, layers):
            if len(parts) <= 1:
                return GLOBAL
            parent = parts[:-1]
            for where, layer in reversed(layers):
                if _has(layer, parent):
                    return _prefix(where)
            return GLOBAL
        for where, layer in reversed(layers):
            if _has(layer, parts):
                return _prefix(where)
        return DEFAULTS

    def problems(self, merged: dict[str, Any]) -> list[Problem]:
        """Every problem of the merged config against the schema (the quick yes first)."""
        return [] if self.accept(merged) else validate(self.spec, merged)

    def rule_problems(
        self, rules: Callable[[Any], Iterable[Issue]], config: object
    ) -> list[Problem]:
        """What the cross-field ``rules`` say about ``config`` (each issue's path is read as a
        path inside the config; a rule that raises is itself a problem, never an exception)."""
        out: list[Problem] = []
        try:
            found: list[object] = list(rules(config))
        except Exception as exc:  # user code: reported, never raised (evaluate never raises)
            return [((), None, f"cross-field rules raised {type(exc).__name__}: {exc}")]
        for issue in found:
            if not isinstance(issue, Issue):
                out.append(((), None, f"cross-field rules returned {issue!r}, not an Issue"))
                continue
            parts = parse_parts(issue.path)
            out.append(
                ((), issue.value, f"{issue.path}: {issue.message}")
                if parts is None
                else (parts, issue.value, issue.message)
            )
        return out

    def check(
        self,
        document: LayeredDocument,
        problems_of: Callable[[dict[str, Any]], list[Problem]],
    ) -> tuple[Issue, ...]:
        """Every error of the document without a node (see the module docstring)."""
        issues: list[Issue] = list(document.errors)
        base = self.defaults
        global_layers: list[tuple[Where, object]] = []
        if document.global_config is not None:
            base = self.merge_layer(base, document.global_config, None)
            global_layers.append((GLOBAL, document.global_config))
        found = self.blame(problems_of(base), global_layers)
        issues.extend(found)
        seen = {(i.path, i.message) for i in found}
        for position, raw, _ in document.entries:
            if len(raw) == (SELECTOR in raw):
                continue
            merged = self.merge_layer(base, raw, SELECTOR)
            layers = [*global_layers, (position, raw)]
            for issue in self.blame(problems_of(merged), layers):
                if (issue.path, issue.message) not in seen:
                    seen.add((issue.path, issue.message))
                    issues.append(issue)
        return tuple(issues)


def _prefix(where: Where) -> str:
    return where if type(where) is str else f"{NODES}[{where}]"


def _has_any(parts: Parts, layers: Sequence[tuple[Where, object]]) -> bool:
    return any(_has(layer, parts) for _, layer in layers)
