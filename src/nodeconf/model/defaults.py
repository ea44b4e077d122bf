"""The default document (spec section 2) and the start-up backfill (spec section 3).

* ``default_document_text()``: ``{"globalConfig": <every default>}``, sections and fields in
  Go struct order (the field table's order), unset defaults omitted, two-space indentation,
  ASCII only, one trailing newline.
* ``prepare_document(data)``: Volcano's prepare step as a pure function. No (or ``null``)
  ``globalConfig`` raises ``DocumentError("empty global config")``; a missing (or ``null``)
  ``overSubscriptionConfig`` or ``evictingConfig`` in ``globalConfig`` gets its defaults.
  Returns ``(text, changed)``: the original text untouched when nothing was added, otherwise
  the document pretty-printed like the default document. **Improvement over Volcano**, which
  re-encodes its Go structs and so drops every key it does not know: every other key the
  administrator wrote (``nodesConfig``, unknown keys, their order) is preserved; the added
  sections go at the end of ``globalConfig``.

Thread-safety: pure functions.
"""

from __future__ import annotations

import json
from typing import Any, Final

from nodeconf.errors import DocumentError
from nodeconf.model.fields import SECTION_BY_KEY, SECTIONS, Section
from nodeconf.model.jsontext import decode_object, decode_text, json_type_name

__all__ = [
    "BACKFILLED_SECTIONS",
    "EMPTY_GLOBAL_CONFIG",
    "default_document_text",
    "prepare_document",
    "pretty_json",
]

#: Volcano's prepare-step error for a document without ``globalConfig`` (its typo fixed).
EMPTY_GLOBAL_CONFIG: Final = "empty global config"
#: Sections the prepare step adds to ``globalConfig`` when missing, in the order it adds them.
BACKFILLED_SECTIONS: Final = ("overSubscriptionConfig", "evictingConfig")


def pretty_json(obj: object) -> str:
    """The house format for documents nodeconf writes: indent 2, ASCII, trailing newline."""
    return json.dumps(obj, indent=2) + "\n"


def _defaults(section: Section) -> dict[str, Any]:
    return {f.name: f.default for f in section.fields if f.default is not None}


def default_document_text() -> str:
    """The document written when none exists."""
    return pretty_json({"globalConfig": {s.key: _defaults(s) for s in SECTIONS}})


def prepare_document(data: str | bytes) -> tuple[str, bool]:
    """Backfill an existing document; see the module docstring."""
    text = decode_text(data)
    tree = decode_object(text)
    global_config = tree.get("globalConfig")
    if global_config is None:
        raise DocumentError(EMPTY_GLOBAL_CONFIG)
    if type(global_config) is not dict:
        raise DocumentError(f"globalConfig must be an object, got {json_type_name(global_config)}")
    changed = False
    for key in BACKFILLED_SECTIONS:
        if global_config.get(key) is None:
            global_config[key] = _defaults(SECTION_BY_KEY[key])
            changed = True
    if not changed:
        return text, False
    return pretty_json(tree), True
