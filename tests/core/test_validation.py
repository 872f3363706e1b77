"""Validation errors in plain words: one translation per pydantic error type, for every model."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync_incident.core.events import StepUpdated
from sync_incident.core.validation import Plain, plain


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: float = 5
    count: int = 1
    enabled: bool = True
    name: str = "x"
    required: str
    limit: int = Field(default=1, ge=1)


def first(model: type[BaseModel], **data: Any) -> Plain:
    with pytest.raises(ValidationError) as info:
        model(**data)
    return plain(info.value.errors()[0])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"minutes": "often"}, "'often' is not a number"),
        ({"count": "many"}, "'many' is not a whole number"),
        ({"count": 1.5}, "1.5 is not a whole number"),
        ({"enabled": "maybe"}, "'maybe' is not true or false"),
        ({"name": 5}, "5 is not text"),
        ({"limit": 0}, "must be at least 1"),
        ({"surprise": 1}, "unknown key"),
    ],
)
def test_common_errors_read_as_plain_words(data: dict[str, Any], message: str) -> None:
    said = first(Sample, required="r", **data)
    assert said.message == message
    assert "Input should" not in said.message and "Value error" not in said.message


def test_a_missing_value_is_required() -> None:
    assert first(Sample) == Plain("is required", "give required")


def test_a_choice_lists_what_is_accepted() -> None:
    said = first(StepUpdated, step="4", state="finished")
    assert said == Plain(
        "'finished' is not a valid state (todo, doing, done, blocked)",
        "use one of: todo, doing, done, blocked",
    )


def test_an_unknown_error_type_keeps_its_message_without_pydantic_phrasing() -> None:
    said = plain({"type": "something_new", "loc": ("x",), "msg": "Input should be shiny"})
    assert said.message == "must be shiny"
