"""Generic schemas from a frozen dataclass: typed configs, constraints, refusals, and equality
with the equivalent JSON Schema."""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pytest

from nodeconf.errors import Issue
from nodeconf.model.generic import JsonSchemaConfig, dataclass_schema


class Mode(enum.Enum):
    ECO = "eco"
    MAX = "max"


@dataclass(frozen=True)
class Power:
    cap_watts: Annotated[int, {"minimum": 50, "maximum": 700}] = 300
    mode: Mode = Mode.ECO


@dataclass(frozen=True)
class GpuConfig:
    """A GPU agent's config."""

    power: Power = Power()
    clocks: Literal["auto", "locked"] = "auto"
    share: float = field(default=1.0, metadata={"exclusiveMinimum": 0, "maximum": 1})
    devices: tuple[str, ...] = ()
    label: str | None = None


EQUIVALENT_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "power": {
            "type": "object",
            "properties": {
                "cap_watts": {"type": "integer", "minimum": 50, "maximum": 700, "default": 300},
                "mode": {"enum": ["eco", "max"], "default": "eco"},
            },
        },
        "clocks": {"enum": ["auto", "locked"], "default": "auto"},
        "share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 1.0},
        "devices": {"type": "array", "items": {"type": "string"}, "default": []},
        "label": {"type": ["string", "null"], "default": None},
    },
}

DOCUMENT = {
    "globalConfig": {"power": {"cap_watts": 400}, "devices": ["gpu0"]},
    "nodesConfig": [
        {"selector": {"matchLabels": {"pool": "a"}}, "power": {"mode": "max"}, "share": 1},
        {"selector": {"matchLabels": {"pool": "b"}}, "clocks": "locked", "label": "b"},
    ],
}


def test_listeners_get_an_instance_of_the_dataclass() -> None:
    """A valid evaluation's config is the dataclass itself, with enums and tuples built."""
    s = dataclass_schema(GpuConfig)
    config = s.evaluate(s.parse(json.dumps(DOCUMENT)), {"pool": "a"}).config
    assert config == GpuConfig(power=Power(400, Mode.MAX), devices=("gpu0",), share=1.0)
    assert isinstance(config.power.mode, Mode)
    assert type(config.share) is float
    assert hash(config) == hash(GpuConfig(power=Power(400, Mode.MAX), devices=("gpu0",)))


@pytest.mark.parametrize("labels", [{}, {"pool": "a"}, {"pool": "b"}, {"pool": "a", "x": "y"}])
def test_dataclass_and_equivalent_json_schema_agree(labels: dict[str, str]) -> None:
    """The dataclass and its equivalent JSON Schema give equal effective configs."""
    typed = dataclass_schema(GpuConfig)
    plain = JsonSchemaConfig.from_dict(EQUIVALENT_JSON_SCHEMA)
    text = json.dumps(DOCUMENT)
    a = typed.evaluate(typed.parse(text), labels)
    b = plain.evaluate(plain.parse(text), labels)
    assert a.valid
    assert b.valid
    assert typed.to_json(a.config) == b.config.to_json()
    assert typed.defaults() == plain.defaults()


def test_dataclass_constraints_are_checked_with_paths() -> None:
    """Annotated and metadata bounds, Literal and Enum are enforced, each error with a path."""
    s = dataclass_schema(GpuConfig)
    document = {
        "globalConfig": {"power": {"cap_watts": 10, "mode": "turbo"}, "share": 0},
        "nodesConfig": [{"selector": {}, "clocks": "fast", "devices": [1]}],
    }
    evaluation = s.evaluate(s.parse(json.dumps(document)), {})
    assert [(e.path, e.message) for e in evaluation.errors] == [
        ("globalConfig.power.cap_watts", "must be >= 50 (minimum)"),
        ("globalConfig.power.mode", 'must be one of "eco", "max" (enum)'),
        ("nodesConfig[0].clocks", 'must be one of "auto", "locked" (enum)'),
        ("globalConfig.share", "must be > 0 (exclusiveMinimum)"),
        ("nodesConfig[0].devices[0]", "must be a string, got integer (type)"),
    ]
    assert isinstance(evaluation.config, GpuConfig)  # assembled, never delivered


def test_cross_field_rules_get_the_instance_and_blame_the_layer() -> None:
    """Rules receive the typed config; their issues point at the layer that wrote the value."""

    def rules(config: GpuConfig) -> list[Issue]:
        if config.power.mode is Mode.MAX and config.power.cap_watts < 500:
            return [Issue("power.cap_watts", config.power.cap_watts, "max mode needs >= 500")]
        return []

    s = dataclass_schema(GpuConfig, rules=rules)
    evaluation = s.evaluate(s.parse(json.dumps(DOCUMENT)), {"pool": "a"})
    assert [str(e) for e in evaluation.errors] == [
        "globalConfig.power.cap_watts: max mode needs >= 500 (value: 400)"
    ]
    assert [str(e) for e in s.check_document(s.parse(json.dumps(DOCUMENT)))] == [
        "globalConfig.power.cap_watts: max mode needs >= 500 (value: 400)"
    ]


