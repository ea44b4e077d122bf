"""``JsonSchemaConfig``: a config format described by a JSON Schema, behind the seam.

Build one with ``JsonSchemaConfig.from_text(text, source=...)`` or ``from_dict(schema)``
(reading a file is I/O: ``nodeconf.load_json_schema(path)`` does it outside the pure model).
Its effective configs are ``JsonConfig`` values: the merged JSON object, immutable, compared
by value: two configs are equal when their JSON texts with sorted keys are, so ``1``, ``1.0``
and ``true`` all differ (a listener is told when a value changes its JSON type). Its sections
(for ``changed_sections`` and listener subscriptions) are the top-level
properties of the schema.

Thread-safety: ``JsonSchemaConfig`` and ``JsonConfig`` are immutable; every method is pure and
safe from any thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from nodeconf.errors import DocumentError, Issue, SchemaError
from nodeconf.model.defaults import pretty_json
from nodeconf.model.generic.docschema import document_schema, spec_schema
from nodeconf.model.generic.document import GLOBAL, SELECTOR, LayeredDocument, parse_layered
from nodeconf.model.generic.fromjsonschema import OVERRIDE_MODES, compile_json_schema, read_schema
from nodeconf.model.generic.layered import Layers
from nodeconf.model.generic.spec import Spec
from nodeconf.model.jsontext import decode_object, decode_text, json_type_name
from nodeconf.model.seam import Document, Evaluation

__all__ = [
    "JsonConfig",
    "JsonRules",
    "JsonSchemaConfig",
    "LayeredFormat",
    "require_document",
    "reserved_check",
]

#: Cross-field rules over the merged JSON config: return the problems, each an ``Issue``
#: whose path is inside the config (``limits.burst``).
JsonRules = Callable[[Mapping[str, Any]], Iterable[Issue]]

_set = object.__setattr__
_new = object.__new__


def _copy(value: Any) -> Any:
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class JsonConfig:
    """An effective config of a ``JsonSchemaConfig`` (implements ``EffectiveConfig``).

    ``to_json()`` and ``config[key]`` return fresh copies; the config itself never changes.

    Thread-safety: immutable; the cached comparison text is a benign race.
    """

    __slots__ = ("_data", "_text")
    _data: dict[str, Any]
    _text: str | None

    def __init__(self, data: Mapping[str, Any]) -> None:
        _set(self, "_data", dict(data))
        _set(self, "_text", None)

    def to_json(self) -> dict[str, Any]:
        """The config as a new JSON object."""
        out: dict[str, Any] = _copy(self._data)
        return out

    def __getitem__(self, key: str) -> Any:
        """A copy of the value of the top-level ``key``; ``KeyError`` when it has none."""
        return _copy(self._data[key])

    def get(self, key: str, default: Any = None) -> Any:
        """A copy of the value of the top-level ``key``, or ``default``."""
        return _copy(self._data[key]) if key in self._data else default

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def _key(self) -> str:
        text = self._text
        if text is None:
            text = _canonical(self._data)
            _set(self, "_text", text)
        return text

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, JsonConfig):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"JsonConfig is immutable (cannot set {name!r})")

    def __reduce__(self) -> tuple[type[JsonConfig], tuple[dict[str, Any]]]:
        return (JsonConfig, (self._data,))

    def __repr__(self) -> str:
        return f"JsonConfig({_canonical(self._data)})"


def _config(data: dict[str, Any]) -> JsonConfig:
    """A ``JsonConfig`` of ``data`` itself, not a copy: only for a merge result, which nobody
    else holds or mutates (the defaults object included: nobody mutates it)."""
    config: JsonConfig = _new(JsonConfig)
    _set(config, "_data", data)
    _set(config, "_text", None)
    return config


def reserved_check(spec: Spec, source: str) -> None:
    """Refuse a config whose top level has a ``selector`` key (an override's selector)."""
    if SELECTOR in spec.properties:
        raise SchemaError(
            f"the top-level key {SELECTOR!r} is reserved for an override's label selector",
            path=f"properties.{SELECTOR}",
            source=source,
        )


def require_document(document: object) -> LayeredDocument:
    if not isinstance(document, LayeredDocument):
        raise TypeError(
            f"expected a LayeredDocument (from this schema's parse), got {type(document).__name__}"
        )
    return document


class LayeredFormat:
    """What both generic schemas share: parsing, label keys, the default and prepared
    documents, the generated document schema. Subclasses evaluate.

    Thread-safety: immutable; every method is pure.
    """

    name = "generic"
    _layers: Layers

    def parse(self, data: str | bytes) -> LayeredDocument:
        """Parse document text; ``DocumentError`` (with line/column) if unreadable."""
        layers = self._layers
        return parse_layered(layers.spec, data, layers.labels)

    def section_names(self) -> tuple[str, ...]:
        """The top-level keys of the config, in the schema's order."""
        return tuple(self._layers.spec.properties)

    def label_keys(self, document: Document | None) -> frozenset[str]:
        """Every label key a valid selector of ``document`` reads."""
        if isinstance(document, LayeredDocument):
            return document.selector_label_keys
        return frozenset()

    def defaults(self) -> dict[str, Any]:
        """The defaults layer, as a new JSON object."""
        out: dict[str, Any] = _copy(self._layers.defaults)
        return out

    def default_document_text(self) -> str:
        """``{"globalConfig": <the defaults>}``, pretty-printed."""
        return pretty_json({GLOBAL: self._layers.defaults})

    def prepare_document(self, data: str | bytes) -> tuple[str, bool]:
        """Backfill a missing (or ``null``) ``globalConfig`` with the defaults, nothing else.

        ``DocumentError`` if the text is unreadable or ``globalConfig`` is not an object.
        """
        text = decode_text(data)
        tree = decode_object(text)
        current = tree.get(GLOBAL)
        if type(current) is dict:
            return text, False
        if current is not None:
            raise DocumentError(f"globalConfig must be an object, got {json_type_name(current)}")
        return pretty_json(
            {GLOBAL: self._layers.defaults, **{k: v for k, v in tree.items() if k != GLOBAL}}
        ), True

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of the whole layered document."""
        return document_schema(self._layers.spec, self.name)

    def config_json_schema(self) -> dict[str, Any]:
        """The JSON Schema of one effective config."""
        return spec_schema(self._layers.spec, partial=False)

    @property
    def overrides(self) -> str:
        """``last-match`` or ``every-match``."""
        return OVERRIDE_MODES[1] if self._layers.every else OVERRIDE_MODES[0]


class JsonSchemaConfig(LayeredFormat):
    """A config format from a JSON Schema (implements ``ConfigSchema[JsonConfig]``).

    ``overrides`` (``"last-match"`` or ``"every-match"``) overrides the schema's own
    ``x-nodeconf.overrides``; ``rules`` are optional cross-field rules over the merged JSON.

    Thread-safety: immutable; every method is pure and safe from any thread.
    """

    def __init__(
        self,
        spec: Spec,
        *,
        name: str = "generic",
        overrides: str = "last-match",
        rules: JsonRules | None = None,
        source: str = "<schema>",
    ) -> None:
        if overrides not in OVERRIDE_MODES:
            raise ValueError(
                f"overrides must be one of {', '.join(OVERRIDE_MODES)}, got {overrides!r}"
            )
        reserved_check(spec, source)
        self.name = name
        self.source = source
        self._layers = Layers(spec, every=overrides == OVERRIDE_MODES[1])
        self._rules = rules

    @classmethod
    def from_dict(
        cls,
        schema: Mapping[str, Any],
        *,
        source: str = "<schema>",
        overrides: str | None = None,
        rules: JsonRules | None = None,
    ) -> JsonSchemaConfig:
        """Compile a decoded JSON Schema; ``SchemaError`` naming the keyword and its path."""
        spec, mode = compile_json_schema(schema, source)
        title = schema.get("title")
        return cls(
            spec,
            name=title if type(title) is str and title else "generic",
            overrides=overrides or mode,
            rules=rules,
            source=source,
        )

    @classmethod
    def from_text(
        cls,
        text: str | bytes,
        *,
        source: str = "<schema>",
        overrides: str | None = None,
        rules: JsonRules | None = None,
    ) -> JsonSchemaConfig:
        """Compile JSON Schema text; ``SchemaError`` naming ``source`` if unusable."""
        return cls.from_dict(
            read_schema(text, source), source=source, overrides=overrides, rules=rules
        )

    def evaluate(
        self, document: Document | None, node_labels: Mapping[str, str]
    ) -> Evaluation[JsonConfig]:
        """The node's effective config and every error. Never raises."""
        layers = self._layers
        doc = (
            document
            if type(document) is LayeredDocument or document is None
            else require_document(document)
        )
        merged, used = layers.merge(doc, node_labels)
        if self._rules is None and layers.accept(merged) and (doc is None or not doc.errors):
            return Evaluation(_config(merged))  # the common case: nothing to report
        problems = layers.problems(merged)
        if not problems and self._rules is not None:
            problems = layers.rule_problems(self._rules, merged)
        errors = layers.blame(problems, used) if problems else ()
        if doc is not None and doc.errors:
            errors = (*doc.errors, *errors)
        return Evaluation(_config(merged), tuple(errors))

    def check_document(self, document: Document) -> tuple[Issue, ...]:
        """Every error without a node: global over defaults, then each override over that."""
        document = require_document(document)
        layers = self._layers
        rules = self._rules

        def problems_of(merged: dict[str, Any]) -> list[Any]:
            found = layers.problems(merged)
            if not found and rules is not None:
                found = layers.rule_problems(rules, merged)
            return found

        return layers.check(document, problems_of)

    def changed_sections(self, old: JsonConfig | None, new: JsonConfig) -> frozenset[str]:
        """Top-level keys whose values differ; every section when ``old`` is None."""
        if old is None:
            return frozenset(self.section_names()) | frozenset(new)
        if old == new:
            return frozenset()
        a, b = old._data, new._data
        return frozenset(
            k
            for k in a.keys() | b.keys()
            if k not in a or k not in b or _canonical(a[k]) != _canonical(b[k])
        )

    def __repr__(self) -> str:
        return f"JsonSchemaConfig(name={self.name!r}, source={self.source!r})"
