"""Validation errors in words people use: pydantic's error types, translated once.

pydantic says "Input should be 'todo', 'doing', 'done' or 'blocked'" and "Input should be a
valid number, unable to parse string as a number". People read "'finished' is not a valid
state (todo, doing, done, blocked)" and "'often' is not a number", with a hint saying what to
write instead. :func:`plain` translates one error by its type, for every model: command-line
options (``intents.build``), the configuration and policy files, and trailers read from
comments. Where the error is (``--state``, ``[bugzilla] poll_minutes``) is for the caller to
say: each names places the way its readers know them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sync_incident.core.secrets import MASK, looks_like_credential

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
# error type -> (what is wrong, after the value; what to write instead)
_WRONG_TYPE: dict[str, tuple[str, str]] = {
    **dict.fromkeys(
        ("float_parsing", "float_type", "decimal_parsing", "decimal_type"),
        ("is not a number", "write a number, such as 5"),
    ),
    **dict.fromkeys(
        ("int_parsing", "int_type", "int_from_float", "int_parsing_size"),
        ("is not a whole number", "write a whole number, such as 5"),
    ),
    **dict.fromkeys(("bool_parsing", "bool_type"), ("is not true or false", "write true or false")),
    "string_type": ("is not text", "write it in quotes"),
    **dict.fromkeys(
        ("list_type", "tuple_type", "set_type"),
        ("is not a list", 'write a list, such as ["a", "b"]'),
    ),
    **dict.fromkeys(
        ("dict_type", "model_type", "model_attributes_type"),
        ("is not a table of keys", "write it as a [section] of keys"),
    ),
    **dict.fromkeys(
        ("url_parsing", "url_scheme", "url_type", "url_syntax_violation"),
        ("is not a URL", "write a full URL, such as https://host/"),
    ),
    **dict.fromkeys(
        (
            "datetime_parsing",
            "datetime_type",
            "datetime_from_date_parsing",
            "datetime_object_invalid",
        ),
        ("is not a date and time", "write ISO 8601, such as 2022-01-12T14:03Z"),
    ),
}
_BOUNDS = {
    "greater_than": ("gt", "must be more than {}"),
    "greater_than_equal": ("ge", "must be at least {}"),
    "less_than": ("lt", "must be less than {}"),
    "less_than_equal": ("le", "must be at most {}"),
}


@dataclass(frozen=True)
class Plain:
    """One validation error: the message (after where it is) and what to write instead."""

    message: str
    hint: str = ""


def shown(value: object, limit: int = 40) -> str:
    """A value as the person typed it: quoted text, ``true``/``false``, numbers as they are;
    text shaped like an API key or a token is masked (:mod:`~sync_incident.core.secrets`)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str) and looks_like_credential(value):
        text = MASK  # a key put in the wrong place is not echoed back
    elif isinstance(value, str):
        text = repr(value if len(value) <= limit else value[: limit - 1] + "…")
    elif value is None:
        text = "nothing"
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = f"a {type(value).__name__}"  # a table or a list where a value belongs
    return text


def field_name(loc: Sequence[str | int]) -> str:
    """The field an error is about, in words: ``("next_steps", 0, "by")`` → ``by``."""
    names = [part for part in loc if isinstance(part, str)]
    return names[-1].replace("_", " ") if names else ""


def plain(error: Mapping[str, Any]) -> Plain:
    """One pydantic error (an item of ``ValidationError.errors()``) in plain words."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    field = field_name(error.get("loc", ()))
    if kind in ("literal_error", "enum") and (choice := _choices(ctx, value, field)):
        return choice
    if kind in _WRONG_TYPE:
        wrong, hint = _WRONG_TYPE[kind]
        return Plain(f"{shown(value)} {wrong}", hint)
    if kind == "missing":
        return Plain("is required", f"give {field}" if field else "")
    if kind == "extra_forbidden":
        return Plain("unknown key", "check its spelling and its section")
    if kind in _BOUNDS or kind.endswith(("too_short", "too_long")):
        return _size(kind, ctx)
    message = str(error.get("msg", "is not valid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return Plain(message.replace("Input should be ", "must be "))


def _choices(ctx: Mapping[str, Any], value: object, field: str) -> Plain | None:
    choices = _QUOTED.findall(str(ctx.get("expected", "")))
    if not choices:
        return None
    listed = ", ".join(choices)
    what = f"a valid {field}" if field else "one of"
    return Plain(f"{shown(value)} is not {what} ({listed})", f"use one of: {listed}")


def _size(kind: str, ctx: Mapping[str, Any]) -> Plain:
    """Bounds on numbers, lengths of text and of lists."""
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        limit = ctx.get(key, "the limit")
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return Plain(words.format(limit))
    unit = "characters" if kind.startswith("string_") else "items"
    if kind.endswith("too_short"):
        least = ctx.get("min_length", 1)
        return Plain("must not be empty" if least == 1 else f"needs at least {least} {unit}")
    return Plain(f"may have at most {ctx.get('max_length', '?')} {unit}")