def test_post_init_refusal_is_an_error_not_an_exception() -> None:
    """A ValueError from the dataclass's __post_init__ becomes an error of the evaluation."""

    @dataclass(frozen=True)
    class Checked:
        low: int = 1
        high: int = 2

        def __post_init__(self) -> None:
            if self.low > self.high:
                raise ValueError("low above high")

    s = dataclass_schema(Checked)
    evaluation = s.evaluate(s.parse('{"globalConfig": {"low": 5}}'), {})
    assert [e.message for e in evaluation.errors] == ["Checked refused the config: low above high"]


def test_required_field_without_default() -> None:
    """A field without a default is required: missing in every layer is an error."""

    @dataclass(frozen=True)
    class Named:
        name: str
        size: int = 1

    s = dataclass_schema(Named)
    assert [e.path for e in s.evaluate(None, {}).errors] == ["globalConfig.name"]
    assert s.evaluate(s.parse('{"globalConfig": {"name": "x"}}'), {}).config == Named("x")


def test_changed_sections_are_the_fields_that_differ() -> None:
    """changed_sections names the top-level fields whose values differ."""
    s = dataclass_schema(GpuConfig)
    a, b = GpuConfig(), GpuConfig(clocks="locked", power=Power(cap_watts=60))
    assert s.changed_sections(a, b) == frozenset({"clocks", "power"})
    assert s.changed_sections(None, a) == frozenset(f.name for f in dataclasses.fields(GpuConfig))
    assert s.section_names() == ("power", "clocks", "share", "devices", "label")


@dataclass
class Mutable:
    x: int = 0


@dataclass(frozen=True)
class WithList:
    xs: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class WithDict:
    m: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class WithUnion:
    v: int | str = 0


@dataclass(frozen=True)
class WithBadAnnotated:
    v: Annotated[int, {"minimun": 1}] = 1


@dataclass(frozen=True)
class WithBadDefault:
    v: Annotated[int, {"maximum": 5}] = 9


@dataclass(frozen=True)
class WithFixedTuple:
    v: tuple[int, int] = (1, 2)


@dataclass(frozen=True)
class WithSelector:
    selector: str = ""


@dataclass(frozen=True)
class Node:
    child: Node | None = None


REFUSED = [
    (Mutable, "Mutable: dataclass Mutable must be frozen"),
    (WithList, "WithList.xs: type list[int] is not supported (use tuple[X, ...]"),
    (WithDict, "WithDict.m: type dict[str, int] is not supported (use a nested frozen dataclass"),
    (WithUnion, "WithUnion.v: only X | None unions are supported"),
    (WithBadAnnotated, "WithBadAnnotated.v: unknown constraint 'minimun'"),
    (WithBadDefault, "WithBadDefault.v: the default 9 breaks the field's own rule"),
    (WithFixedTuple, "WithFixedTuple.v: use tuple[X, ...]"),
    (WithSelector, "WithSelector.selector: the top-level key 'selector' is reserved"),
    (Node, "Node.child: dataclass Node refers to itself"),
    (int, "int: expected a dataclass"),
]


@pytest.mark.parametrize(("cls", "message"), REFUSED, ids=[c[0].__name__ for c in REFUSED])
def test_unsupported_dataclasses_raise_type_error_naming_the_field(cls: type, message: str) -> None:
    """A dataclass the builder cannot handle raises TypeError naming the class and field."""
    with pytest.raises(TypeError) as caught:
        dataclass_schema(cls)
    assert str(caught.value).startswith(message), str(caught.value)


def test_annotated_items_inside_a_tuple() -> None:
    """Constraints on tuple items (Annotated inside tuple[...]) are enforced per item."""

    @dataclass(frozen=True)
    class Paths:
        paths: Annotated[tuple[Annotated[str, {"pattern": "^/"}], ...], {"minItems": 1}] = ("/",)

    s = dataclass_schema(Paths)
    evaluation = s.evaluate(s.parse('{"globalConfig": {"paths": ["/a", "b"]}}'), {})
    assert [e.path for e in evaluation.errors] == ["globalConfig.paths[1]"]
    assert s.evaluate(s.parse('{"globalConfig": {"paths": []}}'), {}).errors[0].message == (
        "must have at least 1 item (minItems)"
    )
