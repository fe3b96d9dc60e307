"""The one JSON encoder of the hot paths (orjson): compact UTF-8 for storage and HTTP, sorted keys where
a canonical form is hashed (idempotency requests, journal chain); and the one decoder of what clients send
(:func:`loads_unique`), which refuses a duplicate key instead of letting the last one silently win."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse

JSONDecodeError = orjson.JSONDecodeError
loads = orjson.loads


class DuplicateKeyError(ValueError):
    """A JSON object names ``key`` twice: the text is ambiguous (parsers disagree on which value counts)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _count_keys(value: Any) -> int:
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return obj


def loads_unique(data: bytes | str) -> Any:
    """Decode a client's JSON; :class:`JSONDecodeError` when malformed, :class:`DuplicateKeyError` when an object
    repeats a key.

    Fast path: every key in the text is followed by a colon, so when the text holds exactly as many colons as
    the decoded value holds keys, no key was repeated. Only otherwise (a colon inside a string, or a real
    duplicate) is the text decoded again, by the standard parser, looking at every object's key list."""
    value = orjson.loads(data)
    colons = data.count(b":") if isinstance(data, bytes) else data.count(":")
    if colons != _count_keys(value):
        try:
            json.loads(data, object_pairs_hook=_unique_pairs)
        except RecursionError:  # deeper than the standard parser goes (orjson allows a little more)
            raise JSONDecodeError("nesting too deep", "", 0) from None
    return value


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces: the same bytes for the same data, whatever the key order."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
