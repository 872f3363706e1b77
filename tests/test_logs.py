"""Log lines: structlog's processors render them; our redaction processor scrubs every field."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from sync_incident.logs import configure_logging

SECRET = "tok-0123456789"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out


def _log(fmt: str, stream: io.StringIO) -> list[str]:
    handler = configure_logging(fmt, [SECRET], stream=stream)
    log = logging.getLogger("sync_incident.daemon")
    try:
        log.warning(
            "failed with %s",
            SECRET,
            extra={"event": "poll", "error": f"url?key={SECRET}", "refs": [f"a {SECRET}"]},
        )
        try:
            raise ValueError(f"bad {SECRET}")
        except ValueError:
            log.exception("cycle failed", extra={"event": "cycle"})
    finally:
        logging.getLogger("sync_incident").removeHandler(handler)
    return stream.getvalue().splitlines()


def test_json_lines_carry_time_level_logger_message_and_every_extra_field(
    stream: io.StringIO,
) -> None:
    first, second = (json.loads(line) for line in _log("json", stream))
    assert list(first)[:4] == ["time", "level", "logger", "message"]
    assert first["level"] == "warning" and first["logger"] == "sync_incident.daemon"
    assert first["time"].endswith("Z") and first["time"][:2] == "20"
    assert first["event"] == "poll"  # our field, not structlog's name for the message
    assert first["message"] == "failed with [REDACTED]"
    assert first["error"] == "url?key=[REDACTED]"
    assert first["refs"] == ["a [REDACTED]"]
    assert second["error"] == "ValueError: bad [REDACTED]"  # one line, no traceback
    assert "Traceback" not in stream.getvalue()


def test_text_lines_are_one_line_each_with_the_fields(stream: io.StringIO) -> None:
    lines = _log("text", stream)
    assert len(lines) == 2
    assert "[warning" in lines[0] and "failed with [REDACTED]" in lines[0]
    assert "event=poll" in lines[0] and "error='url?key=[REDACTED]'" in lines[0]
    assert "error='ValueError: bad [REDACTED]'" in lines[1]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_no_secret_reaches_a_log_line(fmt: str, stream: io.StringIO) -> None:
    _log(fmt, stream)
    assert SECRET not in stream.getvalue()
