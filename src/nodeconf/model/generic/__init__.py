"""Generic layered config schemas: any agent's config, from a JSON Schema or a dataclass.

The document has the colocation document's shape (``globalConfig``, then ``nodesConfig``
overrides chosen by Kubernetes label selectors); the effective config of a node is the
schema's defaults, then ``globalConfig``, then the last matching override (or, opted in, every
matching override in order), merged key by key at every depth. See ``layered`` for the rules
and ``docs/schema.md`` for the user's guide.

Module map (one concept each):

* ``spec`` - ``Spec``, one schema node, whichever way the schema was written;
* ``fromjsonschema`` - a JSON Schema (draft 2020-12 subset) to a ``Spec``; refuses the rest;
* ``fromdataclass`` - a frozen dataclass to a ``Spec`` and a shape that builds instances;
* ``construct`` - the checked instance of a shape, its constructor compiled once;
* ``compiled`` - the validator, compiled per ``Spec`` (every problem, with its path);
* ``accept`` - the quick yes for a valid config, before the validator;
* ``check`` - validation and the defaults layer;
* ``merge`` - the layer merge, compiled per ``Spec``;
* ``scan`` - the unknown-key scan of a document's layers, one by one or in batch;
* ``document`` - the layered document and its parser (selectors from ``model.selectors``);
* ``layered`` - the layering, blame (which layer wrote a value), the node-free check;
* ``jsonconfig`` - ``JsonSchemaConfig`` and its effective config ``JsonConfig``;
* ``typed`` - ``DataclassSchema[C]`` (``dataclass_schema(C)``), whose configs are ``C``;
* ``docschema`` - the JSON Schema of the whole layered document.

Thread-safety: everything here is immutable or pure; safe from any thread.
"""

from __future__ import annotations

from nodeconf.model.generic.document import LayeredDocument
from nodeconf.model.generic.fromjsonschema import OVERRIDE_MODES
from nodeconf.model.generic.jsonconfig import JsonConfig, JsonRules, JsonSchemaConfig
from nodeconf.model.generic.typed import DataclassSchema, dataclass_schema

__all__ = [
    "OVERRIDE_MODES",
    "DataclassSchema",
    "JsonConfig",
    "JsonRules",
    "JsonSchemaConfig",
    "LayeredDocument",
    "dataclass_schema",
]
