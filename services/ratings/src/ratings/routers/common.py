"""What several of the ratings routers share: the documented problems of a merge-patch update."""

from __future__ import annotations

from servicekit.problems import problem_responses

PATCH_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428)
