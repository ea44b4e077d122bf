"""The default document (spec section 2) and the start-up backfill (spec section 3).

* ``default_document_text()``: the bytes Volcano writes when it creates the ConfigMap:
  ``{"globalConfig": <every default>}`` re-indented by Go's ``json.Indent`` (two spaces,
  ``"key": value``, one trailing newline, kept from Volcano's source text). Sections come in
  ``DEFAULT_DOCUMENT_ORDER`` (Volcano's text lists ``cpuBurstConfig`` before
  ``cpuQosConfig``), fields in Go struct order, unset defaults omitted.
* ``prepare_document(data)``: Volcano's prepare step as a pure function. The document is read
  the way Volcano's decoder reads it: ``globalConfig`` and the two sections are found also
  under keys differing only in case, and the last such key decides (a ``null`` one is
  "missing"). No ``globalConfig`` raises ``DocumentError("empty global config")``; a missing
  ``overSubscriptionConfig`` or ``evictingConfig`` gets its defaults.
  Returns ``(text, changed)``: the original text untouched when nothing was added, otherwise
  the document pretty-printed like the default document. **Improvement over Volcano**, which
  re-encodes its Go structs and so drops every key it does not know (and with it the unknown-key
  warnings that make typos visible): every other key the administrator wrote (``nodesConfig``,
  unknown keys, their order) is preserved. An added section goes where Volcano's re-encoding
  puts it, in Go struct order among the known sections (replacing any ``null`` key for it).
  Like Volcano, prepare does not check field types; the evaluation reports them.

Thread-safety: pure functions.
"""

from __future__ import annotations

import json
from typing import Any, Final

from nodeconf.errors import DocumentError
from nodeconf.model.fields import DEFAULT_DOCUMENT_ORDER, SECTION_BY_KEY, SECTION_KEYS, Section
from nodeconf.model.jsontext import decode_object, decode_text, json_type_name
from nodeconf.model.keymatch import fold

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
_GLOBAL: Final = "globalConfig"
_POSITION: Final = {key: i for i, key in enumerate(SECTION_KEYS)}
_FOLDED_SECTIONS: Final = {key.lower(): key for key in SECTION_KEYS}


def pretty_json(obj: object) -> str:
    """The house format for documents nodeconf writes: indent 2, ASCII, trailing newline."""
    try:
        return json.dumps(obj, indent=2) + "\n"
    except RecursionError as exc:  # only for junk nested near the recursion limit
        raise DocumentError("invalid JSON: nested too deeply") from exc


def _defaults(section: Section) -> dict[str, Any]:
    return {f.name: f.default for f in section.fields if f.default is not None}


def default_document_text() -> str:
    """The document written when none exists."""
    return pretty_json(
        {"globalConfig": {key: _defaults(SECTION_BY_KEY[key]) for key in DEFAULT_DOCUMENT_ORDER}}
    )


def _is(key: str, name: str) -> bool:
    """Whether Go's decoder reads ``key`` as the field ``name`` (exactly or ignoring case)."""
    return key == name or fold(key) == name.lower()


def _section_of(key: str) -> str | None:
    folded = fold(key)
    return None if folded is None else _FOLDED_SECTIONS.get(folded)


def prepare_document(data: str | bytes) -> tuple[str, bool]:
    """Backfill an existing document; see the module docstring."""
    text = decode_text(data)
    tree = decode_object(text, allow_null=True)
    if tree is None:
        raise DocumentError(EMPTY_GLOBAL_CONFIG)
    # Go decodes every globalConfig key (exact or differing in case) in order into one struct;
    # a null one resets it. The last object is where a backfilled section must go.
    global_config: object = None
    present: dict[str, bool] = {}
    for key, value in tree.items():
        if not _is(key, _GLOBAL):
            continue
        global_config = value
        if type(value) is dict:
            for section_key, section in value.items():
                name = _section_of(section_key)
                if name is not None:
                    present[name] = section is not None
        elif value is None:
            present = {}
    if global_config is None:
        raise DocumentError(EMPTY_GLOBAL_CONFIG)
    if type(global_config) is not dict:
        raise DocumentError(f"globalConfig must be an object, got {json_type_name(global_config)}")
    missing = [key for key in BACKFILLED_SECTIONS if not present.get(key)]
    if not missing:
        return text, False
    for key in missing:
        _insert_section(global_config, key)
    return pretty_json(tree), True


def _insert_section(config: dict[str, Any], key: str) -> None:
    """Put ``key``'s defaults into ``config`` before the first known section that follows it
    in Go struct order (at the end if none does), dropping any other key read as ``key``."""
    items = [(k, v) for k, v in config.items() if _section_of(k) != key]
    at = len(items)
    for i, (k, _) in enumerate(items):
        name = _section_of(k)
        if name is not None and _POSITION[name] > _POSITION[key]:
            at = i
            break
    items.insert(at, (key, _defaults(SECTION_BY_KEY[key])))
    config.clear()
    config.update(items)
