"""Output formats: one small registry per kind of report.

A renderer module makes `FORMATS = Formats[...]("what")` and registers each function with
`@FORMATS.register("name")`; the command's `--format` choices come from the registry (the first
registered is the default), so adding a format is registering one function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

R = TypeVar("R", bound=Callable[..., str])
# A renderer may take more (optional) arguments than its registry's type says.
G = TypeVar("G", bound=Callable[..., str])


class Formats(Generic[R]):
    """Renderers of one kind of report by format name, in the order registered."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._renderers: dict[str, R] = {}

    def register(self, name: str) -> Callable[[G], G]:
        def add(fn: G) -> G:
            if name in self._renderers:
                raise ValueError(f"the {self.what} format {name!r} is registered twice")
            self._renderers[name] = cast(R, fn)
            return fn

        return add

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._renderers)

    def __getitem__(self, name: str) -> R:
        return self._renderers[name]

    def __contains__(self, name: object) -> bool:
        return name in self._renderers


def registered(module: str, attr: str = "FORMATS") -> Formats[Any]:
    """The registry `attr` of `module`, imported only when its choices are needed."""
    from importlib import import_module

    formats: Formats[Any] = getattr(import_module(module), attr)
    return formats
