"""Python source written per schema and compiled once: the builder the generated paths share.

A quick path that walks a schema node by node pays a Python call per node; written out as one
function for the whole schema it pays one. ``Source`` writes such a function:

* the text holds only names the builder made (``c3`` for a constant, ``v2`` for a value) and
  Python keywords and operators; every value that comes from a schema (a key, a bound, a compiled
  pattern, a set of enum values, a default) is handed to the function as a constant in its
  namespace and is never written into the text, so no schema can change what the code does;
* ``function`` compiles the text (once per distinct text: the forms of schema nodes repeat)
  and returns the function; its text stays readable as the function's ``source`` attribute
  (for a test or a debugger).

Thread-safety: a ``Source`` is used by the one call that builds a function; the function it
returns is as thread-safe as the constants it reads (the callers' are immutable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType
from typing import Any, Final

__all__ = ["Source", "Writer"]

_INDENT = "    "
#: Compiled texts: schema nodes of the same form (every integer property with a minimum, say)
#: write the same text with other constants, so a schema of thousands of properties compiles a
#: few texts, not thousands. A code object is immutable and a pure function of its text; the
#: table is bounded (emptied when full) and a race only compiles a text twice.
_COMPILED: dict[str, CodeType] = {}
_COMPILED_LIMIT: Final = 256
#: Statements a generated function may reach before its writers stop inlining.
_BUDGET: Final = 400


class Source:
    """The text and the constants of one generated function (see the module docstring)."""

    __slots__ = ("_depth", "_lines", "_names", "_vars", "_what", "namespace")

    def __init__(self, what: str) -> None:
        self._what = what
        self._lines: list[str] = []
        self._depth = 1
        self._names: dict[int, str] = {}
        self._vars = 0
        #: The function's globals: the constants, by the names ``const`` gave them.
        self.namespace: dict[str, Any] = {}

    def const(self, value: object) -> str:
        """The name under which the function reads ``value`` (one name per object)."""
        name = self._names.get(id(value))
        if name is None:
            name = self._names[id(value)] = f"c{len(self._names)}"
            self.namespace[name] = value  # also keeps the object alive, so its id stays its own
        return name

    def var(self) -> str:
        """A new local name."""
        self._vars += 1
        return f"v{self._vars}"

    def line(self, text: str) -> None:
        """One statement at the current indentation."""
        self._lines.append(_INDENT * self._depth + text)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """``header`` (``if ...:``, ``for ...:``), then the statements written inside."""
        self.line(header)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def roomy(self) -> bool:
        """Whether the function is still small enough to write more inline: past ``_BUDGET``
        statements, writers call the functions of the nodes below instead (a wide or deep
        schema would otherwise make one function too big to compile quickly)."""
        return len(self._lines) < _BUDGET

    def mark(self) -> int:
        """A position to ``wrote_since`` or ``cut`` back to."""
        return len(self._lines)

    def wrote_since(self, mark: int) -> bool:
        """Whether a statement was written after ``mark``."""
        return len(self._lines) > mark

    def cut(self, mark: int) -> None:
        """Forget the statements written after ``mark``."""
        del self._lines[mark:]

    def function(self, signature: str) -> Callable[..., Any]:
        """Compile ``def <signature>:`` with the statements written so far; the function."""
        name = signature.partition("(")[0]
        text = "\n".join([f"def {signature}:", *self._lines, ""])
        code = _COMPILED.get(text)
        if code is None:
            code = compile(text, f"<nodeconf {self._what}>", "exec")
            if len(_COMPILED) >= _COMPILED_LIMIT:
                _COMPILED.clear()
            _COMPILED[text] = code
        exec(code, self.namespace)  # noqa: S102 - our own text, see the module docstring
        fn: Callable[..., Any] = self.namespace.pop(name)
        # A code object of its own: the interpreter keeps its specializations (which globals,
        # which types) in the code object, and functions of one text read other constants.
        fn.__code__ = fn.__code__.replace()
        fn.source = text  # type: ignore[attr-defined]
        return fn


class Writer:
    """The base of the generated paths' writers: each writes into one ``Source``."""

    __slots__ = ("src",)

    def __init__(self, src: Source) -> None:
        self.src = src
