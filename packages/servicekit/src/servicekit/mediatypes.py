"""The media types the suite speaks, named once."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
# RFC 7396: every PATCH body is a JSON merge patch.
MERGE_PATCH = "application/merge-patch+json"
# RFC 9457: every error body.
PROBLEM = "application/problem+json"
CSV = "text/csv"
# RFC 7578: file uploads.
FORM_DATA = "multipart/form-data"

# `openapi_extra` of a PATCH route: the merge-patch media type documented beside JSON.
MERGE_PATCH_BODY: dict[str, Any] = {"requestBody": {"content": {MERGE_PATCH: {"schema": {}}}}}
