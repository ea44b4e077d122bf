"""The generated JSON Schema (``nodeconf schema``) checked by a real validator, ``jsonschema``.

It must be a valid draft 2020-12 schema; accept the default document, the bundled example and
every valid reference document of tests/model/test_model_volcano_reference.py; and reject each
invalid reference document exactly when the rule it breaks is expressible in JSON Schema. The
cross-field rules (a low watermark above the high one) are not: a document breaking only those
is accepted by the schema and rejected by ``nodeconf validate`` (the schema's module says so).
An invalid label selector makes nodeconf ignore the override (a warning); the schema rejects it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from nodeconf.model import COLOCATION, SECTIONS, default_document_text
from nodeconf.model.rules import NotAbove

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "volcano_reference", ROOT / "tests" / "model" / "test_model_volcano_reference.py"
)
assert _spec is not None
assert _spec.loader is not None
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)

#: Messages of the cross-field rules, which JSON Schema cannot state.
CROSS_FIELD = {r.message for s in SECTIONS for r in s.rules if isinstance(r, NotAbove)}


def _params(test: Any, index: int) -> list[Any]:
    """The ``index``-th value of every case of ``test``'s parametrize mark."""
    (mark,) = [m for m in test.pytestmark if m.name == "parametrize"]
    return [case.values[index] if hasattr(case, "values") else case[index] for case in mark.args[1]]


@pytest.fixture(scope="module")
def validator() -> Any:
    """A draft 2020-12 validator of the generated schema (jsonschema: the `test` extra)."""
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the `test` extra")
    schema = COLOCATION.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _problems(validator: Any, doc: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


def test_the_schema_is_a_valid_draft_2020_12_schema(validator: Any) -> None:
    """``check_schema`` accepts the schema against the 2020-12 meta-schema."""
    assert validator.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


VALID = [
    pytest.param(json.loads(default_document_text()), id="default-document"),
    pytest.param(
        json.loads((ROOT / "examples" / "configmap" / "colocation-config").read_text()),
        id="bundled-example",
    ),
    pytest.param(json.loads(reference.VOLCANO_CREATED_DOCUMENT), id="volcano-created-document"),
    pytest.param(reference.OLD_CFG, id="old-document-before-prepare"),
    pytest.param(
        json.loads(reference.prepare_document(json.dumps(reference.OLD_CFG))[0]),
        id="old-document-after-prepare",
    ),
]


@pytest.mark.parametrize("doc", VALID)
def test_valid_documents_are_accepted(validator: Any, doc: Any) -> None:
    """The default document, the example and the valid reference documents pass the schema."""
    assert not COLOCATION.check_document(COLOCATION.parse(json.dumps(doc)))
    assert _problems(validator, doc) == []


INVALID_GLOBALS = _params(reference.test_validation_messages_and_order, 0)


@pytest.mark.parametrize("global_config", INVALID_GLOBALS)
def test_invalid_reference_documents_are_rejected_where_expressible(
    validator: Any, global_config: dict[str, Any]
) -> None:
    """A reference document nodeconf rejects is rejected by the schema too, unless every rule
    it breaks is a cross-field one (then the schema accepts it: not expressible)."""
    doc = {"globalConfig": global_config}
    errors = reference.evaluate(doc).errors
    assert errors, "a reference case of invalid values must be invalid for nodeconf"
    expressible = any(issue.message not in CROSS_FIELD for issue in errors)
    assert bool(_problems(validator, doc)) is expressible, [i.message for i in errors]


def test_some_reference_cases_are_cross_field_only() -> None:
    """The reference table covers both kinds: at least one case breaks only cross-field rules."""
    kinds = {
        all(i.message in CROSS_FIELD for i in reference.evaluate({"globalConfig": g}).errors)
        for g in INVALID_GLOBALS
    }
    assert kinds == {True, False}


@pytest.mark.parametrize(
    "selector", [s for s in _params(reference.test_selector_semantics, 0) if s is not None]
)
def test_a_selector_is_rejected_exactly_when_nodeconf_ignores_it(
    validator: Any, selector: Any
) -> None:
    """Every reference selector: the schema rejects it iff nodeconf warns it is invalid."""
    doc = {"globalConfig": {}, "nodesConfig": [{"selector": selector}]}
    warnings = COLOCATION.parse(json.dumps(doc)).warnings
    ignored = any("invalid selector" in w.message for w in warnings)
    assert bool(_problems(validator, doc)) is ignored, (selector, _problems(validator, doc))


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param({"globalConfig": {"cpuQosConfig": {"enable": "true"}}}, id="string-bool"),
        pytest.param(
            {"globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": 80.5}}},
            id="float-int",
        ),
        pytest.param(
            {"globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": 2**64}}},
            id="beyond-int64",
        ),
        pytest.param({"globalConfig": {"cpuQosConfig": [1]}}, id="array-section"),
        pytest.param({"nodesConfig": {"a": 1}}, id="nodes-config-object"),
    ],
)
def test_wrong_types_are_rejected(validator: Any, doc: Any) -> None:
    """Values of the wrong JSON type, which nodeconf reports as errors, fail the schema."""
    parsed = COLOCATION.parse(json.dumps(doc))
    assert COLOCATION.check_document(parsed) or parsed.warnings
    assert _problems(validator, doc)


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        pytest.param("k" * 63, True, id="name-63"),
        pytest.param("k" * 64, False, id="name-64"),
        pytest.param("a" * 253 + "/k", True, id="prefix-253"),
        pytest.param("a" * 254 + "/k", False, id="prefix-254"),
        pytest.param("example.com/" + "k" * 63, True, id="prefix-and-name-63"),
    ],
)
def test_label_key_lengths_are_bounded_per_part(validator: Any, key: str, valid: bool) -> None:
    """A label key's name is at most 63 characters and its prefix at most 253, in both the
    schema and nodeconf (a key bound as a whole cannot say which part is too long)."""
    for selector in (
        {"matchLabels": {key: "v"}},
        {"matchExpressions": [{"key": key, "operator": "Exists"}]},
    ):
        doc = {"globalConfig": {}, "nodesConfig": [{"selector": selector}]}
        warned = any(
            "invalid selector" in w.message for w in COLOCATION.parse(json.dumps(doc)).warnings
        )
        assert warned is not valid
        assert (not _problems(validator, doc)) is valid
