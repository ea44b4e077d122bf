"""The compiled dataclass constructor builds what ``build(..., checked=True)`` builds."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, make_dataclass
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodeconf.model.generic.check import defaults_of
from nodeconf.model.generic.construct import constructor
from nodeconf.model.generic.fromdataclass import build, compile_dataclass
from nodeconf.model.generic.merge import plain_merge


class Mode(enum.Enum):
    ECO = "eco"
    MAX = "max"


@dataclass(frozen=True)
class Inner:
    mode: Mode = Mode.ECO
    modes: tuple[Mode, ...] = ()
    watts: int = 1


@dataclass(frozen=True)
class Outer:
    inner: Inner = Inner()
    maybe: Inner | None = None
    share: float = 1.0
    names: tuple[str, ...] = ()
    kind: Literal["a", "b"] = "a"
    label: str | None = None

    def __post_init__(self) -> None:
        if self.share == 13:
            raise ValueError("unlucky share")


SCALARS = st.one_of(
    st.sampled_from(["eco", "max", "nope", "a", None, True]),
    st.integers(-2, 13),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just([1]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["inner", "maybe", "mode", "modes", "watts", "share", "names", "kind", "label"]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def _outcome(make: Any) -> tuple[str, object]:
    try:
        return "built", make()
    except (ValueError, TypeError) as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_constructor_agrees_with_build(value: Any) -> None:
    """Any JSON value gives an equal instance (or the same refusal) either way."""
    _, shape = compile_dataclass(Outer)
    construct = constructor(shape)
    assert _outcome(lambda: construct(value)) == _outcome(lambda: build(shape, value, checked=True))


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_values_that_share_the_defaults_objects_are_built_alike(layer: Any) -> None:
    """A value laid over the defaults (sharing their objects, as a merge does) gives an equal
    instance with the defaults' conversions made once, and the same refusal."""
    spec, shape = compile_dataclass(Outer)
    defaults = defaults_of(spec)
    value = plain_merge(defaults, layer, None) if type(layer) is dict else layer
    construct = constructor(shape, defaults)
    assert _outcome(lambda: construct(value)) == _outcome(lambda: build(shape, value, checked=True))
    assert _outcome(lambda: construct(defaults)) == ("built", Outer())


def test_a_full_config_is_built_with_its_types() -> None:
    """Nested dataclasses, enums, tuples, floats and optionals come out typed."""
    _, shape = compile_dataclass(Outer)
    built = constructor(shape)(
        {"inner": {"mode": "max", "modes": ["eco"]}, "maybe": None, "share": 1, "names": ["x"]}
    )
    assert built == Outer(Inner(Mode.MAX, (Mode.ECO,)), None, 1.0, ("x",))
    assert type(built.share) is float


@dataclass(frozen=True, kw_only=True)
class KeywordsOnly:
    watts: int = 1
    mode: Mode = Mode.ECO


@dataclass(frozen=True)
class Required:
    name: str
    limit: int = 3


@pytest.mark.parametrize(
    ("cls", "value"),
    [
        (KeywordsOnly, {"watts": 2, "mode": "max"}),
        (KeywordsOnly, {"mode": "max"}),
        (Required, {"name": "a", "limit": 4}),
        (Required, {"limit": 4}),
        (Required, {"name": "a"}),
    ],
)
def test_keyword_only_fields_and_missing_fields_are_built_as_build_does(
    cls: type, value: dict[str, Any]
) -> None:
    """Every field given is passed by position unless the dataclass takes keywords only; a
    field not given is left to the dataclass (its default, or its refusal)."""
    _, shape = compile_dataclass(cls)
    for defaults in (None, {"watts": 1, "mode": "eco", "limit": 3}):
        construct = constructor(shape) if defaults is None else constructor(shape, defaults)
        assert _outcome(lambda c=construct: c(value)) == _outcome(
            lambda: build(shape, value, checked=True)
        )


def test_dataclasses_deeper_than_the_inline_depth_are_built() -> None:
    """Nested dataclasses below the depth built inline are built by a call, to any depth."""
    level: Any = make_dataclass("Leaf", [("watts", int, field(default=1))], frozen=True)
    for depth in range(8):
        level = make_dataclass(
            f"Level{depth}", [("down", level, field(default_factory=level))], frozen=True
        )
    shape = compile_dataclass(level)[1]
    value: Any = {"watts": 7}
    for _ in range(8):
        value = {"down": value}
    built = constructor(shape)(value)
    assert built == build(shape, value, checked=True)
    for _ in range(8):
        built = built.down
    assert built.watts == 7
