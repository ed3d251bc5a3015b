"""A record's fields read from a JSON object and written back, by their type hints.

A record is a frozen, keyword-only dataclass deriving from :class:`JsonRecord`, its fields
typed with ``int``, ``float`` (a JSON number: an int or a float, kept as written), ``str``,
``bool``, ``X | None`` (null allowed), ``dict[str, X]``, ``tuple[X, ...]`` (a JSON list),
another record (a JSON object), or ``Any`` (kept as recorded, unchecked). A field without a
default is required, and a required number may not be NaN. Keys that no field names are
ignored, so a newer writer's file still reads.

Two field options give the dict the shape its writer spreads into it:
``field(metadata=FLAT)``, a nested record whose keys sit at the record's own top level, and
``field(metadata=prefixed("rank_seconds_"))``, a ``dict[str, X]`` written as one key per
item (``rank_seconds_all``). ``field(metadata=OMIT_NONE)`` leaves a None value out.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from typing import Any, ClassVar, Self

from harness.errors import UserError

FLAT = {"flat": True}
OMIT_NONE = {"omit_none": True}


def prefixed(prefix: str) -> dict[str, str]:
    """Field metadata: a ``dict[str, X]`` written as ``{prefix + name: value}`` keys."""
    return {"prefix": prefix}


_DESCRIPTIONS = {float: "a number", int: "an integer", str: "a string", bool: "true or false",
                 dict: "an object", tuple: "a list"}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fail(where: str, label: str, hint: Any, value: object, nullable: bool) -> UserError:
    kind = typing.get_origin(hint) or hint
    description = _DESCRIPTIONS.get(kind, "an object")
    return UserError(f"{where}: {label} must be {description}{' or null' if nullable else ''}"
                     f", got {value!r:.40}")


def _value(value: object, hint: Any, where: str, label: str, required: bool) -> object:
    """``value`` checked against ``hint`` (nested records built); UserError if it fails."""
    if hint is Any:
        return value
    nullable = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        nullable = True
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, type) and issubclass(hint, JsonRecord):
        if not isinstance(value, dict):
            raise _fail(where, label, dict, value, nullable)
        return hint.from_dict(value, where, label)
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(where, label, dict, value, nullable)
        return {str(key): _value(item, args[1], where, f"{label}[{key!r}]", False)
                for key, item in value.items()}
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _fail(where, label, tuple, value, nullable)
        return tuple(_value(item, args[0], where, f"{label}[{index}]", False)
                     for index, item in enumerate(value))
    accepted = (int, float) if hint is float else hint
    if isinstance(value, bool) is not (hint is bool) or not isinstance(value, accepted):
        raise _fail(where, label, hint, value, nullable)
    if required and hint is float and math.isnan(value):
        raise _fail(where, label, hint, value, nullable)
    return value


def _json(value: object) -> object:
    if isinstance(value, JsonRecord):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    return value


class JsonRecord:
    """The base of every record: ``to_dict`` and ``from_dict`` by the fields' type hints.

    Attributes:
        KIND: the ``kind`` the record's dict carries first (None for a record nested in
            another, which carries none).
    """

    KIND: ClassVar[str | None] = None

    def to_dict(self) -> dict:
        """The JSON object a writer records: ``kind`` first, then the fields in order."""
        out: dict[str, object] = {} if self.KIND is None else {"kind": self.KIND}
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if spec.metadata.get("flat"):
                out.update(value.to_dict())
            elif "prefix" in spec.metadata:
                out.update({spec.metadata["prefix"] + key: _json(item)
                            for key, item in value.items()})
            elif not (value is None and spec.metadata.get("omit_none")):
                out[spec.name] = _json(value)
        return out

    @classmethod
    def from_dict(cls, data: object, where: str, path: str = "extra_info") -> Self:
        """The record ``data`` holds, checked field by field.

        Args:
            data: the JSON object (an entry's ``extra_info``).
            where: the file and entry, for the error (``"run.json: benchmarks[3] (name)"``).
            path: where ``data`` sits in the entry, for the error.

        Raises:
            UserError: ``data`` is not an object, carries another kind, lacks a required
                field, or a field has the wrong type; one line naming ``where`` and the
                field.
        """
        if not isinstance(data, dict):
            raise UserError(f"{where}: {path} must be an object, got {type(data).__name__}")
        if cls.KIND is not None and data.get("kind") != cls.KIND:
            raise UserError(f"{where}: {path}.kind must be {cls.KIND!r}, "
                            f"got {data.get('kind')!r:.40}")
        values = {}
        for spec in dataclasses.fields(cls):
            hint = _hints(cls)[spec.name]
            required = (spec.default is dataclasses.MISSING
                        and spec.default_factory is dataclasses.MISSING)
            if spec.metadata.get("flat"):
                values[spec.name] = hint.from_dict(data, where, path)
            elif "prefix" in spec.metadata:
                prefix, item_hint = spec.metadata["prefix"], typing.get_args(hint)[1]
                values[spec.name] = {
                    key.removeprefix(prefix): _value(item, item_hint, where, f"{path}.{key}",
                                                     False)
                    for key, item in data.items() if key.startswith(prefix)}
            elif spec.name in data:
                values[spec.name] = _value(data[spec.name], hint, where,
                                           f"{path}.{spec.name}", required)
            elif required:
                raise UserError(f"{where}: {path} has no {spec.name!r}")
        return cls(**values)


__all__ = ["FLAT", "OMIT_NONE", "JsonRecord", "prefixed"]
