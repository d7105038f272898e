"""How queues turn payloads and errors into text: strict JSON in, a readable error out.

A job or an event crosses processes as JSON, so what a worker receives must be exactly
what the producer sent. ``to_json`` refuses anything JSON would change on the way
(integer dict keys come back as strings, tuples as lists) with a ValueError that says why,
instead of letting a handler meet a different payload later. ``describe_error`` turns any
exception into a line of text, even one whose ``__str__`` raises.
"""

from __future__ import annotations

import json
from typing import Any


def to_json(value: Any, what: str = "a job payload") -> str:
    """``value`` as canonical JSON (sorted keys), or a ValueError if it would not come back unchanged."""
    _check_keys(value, what, "")
    try:
        body = json.dumps(value, sort_keys=True, allow_nan=False)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply to be sent as JSON") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON-serialisable ({exc})") from None
    if json.loads(body) != value:
        raise ValueError(
            f"{what} would not come back unchanged from JSON (tuples come back as lists): "
            "send plain dicts with string keys, lists, strings, numbers, booleans and None"
        )
    return body


def _check_keys(value: Any, what: str, path: str, depth: int = 0) -> None:
    if depth > 500:
        raise ValueError(f"{what} is nested too deeply to be sent as JSON")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(
                    f"{what} has the non-string key {_safe_repr(key)} at {path or 'the top level'}: "
                    "JSON object keys are strings, so it would not come back as it was sent"
                )
            _check_keys(item, what, f"{path}[{key!r}]", depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_keys(item, what, f"{path}[{index}]", depth + 1)


def safe_text(text: str, limit: int = 500) -> str:
    """``text`` cut to ``limit`` characters, with anything UTF-8 cannot encode (lone surrogates)
    escaped, so it can always be stored in Redis."""
    return text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


def describe_error(exc: BaseException) -> str:
    """``"Type: message"`` for an exception, and never an exception itself: a message that
    cannot be read falls back to its repr, then to the type name alone."""
    try:
        name = str(type(exc).__name__)
    except Exception:
        name = "Exception"
    for render in (str, repr):
        try:
            text = render(exc)
        except Exception:
            continue
        if isinstance(text, str):
            return f"{name}: {text}" if text else name
    return f"{name} (its message could not be read)"


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"of type {type(value).__name__}"
