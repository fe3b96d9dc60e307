"""The one JSON encoder of the hot paths (orjson): compact UTF-8 for storage and HTTP, sorted keys where
a canonical form is hashed (idempotency requests, journal chain)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

JSONDecodeError = orjson.JSONDecodeError
loads = orjson.loads


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces: the same bytes for the same data, whatever the key order."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
