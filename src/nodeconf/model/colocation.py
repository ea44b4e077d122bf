"""``ColocationSchema``: Volcano's colocation format behind the ``ConfigSchema`` seam.

The manager and the sources only see this object; every method delegates to a small module
of the model (parse: ``document``; evaluate and check: ``merge``; defaults and backfill:
``defaults``; comparison: ``config``). ``COLOCATION`` is the shared instance: the schema is
stateless, so one is enough.

``label_keys(document)``: the two colocation labels, ``colocation-policy`` (Volcano re-syncs on
it), and **every key any valid selector of the document mentions** (spec section 7, "we
improve": relabelling a node re-evaluates which override applies).

Thread-safety: stateless; every method is pure and safe from any thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from nodeconf.errors import Issue
from nodeconf.model.config import changed_sections
from nodeconf.model.defaults import default_document_text, prepare_document
from nodeconf.model.document import ColocationDocument, parse_document
from nodeconf.model.features import features
from nodeconf.model.fields import SECTION_KEYS
from nodeconf.model.jsonschema import json_schema
from nodeconf.model.labels import COLOCATION_LABEL, COLOCATION_POLICY_LABEL, OVERSUBSCRIPTION_LABEL
from nodeconf.model.merge import check_document, evaluate_document, explain
from nodeconf.model.seam import Document, EffectiveConfig, Evaluation

__all__ = ["COLOCATION", "NODE_LABEL_KEYS", "ColocationSchema"]

#: Label keys that always matter, whatever the document says.
NODE_LABEL_KEYS: Final = frozenset(
    {COLOCATION_LABEL, OVERSUBSCRIPTION_LABEL, COLOCATION_POLICY_LABEL}
)


class ColocationSchema:
    """Volcano's colocation configuration format (implements ``ConfigSchema``).

    Thread-safety: stateless; all methods are safe from any thread, concurrently.
    """

    name = "colocation"

    def parse(self, data: str | bytes) -> ColocationDocument:
        """Parse document text; ``DocumentError`` (with line/column) if unreadable."""
        return parse_document(data)

    def evaluate(self, document: Document | None, node_labels: Mapping[str, str]) -> Evaluation:
        """The effective config for a node with ``node_labels`` and every error."""
        return evaluate_document(document, node_labels)  # type: ignore[arg-type]

    def check_document(self, document: Document) -> tuple[Issue, ...]:
        """Every error of the document without a node (global, then each override over it)."""
        return check_document(document)  # type: ignore[arg-type]

    def changed_sections(self, old: EffectiveConfig | None, new: EffectiveConfig) -> frozenset[str]:
        """Section keys that differ; every section when ``old`` is None."""
        return changed_sections(old, new)  # type: ignore[arg-type]

    def section_names(self) -> tuple[str, ...]:
        """Every section key, in canonical order."""
        return SECTION_KEYS

    def label_keys(self, document: Document | None) -> frozenset[str]:
        """Label keys whose change can alter the effective config for ``document``."""
        if isinstance(document, ColocationDocument):
            return NODE_LABEL_KEYS | document.selector_label_keys
        return NODE_LABEL_KEYS

    def default_document_text(self) -> str:
        """The document written when none exists."""
        return default_document_text()

    def prepare_document(self, data: str | bytes) -> tuple[str, bool]:
        """Backfill ``overSubscriptionConfig``/``evictingConfig``; ``(text, changed)``."""
        return prepare_document(data)

    # Beyond the seam: what the CLI and listeners use.

    def features(self, config: EffectiveConfig) -> dict[str, bool]:
        """The nine feature gates of ``config`` (see ``nodeconf.model.features``)."""
        return features(config)  # type: ignore[arg-type]

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of the document."""
        return json_schema()

    def explain(self, document: Document | None, node_labels: Mapping[str, str]) -> dict[str, str]:
        """For each ``section.field``, the path its effective value came from."""
        return explain(document, node_labels)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return "ColocationSchema()"


#: The shared, stateless instance.
COLOCATION: Final = ColocationSchema()
