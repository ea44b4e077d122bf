"""Python source written per schema and compiled once: the builder the generated paths share.

A quick path that walks a schema node by node pays a Python call per node; written out as one
function for the whole schema it pays one. ``Source`` writes such a function:

* the text holds only names the builder made (``c3`` for a constant, ``v2`` for a value) and
  Python keywords and operators; every value that comes from a schema (a key, a bound, a compiled
  pattern, a set of enum values, a default) is handed to the function as a constant in its
  namespace and is never written into the text, so no schema can change what the code does;
* ``function`` compiles the text once and returns the function; its text stays readable as the
  function's ``source`` attribute (for a test or a debugger).

Thread-safety: a ``Source`` is used by the one call that builds a function; the function it
returns is as thread-safe as the constants it reads (the callers' are immutable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Source"]

_INDENT = "    "


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
        exec(compile(text, f"<nodeconf {self._what}>", "exec"), self.namespace)  # noqa: S102 - our own text, see the module docstring
        fn: Callable[..., Any] = self.namespace.pop(name)
        fn.source = text  # type: ignore[attr-defined]
        return fn
