"""Routers whose JSON operations refuse other media types with 415 instead of a confusing 422."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from servicekit import mediatypes
from servicekit.problems import ProblemError

JSON_MEDIA_TYPES = (mediatypes.JSON, mediatypes.MERGE_PATCH)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_MEDIA_TYPES or (
        media.startswith("application/") and media.endswith("+json")
    )


class JSONRoute(APIRoute):
    """An operation with a JSON body: a body of any other declared type answers 415."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or (
            self.dependant.body_params
            and any(
                getattr(p.field_info, "media_type", "application/json") != "application/json"
                for p in self.dependant.body_params
            )
        ):
            return handler

        async def checked(request: Request) -> Response:
            has_body = request.headers.get("content-length", "0") != "0" or (
                "transfer-encoding" in request.headers
            )
            if has_body and not _is_json(request.headers.get("content-type", "")):
                raise ProblemError(
                    415,
                    "Unsupported Media Type",
                    "Send the body as application/json"
                    + (" or application/merge-patch+json." if request.method == "PATCH" else "."),
                    type_="/problems/unsupported-media-type",
                )
            return await handler(request)

        return checked


def json_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose routes enforce JSON bodies."""
    return APIRouter(route_class=JSONRoute, **kwargs)
