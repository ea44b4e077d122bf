"""The per-node merge (spec section 4) and the node-free document check.

``evaluate_document(document, labels)``:

1. no document, or no ``globalConfig``: the defaults, and no validation error (Volcano's
   behaviour, kept on purpose: node labels are then **not** applied, and ``nodesConfig`` is
   ignored). Type errors found by the parser are still reported;
2. ``globalConfig`` over the defaults, field by field (an unset field keeps the default);
3. the **last** override whose selector matches the labels, field by field (only that one);
4. ``nodeLabelConfig`` from the labels: oversubscription = ``volcano.sh/oversubscription``
   parses as true; colocation = ``volcano.sh/colocation`` parses as true, or oversubscription;
5. validation; the merged config is returned with every error (parse type errors first, then
   rule violations in Volcano's order), each blamed on the path its value came from.

Step 3 walks the overrides from the end and stops at the first match: the same result as
"last match wins", without testing the selectors before it.

``check_document(document)`` validates without a node: the global config over the defaults,
then each override over that. An override's error is reported only if the global check did
not already report it, so each problem appears once, at the path to fix. It is stricter than
``evaluate_document`` in one place: a document without ``globalConfig`` is an error here
(``empty global config``), because the agent's start-up (prepare) step refuses it.

Thread-safety: pure functions; the document is immutable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from nodeconf.errors import Issue
from nodeconf.model.config import ColocationConfig
from nodeconf.model.defaults import EMPTY_GLOBAL_CONFIG
from nodeconf.model.document import ColocationDocument, Override
from nodeconf.model.fields import DEFAULT_VALUES, FIELDS, field_index
from nodeconf.model.findings import IssueCap
from nodeconf.model.labels import COLOCATION_LABEL, OVERSUBSCRIPTION_LABEL, parse_bool
from nodeconf.model.seam import Evaluation
from nodeconf.model.validation import GLOBAL_PATH, Provenance, blame, validate_values

__all__ = [
    "DEFAULT_CONFIG",
    "EMPTY_GLOBAL_CONFIG",
    "check_document",
    "evaluate_document",
    "explain",
    "matching_override",
]

#: The effective config when there is no document (or no ``globalConfig``).
DEFAULT_CONFIG: Final = ColocationConfig(DEFAULT_VALUES)

_COLOCATION_SLOT: Final = field_index("nodeLabelConfig", "nodeColocationEnable")
_OVERSUBSCRIPTION_SLOT: Final = field_index("nodeLabelConfig", "nodeOverSubscriptionEnable")


def _require(document: object) -> ColocationDocument:
    if not isinstance(document, ColocationDocument):
        raise TypeError(
            f"expected a ColocationDocument (from ColocationSchema.parse), got "
            f"{type(document).__name__}"
        )
    return document


def matching_override(document: ColocationDocument, labels: Mapping[str, str]) -> Override | None:
    """The last override whose selector matches ``labels``, or ``None``."""
    return document.matching_override(labels)


def _merge(
    document: ColocationDocument, labels: Mapping[str, str]
) -> tuple[list[object], Provenance]:
    global_values = document.global_values
    assert global_values is not None
    values: list[object] = list(DEFAULT_VALUES)
    for slot, value in global_values.items():
        values[slot] = value
    override = matching_override(document, labels)
    if override is not None:
        for slot, value in override.values.items():
            values[slot] = value
    over = parse_bool(labels.get(OVERSUBSCRIPTION_LABEL))
    values[_OVERSUBSCRIPTION_SLOT] = over
    values[_COLOCATION_SLOT] = over or parse_bool(labels.get(COLOCATION_LABEL))
    return values, Provenance(
        global_values,
        None if override is None else override.values,
        "" if override is None else override.path,
        labels_applied=True,
    )


def evaluate_document(document: ColocationDocument | None, labels: Mapping[str, str]) -> Evaluation:
    """The effective config of a node with ``labels``, with every error. Never raises for data."""
    if document is None:
        return Evaluation(DEFAULT_CONFIG)
    doc = _require(document)
    if doc.global_values is None:
        return Evaluation(DEFAULT_CONFIG, doc.errors)
    values, provenance = _merge(doc, labels)
    errors = doc.errors
    violations = validate_values(values)
    if violations:
        errors = errors + blame(violations, values, provenance)
    return Evaluation(ColocationConfig(tuple(values)), errors)  # type: ignore[arg-type]


def explain(document: ColocationDocument | None, labels: Mapping[str, str]) -> dict[str, str]:
    """For each field (``section.field``), the path its effective value came from."""
    if document is None or _require(document).global_values is None:
        provenance = Provenance()
    else:
        _, provenance = _merge(document, labels)
    return {f"{f.section}.{f.name}": provenance.path(f.index) for f in FIELDS}


def check_document(document: ColocationDocument) -> tuple[Issue, ...]:
    """Every error of the document without a node (see the module docstring)."""
    doc = _require(document)
    issues = IssueCap("error")  # one report per kind beyond a few (nodeconf.model.findings)
    global_values = doc.global_values
    if global_values is None:
        issues.add(GLOBAL_PATH, None, EMPTY_GLOBAL_CONFIG)
    base: list[object] = list(DEFAULT_VALUES)
    for slot, value in (global_values or {}).items():
        base[slot] = value
    found = blame(validate_values(base), base, Provenance(global_values))
    issues.extend(found)
    seen = {(i.path, i.message) for i in found}
    for override in doc.iter_overrides():
        if not override.values:
            continue
        values = list(base)
        for slot, value in override.values.items():
            values[slot] = value
        provenance = Provenance(global_values, override.values, override.path)
        issues.extend(
            issue
            for issue in blame(validate_values(values), values, provenance)
            if (issue.path, issue.message) not in seen
        )
    return doc.errors + issues.issues()
