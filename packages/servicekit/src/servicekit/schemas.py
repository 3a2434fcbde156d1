"""Base classes for request and response schemas."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    """A request body: unknown fields are rejected, surrounding whitespace trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadModel(BaseModel):
    """A response body, built from ORM rows."""

    model_config = ConfigDict(from_attributes=True)


def merge_patch(patch: InputModel, *, required: frozenset[str] | set[str]) -> dict[str, object]:
    """The fields a JSON merge patch sets; `null` removes a value, refused for required fields."""
    from servicekit.problems import FieldError, ProblemError

    values = patch.model_dump(exclude_unset=True)
    nulled = sorted(k for k, v in values.items() if v is None and k in required)
    if nulled:
        raise ProblemError(
            422,
            "Your request is not valid",
            "Required fields cannot be removed with null.",
            type_="/problems/validation-error",
            errors=[
                FieldError(pointer=f"body.{k}", detail="may not be null", code="required")
                for k in nulled
            ],
        )
    return values
