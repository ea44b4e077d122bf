"""The schema seam: everything the manager needs to know about a configuration format.

The manager, the sources and the daemon never look inside a document or an effective config;
they go through a ``ConfigSchema``. The colocation schema (Volcano's format) is the first
implementation (``nodeconf.model.colocation.ColocationSchema``); the generic layered schemas
(``nodeconf.model.generic``: from a JSON Schema or a dataclass) are the second; another format
plugs in by implementing this protocol.

``ConfigSchema[C]`` and ``Evaluation[C]`` are generic in the effective config type ``C``: a
dataclass schema for ``GpuConfig`` is a ``ConfigSchema[GpuConfig]`` and its evaluations carry
``GpuConfig`` instances. Written bare, ``C`` is ``EffectiveConfig`` (type checkers apply the
TypeVar's default), so code written before the parameter existed keeps its meaning.

Contracts every implementation keeps:

* pure: no I/O, no threads, no clock, no global mutable state that can change a result (the
  one module-level table, ``generic.codegen``'s bounded memo of compiled text, cannot); every
  method may be called from any thread at any time, concurrently;
* ``parse`` either returns a ``Document`` or raises ``DocumentError``; it never raises
  anything else, whatever bytes it is given;
* ``evaluate`` never raises: an invalid result is returned with its errors;
* effective config values are immutable, hashable and compare by value; equal configs mean
  "nothing for a listener to do". ``EffectiveConfig`` (with ``to_json``) is what the colocation
  and JSON Schema configs are; a dataclass schema's configs are the user's frozen dataclass
  instances, whose JSON form is ``schema.to_json(config)``.

Thread-safety: implementations are stateless; all methods are safe from any thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, runtime_checkable

from nodeconf.errors import Issue

if TYPE_CHECKING:  # PEP 696 TypeVar defaults: typing has them from 3.13, mypy reads these
    from typing_extensions import TypeVar
else:
    from typing import TypeVar

__all__ = ["C", "ConfigSchema", "Document", "EffectiveConfig", "Evaluation"]


@runtime_checkable
class Document(Protocol):
    """A parsed document. ``warnings`` lists non-fatal findings (unknown keys, duplicates)."""

    @property
    def warnings(self) -> tuple[Issue, ...]: ...


@runtime_checkable
class EffectiveConfig(Protocol):
    """What one node gets: immutable, hashable, compared by value."""

    def to_json(self) -> dict[str, Any]:
        """The config as a JSON object with the document's key names, every section present."""
        ...

    def __hash__(self) -> int: ...

    def __eq__(self, other: object) -> bool: ...


if TYPE_CHECKING:
    #: The effective config type of a schema; ``EffectiveConfig`` when not given.
    C = TypeVar("C", default=EffectiveConfig)
else:
    C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Evaluation(Generic[C]):
    """The result of computing one node's effective config.

    ``config`` is always present (the merged result, even when invalid; a dataclass schema
    builds an invalid result without running the dataclass's checks); ``errors`` is empty
    exactly when the config may be delivered to listeners.

    Thread-safety: immutable.
    """

    config: C
    errors: tuple[Issue, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors


class ConfigSchema(Protocol[C]):
    """A configuration format: parse, merge for a node, validate, compare.

    Thread-safety: every method is pure and safe from any thread.
    """

    #: Short name used in logs and metrics, e.g. ``"colocation"``.
    name: str

    def parse(self, data: str | bytes) -> Document:
        """Parse document text; raise ``DocumentError`` (with line/column) if unreadable."""
        ...

    def evaluate(self, document: Document | None, node_labels: Mapping[str, str]) -> Evaluation[C]:
        """Compute and validate the effective config for a node with ``node_labels``.

        ``document=None`` (no document at all) yields the defaults, with no error unless the
        defaults alone break the schema (a generic schema's required key without a default).
        Never raises.
        """
        ...

    def check_document(self, document: Document) -> tuple[Issue, ...]:
        """Validate without a node: the global config, and each override merged over it.

        Returns every error, each with the path of the value that caused it.
        """
        ...

    def changed_sections(self, old: C | None, new: C) -> frozenset[str]:
        """Names of the top-level sections that differ; every section when ``old`` is None."""
        ...

    def section_names(self) -> tuple[str, ...]:
        """Every section name, in the schema's canonical order."""
        ...

    def label_keys(self, document: Document | None) -> frozenset[str]:
        """Node label keys whose change can alter the effective config for ``document``."""
        ...

    def default_document_text(self) -> str:
        """The document written when none exists."""
        ...

    def prepare_document(self, data: str | bytes) -> tuple[str, bool]:
        """Backfill an existing document (Volcano's prepare step).

        Returns ``(text, changed)``; ``changed`` is False when nothing had to be added (then
        ``text`` need not be written back). Raises ``DocumentError`` if the document is
        unreadable or has no global config.
        """
        ...
