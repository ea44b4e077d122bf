"""The overrides of a generic document read in batch give what reading each one gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nodeconf.model.findings import Findings
from nodeconf.model.generic import JsonSchemaConfig
from nodeconf.model.selectorbatch import plain_selectors
from nodeconf.model.selectorread import compile_override_selector

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "any-agent"
SCHEMA = JsonSchemaConfig.from_text((EXAMPLE / "schema.json").read_bytes())

LABEL_KEYS = st.sampled_from(["pool", "topology.kubernetes.io/zone", "bad key", "a/b/c", "-x"])
LABEL_VALUES = st.one_of(
    st.sampled_from(["gpu", "p0001", "edge-1", "a.b_c", "", "-bad", "x" * 64, "a\nb", "é"]),
    st.sampled_from([None, 5, True]),
)
PLAIN = st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=2).map(lambda m: {"matchLabels": m})
#: Plain selectors whose keys are valid: only their values may be wrong.
VALID_KEYS = st.dictionaries(
    st.sampled_from(["pool", "topology.kubernetes.io/zone"]), LABEL_VALUES, min_size=1
).map(lambda m: {"matchLabels": m})
SELECTORS = st.one_of(
    PLAIN,
    PLAIN,
    st.just({"matchExpressions": [{"key": "pool", "operator": "Exists"}]}),
    st.just({"matchLabels": {"pool": "a"}, "matchExpressions": []}),
    st.just({"MatchLabels": {"pool": "a"}}),
    st.sampled_from([{}, None, [], "x"]),
)
CONFIG_VALUES: dict[str, Any] = {
    "level": st.sampled_from(["debug", "warn", 3, None, {"x": 1}]),
    "paths": st.sampled_from([["/a"], [], [{"k": 1}], "x", None]),
    "limits": st.one_of(
        st.fixed_dictionaries({}, optional={"rate": st.integers(0, 9), "burst": st.just(1)}),
        st.sampled_from([{"rat": 1}, {"rate": {"deep": 1}}, [1], [{"a": 1}], 7, None, {}]),
    ),
    "output": st.one_of(
        st.fixed_dictionaries(
            {}, optional={"endpoint": st.just("http://h:1"), "compression": st.just("gzip")}
        ),
        st.sampled_from([{"endpont": "x"}, [], None]),
    ),
    "nmae": st.just(1),
}


CLEAN_VALUES: dict[str, Any] = {
    "level": st.sampled_from(["debug", "warn"]),
    "paths": st.just(["/a"]),
    "limits": st.fixed_dictionaries({}, optional={"rate": st.integers(1, 9)}),
    "output": st.just({"compression": "zstd"}),
}
CLEAN_SELECTORS = st.dictionaries(
    st.sampled_from(["pool", "topology.kubernetes.io/zone"]),
    st.sampled_from(["gpu", "p0001", "edge-1", "a.b_c", ""]),
    min_size=1,
).map(lambda m: {"matchLabels": m})


@st.composite
def overrides(draw: st.DrawFn) -> list[Any]:
    """Override lists long enough to be read in batch: clean ones (each key known, each
    selector plain and valid), some with one flaw of any kind in one entry."""
    out: list[Any] = []
    for _ in range(draw(st.integers(8, 12))):
        keys = draw(st.lists(st.sampled_from(sorted(CLEAN_VALUES)), max_size=3, unique=True))
        entry = {k: draw(CLEAN_VALUES[k]) for k in keys}
        entry["selector"] = draw(CLEAN_SELECTORS)
        out.append(entry)
    if draw(st.booleans()):
        entry = out[draw(st.integers(0, len(out) - 1))]
        key = draw(st.sampled_from([*sorted(CONFIG_VALUES), "selector", "selector!"]))
        if key == "selector!":
            del entry["selector"]
        else:
            entry[key] = draw(SELECTORS if key == "selector" else CONFIG_VALUES[key])
    return out


def read(document: dict[str, Any]) -> tuple[Any, ...]:
    doc = SCHEMA.parse(json.dumps(document))
    return doc.entries, doc.warnings, doc.errors


@settings(max_examples=300, deadline=None)
@given(overrides())
def test_batch_and_entry_by_entry_reading_agree(entries: list[Any]) -> None:
    """The same overrides, with and without a trailing null entry (which makes the parser read
    every entry on its own), give the same entries, warnings and errors, plus that one
    warning."""
    batch = read({"nodesConfig": entries})
    each = read({"nodesConfig": [*entries, None]})
    null_warning = [w for w in each[1] if w.path == f"nodesConfig[{len(entries)}]"]
    assert batch[0] == each[0]
    assert list(batch[1]) == [w for w in each[1] if w not in null_warning]
    assert batch[2] == each[2]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(SELECTORS, max_size=5), st.lists(VALID_KEYS, max_size=4)))
def test_plain_selectors_compile_as_each_selector_does(selectors: list[Any]) -> None:
    """When the batch vouches for the selectors, each compiles, without a problem, to the
    same selector and key count."""
    batch = Findings()
    labels = plain_selectors(selectors, batch)
    if labels is None:
        assert batch.keys == 0
        return
    each = Findings()
    assert labels == [compile_override_selector(s, i, each) for i, s in enumerate(selectors)]
    assert (tuple(each.warnings), tuple(each.errors)) == ((), ())
    assert batch.keys == each.keys


def test_a_large_plain_document_is_read_in_batch() -> None:
    """Plain overrides of valid labels compile to their label dicts (the batch's result)."""
    entries = [{"selector": {"matchLabels": {"pool": f"p{i}"}}, "level": "warn"} for i in range(50)]
    doc = SCHEMA.parse(json.dumps({"nodesConfig": entries}))
    assert [selector for _, _, selector in doc.entries] == [{"pool": f"p{i}"} for i in range(50)]
    assert doc.warnings == ()
