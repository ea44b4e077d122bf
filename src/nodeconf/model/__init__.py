"""The pure model: parse, defaults, validation, selectors, merge, feature gates.

No I/O, no threads, no clock, standard library only (it must run on free-threaded CPython).

Module map (one concept each):

* ``seam`` - the ``ConfigSchema`` protocol the manager codes against;
* ``colocation`` - ``ColocationSchema``, Volcano's format behind that seam (``COLOCATION``);
* ``fields`` and ``rules`` - the one declarative table: sections, fields, defaults, rules;
* ``jsontext`` - bytes to JSON safely (size, UTF-8, syntax, nesting, duplicates);
* ``keymatch`` - how Volcano's Go decoder matches keys to fields (exactly, else ignoring case);
* ``document`` - the typed document and its parser;
* ``labels`` and ``selectors`` - label syntax, ``ParseBool``, Kubernetes label selectors;
* ``merge`` and ``validation`` - the per-node merge, the checks, error provenance;
* ``config`` - the immutable effective config;
* ``features`` - the feature gates;
* ``defaults`` - the default document and the start-up backfill;
* ``jsonschema`` - the JSON Schema, generated from the table;
* ``generic`` - the second format: any agent's config from a JSON Schema or a dataclass
  (``JsonSchemaConfig``, ``DataclassSchema``), layered the same way (see its own map).

Thread-safety: everything here is immutable or pure; safe from any thread.
"""

from __future__ import annotations

from nodeconf.model.colocation import COLOCATION, NODE_LABEL_KEYS, ColocationSchema
from nodeconf.model.config import ColocationConfig, changed_sections, config_from_json
from nodeconf.model.defaults import default_document_text, prepare_document
from nodeconf.model.document import ColocationDocument, Override, parse_document
from nodeconf.model.features import FEATURES, feature_enabled, features
from nodeconf.model.fields import FIELDS, SECTION_KEYS, SECTIONS, Field, Section
from nodeconf.model.jsonschema import json_schema
from nodeconf.model.jsontext import MAX_DOCUMENT_BYTES
from nodeconf.model.labels import (
    COLOCATION_LABEL,
    COLOCATION_POLICY_LABEL,
    OVERSUBSCRIPTION_LABEL,
    parse_bool,
    parse_label_pairs,
)
from nodeconf.model.merge import DEFAULT_CONFIG, check_document, evaluate_document, explain
from nodeconf.model.seam import ConfigSchema, Document, EffectiveConfig, Evaluation
from nodeconf.model.selectorread import compile_selector
from nodeconf.model.selectors import Selector

__all__ = [
    "COLOCATION",
    "COLOCATION_LABEL",
    "COLOCATION_POLICY_LABEL",
    "DEFAULT_CONFIG",
    "FEATURES",
    "FIELDS",
    "MAX_DOCUMENT_BYTES",
    "NODE_LABEL_KEYS",
    "OVERSUBSCRIPTION_LABEL",
    "SECTIONS",
    "SECTION_KEYS",
    "ColocationConfig",
    "ColocationDocument",
    "ColocationSchema",
    "ConfigSchema",
    "Document",
    "EffectiveConfig",
    "Evaluation",
    "Field",
    "Override",
    "Section",
    "Selector",
    "changed_sections",
    "check_document",
    "compile_selector",
    "config_from_json",
    "default_document_text",
    "evaluate_document",
    "explain",
    "feature_enabled",
    "features",
    "json_schema",
    "parse_bool",
    "parse_document",
    "parse_label_pairs",
    "prepare_document",
]
