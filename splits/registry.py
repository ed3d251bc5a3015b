"""A name -> value registry whose unknown names fail with the list of valid ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class SplitError(ValueError):
    """An impossible split request: bad test fraction, empty side, mismatched arrays."""


class UnknownNameError(KeyError):
    """A registry lookup with a name that is not registered."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would repr() the message otherwise.
        return self.args[0]


class Registry(Generic[T]):
    """An ordered, read-mostly mapping from names to registered values.

    Args:
        kind: what the values are ("split", "feature configuration"), used in errors.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, value: T) -> T:
        if not name or "-" in name:
            # Cell keys join names with "-" ("<split>-<config>-<fit_on>-s<seed>").
            raise ValueError(f"{self.kind} name {name!r} must be non-empty without '-'")
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = value
        return value

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._items) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return list(self._items)

    def resolve(self, names: Iterable[str]) -> list[str]:
        """Checks every name, failing on the first unknown one; returns them as a list."""
        names = list(names)
        for name in names:
            self[name]
        return names
