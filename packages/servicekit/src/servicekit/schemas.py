"""Base classes for request and response schemas."""

from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    FutureDate,
    FutureDatetime,
    NaiveDatetime,
    PastDate,
    PastDatetime,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from servicekit.problems import field_errors, validation_problem

# PostgreSQL text cannot hold U+0000: refused as input (a 422 on both backends), never left to
# fail at the database as a 500.
NO_NUL = r"^[^\x00]*$"
# A free-text query filter (`?reference=...`); documents the rule in OpenAPI.
FilterText = Annotated[str, StringConstraints(pattern=NO_NUL)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    # Nested InputModels check their own fields.
    return False


# Pydantic reads a number, or a string of digits, as a Unix timestamp where a date or date-time
# is due; the document promises ISO 8601 (`format: date`, `date-time`), so only that is taken.
_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


_PYDANTIC_TEMPORAL = (
    AwareDatetime,
    NaiveDatetime,
    PastDate,
    FutureDate,
    PastDatetime,
    FutureDatetime,
)


def _kinds(annotation: Any) -> Iterator[Any]:
    """The types `annotation` allows (through Optional, unions and Annotated)."""
    if get_origin(annotation) in (Union, types.UnionType, Annotated):
        args = get_args(annotation)
        for arg in args[:1] if get_origin(annotation) is Annotated else args:
            yield from _kinds(arg)
    else:
        yield annotation


def is_temporal(annotation: Any) -> bool:
    """Whether `annotation` is a date or date-time (optional or annotated ones included)."""
    return any(
        k in _PYDANTIC_TEMPORAL or (isinstance(k, type) and issubclass(k, dt.date))
        for k in _kinds(annotation)
    )


def _is_int(annotation: Any) -> bool:
    return any(k is int for k in _kinds(annotation))


def iso_only(value: Any) -> Any:
    """Refuse a number (or a numeral in a string) given for a date or date-time."""
    if isinstance(value, bool | int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value)
    ):
        raise ValueError("must be an ISO 8601 date or date-time, not a number")
    return value


class InputModel(BaseModel):
    """A request body: unknown fields are rejected, surrounding whitespace trimmed, no text in it
    may contain a NUL character, dates are ISO 8601 (never a number read as a timestamp), and an
    integer is a JSON number (never `false` or "5")."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        # JSON has its own types; pydantic's lax mode would read `false` or "5" as an integer.
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        if is_temporal(field.annotation):
            return iso_only(value)
        if _is_int(field.annotation) and isinstance(value, bool | str):
            raise ValueError("must be an integer")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("text may not contain NUL characters (U+0000)")
        return value


class ReadModel(BaseModel):
    """A response body, built from ORM rows."""

    model_config = ConfigDict(from_attributes=True)


def merge_patch(patch: InputModel, *, required: frozenset[str] | set[str]) -> dict[str, object]:
    """The fields a JSON merge patch sets; `null` removes a value, refused for required fields."""
    values = patch.model_dump(exclude_unset=True)
    nulled = sorted(k for k, v in values.items() if v is None and k in required)
    if nulled:
        raise validation_problem(
            field_errors((k, "may not be null", "required") for k in nulled),
            "Required fields cannot be removed with null.",
        )
    return values
