"""What several of the ratings routers share: a merge-patch update's problems, `?version=`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from servicekit.problems import problem_responses

PATCH_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428)

# `?version=`: an earlier published version of an evaluation, as readers saw it (corrections).
VersionQuery = Annotated[
    int | None,
    Query(ge=1, le=10_000, description="A published version; the current one if unset."),
]
