"""What several of the commitments routers share: the documented problems of creates and patches."""

from __future__ import annotations

from servicekit.problems import problem_responses

CREATE_ERRORS = problem_responses(400, 401, 403, 409, 413, 415, 422)
# A create under a parent resource (a commitment's link or target): the parent may be unknown.
CHILD_CREATE_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 415, 422)
PATCH_ERRORS = problem_responses(400, 401, 403, 404, 412, 413, 415, 422, 428)
