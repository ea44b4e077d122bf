"""The layer merge, compiled per ``Spec``: ``merger(spec)`` and ``cleaner(spec)``.

``merger(spec)(base, layer, skip)`` lays the object ``layer`` over the object ``base``: a key
both hold as objects merges key by key at every depth; anything else (a scalar, an array,
``null``, an object over a non-object) replaces what was there. The key ``skip`` of ``layer``
(an override's selector, which no config may have as a property) is left out, and so is
every key the schema does not know where it does not say whether other keys are allowed
(``additionalProperties`` absent): those were warned about while parsing. Under
``additionalProperties: true`` values merge without any filtering.

``cleaner(spec)(value)`` is ``value`` without the keys the schema does not know, at any depth;
a copy only where something is left out (otherwise ``value`` itself). It is called only for an
object or an array: a scalar is never cleaned.

Nothing here mutates its arguments: a merge shares the unchanged subtrees of ``base`` and
``layer`` and builds new objects only where it merged.

The merge is one generated function (``codegen``) per ``Spec``, with the objects of the first
``_INLINE_DEPTH`` levels merged inline and deeper ones by a call to their own merge; the clean
is a closure per ``Spec`` holding a plain ``dict`` of its properties' closures. Both are built
once per ``Spec`` and kept on it (a benign race, as in ``nodeconf.model.generic.compiled``).

Thread-safety: the functions are pure; safe from any thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from nodeconf.model.generic.codegen import Source, Writer
from nodeconf.model.generic.spec import Spec, compiled

__all__ = ["Clean", "Merge", "cleaner", "merger", "plain_merge"]

#: ``(base, layer, skip)`` -> the merged object (both arguments objects).
Merge = Callable[[dict[str, Any], Mapping[str, Any], "str | None"], dict[str, Any]]
#: A value (an object or an array) -> that value without unknown keys.
Clean = Callable[[Any], Any]
#: One property's (merge, clean); ``clean`` is ``None`` where nothing is ever left out.
_Sub = tuple[Merge, "Clean | None"]


def _keep_base(base: dict[str, Any], layer: Mapping[str, Any], skip: str | None) -> dict[str, Any]:
    """The merge of a spec that knows no key and allows no other: the layer adds nothing."""
    return dict(base)


def plain_merge(base: dict[str, Any], layer: Mapping[str, Any], skip: str | None) -> dict[str, Any]:
    """The merge where the schema says nothing: every key kept, objects merged at any depth."""
    out = dict(base)
    for key, value in layer.items():
        if key == skip:
            continue
        old = out.get(key)
        out[key] = (
            plain_merge(old, value, None) if type(old) is dict and type(value) is dict else value
        )
    return out


_PLAIN: Final[_Sub] = (plain_merge, None)


def merger(spec: Spec) -> Merge:
    """The merge closure of ``spec`` (compiled once, kept on the spec)."""
    result: Merge = compiled(spec, "compiled_merge", _compile_merge)
    return result


def cleaner(spec: Spec) -> Clean:
    """The clean closure of ``spec`` (compiled once, kept on the spec)."""
    result: Clean = compiled(spec, "compiled_clean", _compile_clean)
    return result


def _sub(spec: Spec) -> _Sub:
    return merger(spec), cleaner(spec)


def _compile_merge(spec: Spec) -> Merge:
    if not spec.properties and not isinstance(spec.additional, Spec):
        # No key of its own (a scalar's spec, met only by a value of the wrong type): every
        # key is left out, or, where other keys are allowed, merged as they are.
        return _keep_base if spec.additional is None else plain_merge
    src = Source("merge")
    _MergeWriter(src).merge(spec, "base", "layer", skip="skip", out="out", depth=0)
    src.line("return out")
    fn: Merge = src.function("merge(base, layer, skip)")
    return fn


#: Levels of objects merged inline below the root; a deeper one is a call to its own merge.
_INLINE_DEPTH: Final = 4
#: Object properties of one object merged inline; an object with more calls their merges.
_INLINE_OBJECTS: Final = 8


class _MergeWriter(Writer):
    """Writes the statements of one merge (see the module docstring for what a merge does)."""

    __slots__ = ()

    def merge(
        self, spec: Spec, base: str, layer: str, *, skip: str | None, out: str, depth: int
    ) -> None:
        """Set ``out`` to the object ``layer`` laid over the object ``base`` (``skip``: the
        name of the key left out of ``layer`` unless it is a property; ``None``: none)."""
        src, c = self.src, self.src.const
        properties = spec.properties
        additional = spec.additional
        extra: _Sub | None = (
            None
            if additional is None
            else _sub(additional)
            if isinstance(additional, Spec)
            else _PLAIN
        )
        inline = {k: v for k, v in properties.items() if v.properties and depth < _INLINE_DEPTH}
        if len(inline) > _INLINE_OBJECTS or not src.roomy():
            inline = {}  # wide or already big: every property by its own merge
        called = {k: _sub(v) for k, v in properties.items() if k not in inline}
        known = c(frozenset(properties))
        key, value, kind = src.var(), src.var(), src.var()
        src.line(f"{out} = dict({base})")
        with src.block(f"for {key}, {value} in {layer}.items():"):
            src.line(f"{kind} = type({value})")
            with src.block(f"if {kind} is dict or {kind} is list:"):
                for name, sub in inline.items():
                    with src.block(f"if {key} == {c(name)}:"):
                        with src.block(f"if {kind} is dict:"):
                            old = src.var()
                            src.line(f"{old} = {out}.get({key})")  # missing: None, not an object
                            with src.block(f"if type({old}) is dict:"):
                                merged = src.var()
                                self.merge(sub, old, value, skip=None, out=merged, depth=depth + 1)
                                src.line(f"{out}[{key}] = {merged}")
                                src.line("continue")
                        src.line(f"{out}[{key}] = {c(cleaner(sub))}({value})")
                        src.line("continue")
                found = src.var()
                src.line(f"{found} = {c(called.get)}({key})")
                with src.block(f"if {found} is None:"):
                    if extra is None:
                        src.line("continue")  # unknown: warned about while parsing, left out
                    else:
                        if skip is not None:
                            src.line(f"if {key} == {skip}: continue")
                        src.line(f"{found} = {c(extra)}")
                with src.block(f"if {kind} is dict:"):
                    old = src.var()
                    src.line(f"{old} = {out}.get({key})")  # missing: None, not an object
                    with src.block(f"if type({old}) is dict:"):
                        src.line(f"{out}[{key}] = {found}[0]({old}, {value}, None)")
                        src.line("continue")
                clean = src.var()
                src.line(f"{clean} = {found}[1]")
                src.line(f"{out}[{key}] = {value} if {clean} is None else {clean}({value})")
            if extra is None:
                keep = f"{key} in {known}"
            elif skip is not None:
                keep = f"{key} != {skip} or {key} in {known}"
            else:
                keep = "True"
            with src.block(f"elif {keep}:"):
                src.line(f"{out}[{key}] = {value}")


def _compile_clean(spec: Spec) -> Clean:
    subs = {k: cleaner(v) for k, v in spec.properties.items()}
    additional = spec.additional
    drops = additional is None  # unknown keys are left out
    child = cleaner(additional) if isinstance(additional, Spec) else None
    items = cleaner(spec.items) if spec.items is not None else None

    def clean(value: Any) -> Any:
        if type(value) is dict:
            if drops and not value.keys() <= subs.keys():
                return {k: _cleaned(subs[k], v) for k, v in value.items() if k in subs}
            changed = False
            out: dict[str, Any] = {}
            get = subs.get
            for k, v in value.items():
                sub = get(k, child)
                new = v if sub is None else _cleaned(sub, v)
                changed = changed or new is not v
                out[k] = new
            return out if changed else value
        if type(value) is list and items is not None:
            new_list = [_cleaned(items, v) for v in value]
            if any(a is not b for a, b in zip(new_list, value, strict=True)):
                return new_list
        return value

    return clean


def _cleaned(clean: Clean, value: object) -> object:
    """``clean(value)`` for an object or an array; a scalar as it is."""
    return clean(value) if type(value) is dict or type(value) is list else value
