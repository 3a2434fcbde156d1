"""Base classes for request and response schemas."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

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


class InputModel(BaseModel):
    """A request body: unknown fields are rejected, surrounding whitespace trimmed, and no text
    in it may contain a NUL character."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

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
