"""``DataclassSchema[C]``: a config format from a frozen dataclass ``C``, behind the seam.

``dataclass_schema(GpuConfig)`` reads the dataclass (``fromdataclass``) and layers documents
exactly as a JSON Schema config does (``layered``); a valid evaluation's config **is** a
``GpuConfig`` instance, built with its own constructor, so a listener of a
``ConfigManager[GpuConfig]`` receives a fully typed ``GpuConfig``. Equality and hashing are
the dataclass's own (frozen: by field values).

``rules`` (optional) are cross-field rules: a callable taking the instance and returning
``Issue``s whose paths are field paths inside the config (``Issue("limits.burst", 5, "must
not exceed limits.rate")``); each is reported at the layer that wrote the value. They run only
on a config that passed the field checks. A ``ValueError``/``TypeError`` from the dataclass's
own ``__post_init__`` is reported the same way, at the config's root.

An invalid evaluation still carries a ``C``, assembled without the constructor from what the
merge produced (fields may then hold anything); it is never delivered to listeners.

Thread-safety: immutable; every method is pure and safe from any thread (``rules`` must be
too: it runs on whichever thread evaluates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from nodeconf.errors import Issue
from nodeconf.model.generic.check import Problem
from nodeconf.model.generic.construct import Construct, constructor
from nodeconf.model.generic.document import SELECTOR, LayeredDocument
from nodeconf.model.generic.fromdataclass import Shape, build, compile_dataclass, to_json
from nodeconf.model.generic.fromjsonschema import OVERRIDE_MODES
from nodeconf.model.generic.jsonconfig import LayeredFormat, require_document
from nodeconf.model.generic.layered import Layers
from nodeconf.model.seam import Document, Evaluation

__all__ = ["DataclassSchema", "dataclass_schema"]

T = TypeVar("T")


class DataclassSchema(LayeredFormat, Generic[T]):
    """A config format from the frozen dataclass ``T`` (implements ``ConfigSchema[T]``).

    Thread-safety: immutable; every method is pure and safe from any thread.
    """

    def __init__(
        self,
        config_type: type[T],
        *,
        rules: Callable[[T], Iterable[Issue]] | None = None,
        overrides: str = "last-match",
        name: str | None = None,
    ) -> None:
        if overrides not in OVERRIDE_MODES:
            raise ValueError(
                f"overrides must be one of {', '.join(OVERRIDE_MODES)}, got {overrides!r}"
            )
        spec, shape = compile_dataclass(config_type)
        if SELECTOR in spec.properties:
            raise TypeError(
                f"{config_type.__name__}.{SELECTOR}: the top-level key {SELECTOR!r} is reserved "
                "for an override's label selector"
            )
        self.config_type = config_type
        self.name = name or config_type.__name__
        self._shape: Shape = shape
        self._layers = Layers(spec, every=overrides == OVERRIDE_MODES[1])
        # build(shape, _, checked=True), with the defaults' dataclasses made once
        self._construct: Construct = constructor(shape, self._layers.defaults)
        self._rules = rules

    def _problems(self, merged: dict[str, Any]) -> tuple[list[Problem], T | None]:
        layers = self._layers
        problems = layers.problems(merged)
        if problems:
            return problems, None
        try:
            instance: T = self._construct(merged)
        except (ValueError, TypeError) as exc:
            return [((), None, f"{self.config_type.__name__} refused the config: {exc}")], None
        if self._rules is not None:
            problems = layers.rule_problems(self._rules, instance)
        return problems, instance

    def evaluate(self, document: Document | None, node_labels: Mapping[str, str]) -> Evaluation[T]:
        """The node's effective config (a ``T``) and every error. Never raises."""
        layers = self._layers
        doc = (
            document
            if type(document) is LayeredDocument or document is None
            else require_document(document)
        )
        merged, used = layers.merge(doc, node_labels)
        problems, instance = self._problems(merged)
        errors: tuple[Issue, ...] = tuple(layers.blame(problems, used)) if problems else ()
        if doc is not None and doc.errors:
            errors = (*doc.errors, *errors)
        if instance is None or errors:
            instance = build(self._shape, merged, checked=False)
        assert instance is not None
        return Evaluation(instance, errors)

    def check_document(self, document: Document) -> tuple[Issue, ...]:
        """Every error without a node: global over defaults, then each override over that."""
        return self._layers.check(require_document(document), lambda m: self._problems(m)[0])

    def changed_sections(self, old: T | None, new: T) -> frozenset[str]:
        """Fields whose values differ; every field when ``old`` is None."""
        names = self.section_names()
        if old is None:
            return frozenset(names)
        return frozenset(n for n in names if getattr(old, n) != getattr(new, n))

    def to_json(self, config: T) -> dict[str, Any]:
        """``config`` as a JSON object (enums as values, tuples as arrays)."""
        out: dict[str, Any] = to_json(config)
        return out

    def __repr__(self) -> str:
        return f"DataclassSchema({self.config_type.__name__})"


def dataclass_schema(
    config_type: type[T],
    *,
    rules: Callable[[T], Iterable[Issue]] | None = None,
    overrides: str = "last-match",
) -> DataclassSchema[T]:
    """The config format of the frozen dataclass ``config_type`` (see the module docstring).

    ``overrides``: ``"last-match"`` (Volcano's rule) or ``"every-match"``. ``TypeError``
    naming the field when the dataclass cannot be a config.
    """
    return DataclassSchema(config_type, rules=rules, overrides=overrides)
