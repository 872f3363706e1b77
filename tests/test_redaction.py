"""Redaction: known secrets leave every text, URL-encoded forms and httpx's records included."""

from __future__ import annotations

import logging

import pytest

from sync_incident.redaction import RedactingFilter, Redactor, redacting

SECRET = "tok-0123456789"


def test_a_secret_is_replaced_wherever_it_appears() -> None:
    assert Redactor([SECRET])(f"a {SECRET} b {SECRET}") == "a [REDACTED] b [REDACTED]"


def test_short_or_empty_secrets_are_ignored() -> None:
    redact = Redactor(["", None, "abc"])
    assert not redact and redact("abc def") == "abc def"


def test_a_webhook_urls_path_and_query_are_secrets_too() -> None:
    url = "https://hooks.example.org/services/T000/B000/XXXXXXXXXXXX"
    assert Redactor([url])("posting to /services/T000/B000/XXXXXXXXXXXX") == "posting to [REDACTED]"


def test_the_filter_redacts_the_message_and_its_arguments() -> None:
    record = logging.LogRecord("httpx", logging.INFO, "", 0, "GET %s", (f"/x?k={SECRET}",), None)
    assert RedactingFilter([SECRET]).filter(record)
    assert record.getMessage() == "GET /x?k=[REDACTED]"


def test_the_url_encoded_form_of_a_secret_is_redacted_too() -> None:
    redact = Redactor(["a b/c+d=secret"])
    assert redact("x?k=a%20b%2Fc%2Bd%3Dsecret") == "x?k=[REDACTED]"


def test_httpx_records_are_scrubbed_before_any_handler(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="httpx"), redacting([SECRET]):
        logging.getLogger("httpx").info("HTTP Request: GET %s", f"https://x/?api_key={SECRET}")
    assert caplog.records[-1].getMessage() == "HTTP Request: GET https://x/?api_key=[REDACTED]"
