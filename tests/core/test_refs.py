"""Incident references: every accepted form, and clear errors for the rest."""

from __future__ import annotations

import pytest

from sync_incident.core.refs import IncidentRef, ReferenceError, parse_ref, parse_ref_words


@pytest.mark.parametrize(
    "text,expected",
    [
        ("bug 123456", IncidentRef("bugzilla", 123456)),
        ("BUG 123456", IncidentRef("bugzilla", 123456)),
        ("bug   123456", IncidentRef("bugzilla", 123456)),
        ("  bug 1  ", IncidentRef("bugzilla", 1)),
        ("bugzilla:123456", IncidentRef("bugzilla", 123456)),
        ("Bugzilla:42", IncidentRef("bugzilla", 42)),
        (
            "https://bugzilla.mozilla.org/show_bug.cgi?id=123456",
            IncidentRef("bugzilla", 123456, host="bugzilla.mozilla.org"),
        ),
        (
            "http://bugs.example.org/bugzilla/show_bug.cgi?id=7",
            IncidentRef("bugzilla", 7, host="bugs.example.org"),
        ),
        (
            "https://bugzilla.mozilla.org/show_bug.cgi?id=123456#c4",
            IncidentRef("bugzilla", 123456, host="bugzilla.mozilla.org"),
        ),
        (
            "https://bugzilla.mozilla.org/show_bug.cgi?format=default&id=9",
            IncidentRef("bugzilla", 9, host="bugzilla.mozilla.org"),
        ),
        (
            "https://bugzilla.mozilla.org/123456",
            IncidentRef("bugzilla", 123456, host="bugzilla.mozilla.org"),
        ),
        (
            "HTTPS://BUGZILLA.MOZILLA.ORG/show_bug.cgi?id=5",
            IncidentRef("bugzilla", 5, host="bugzilla.mozilla.org"),
        ),
        ("issue owner/repo#42", IncidentRef("github", 42, repo="owner/repo")),
        ("github:owner/repo#42", IncidentRef("github", 42, repo="owner/repo")),
        ("owner/repo#42", IncidentRef("github", 42, repo="owner/repo")),
        (
            "issue mozilla-mobile/fenix.app#7",
            IncidentRef("github", 7, repo="mozilla-mobile/fenix.app"),
        ),
        ("o/r_x-y.z#1", IncidentRef("github", 1, repo="o/r_x-y.z")),
        (
            "https://github.com/owner/repo/issues/42",
            IncidentRef("github", 42, repo="owner/repo", host="github.com"),
        ),
        (
            "https://github.com/owner/repo/issues/42/",
            IncidentRef("github", 42, repo="owner/repo", host="github.com"),
        ),
        (
            "https://github.com/owner/repo/issues/42#issuecomment-1",
            IncidentRef("github", 42, repo="owner/repo", host="github.com"),
        ),
        (
            "https://github.com/owner/repo/pull/43",
            IncidentRef("github", 43, repo="owner/repo", host="github.com"),
        ),
        (
            "https://github.example.com/rel/ops/issues/5",
            IncidentRef("github", 5, repo="rel/ops", host="github.example.com"),
        ),
        (
            "https://ghe.corp.test:8443/rel/ops/issues/5",
            IncidentRef("github", 5, repo="rel/ops", host="ghe.corp.test"),
        ),
        ("local:7", IncidentRef("local", 7)),
        ("LOCAL:7", IncidentRef("local", 7)),
    ],
)
def test_accepted_form(text: str, expected: IncidentRef) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "123456",
        "bug",
        "bug 0",
        "bug -1",
        "bug 12a",
        "bug 12345678901",
        "bug #123",
        "bugzilla:",
        "bugzilla:abc",
        "local:",
        "local:0",
        "local:x",
        "issue owner/repo",
        "issue owner/repo#",
        "issue owner/repo#0",
        "issue owner/repo#x",
        "issue owner#1",
        "issue /repo#1",
        "issue owner/#1",
        "issue -owner/repo#1",
        "issue owner/repo/extra#1",
        "owner/repo#1 extra",
        "github:owner/repo",
        "github:" + "o" * 40 + "/repo#1",
        "https://",
        "https:///show_bug.cgi?id=1",
        "https://bugzilla.mozilla.org/show_bug.cgi",
        "https://bugzilla.mozilla.org/show_bug.cgi?id=abc",
        "https://bugzilla.mozilla.org/show_bug.cgi?id=1&id=2",
        "https://bugzilla.mozilla.org/show_bug.cgi?id=0",
        "https://example.com/123",
        "https://github.com/owner/repo",
        "https://github.com/owner/repo/issues",
        "https://github.com/owner/repo/issues/0",
        "https://github.com/owner/repo/wiki/42",
        "ftp://bugzilla.mozilla.org/show_bug.cgi?id=1",
        "jira:ABC-1",
    ],
)
def test_malformed_reference_is_refused(text: str) -> None:
    with pytest.raises(ReferenceError):
        parse_ref(text)


def test_error_message_names_the_text_and_every_accepted_form() -> None:
    with pytest.raises(ReferenceError) as info:
        parse_ref("bug twelve")
    message = str(info.value)
    assert "'bug twelve'" in message
    for form in ("bug 123456", "bugzilla:123456", "show_bug.cgi?id=", "owner/repo#42", "local:7"):
        assert form in message


def test_reference_error_is_a_value_error() -> None:
    assert issubclass(ReferenceError, ValueError)


def test_words_from_the_command_line_are_joined() -> None:
    assert parse_ref_words(["bug", "123456"]) == IncidentRef("bugzilla", 123456)
    assert parse_ref_words(["local:7"]) == IncidentRef("local", 7)


@pytest.mark.parametrize(
    "ref,text",
    [
        (IncidentRef("bugzilla", 5), "bug 5"),
        (IncidentRef("github", 5, repo="o/r"), "o/r#5"),
        (IncidentRef("local", 5), "local:5"),
    ],
)
def test_reference_prints_in_a_form_that_parses_back(ref: IncidentRef, text: str) -> None:
    assert str(ref) == text
    assert parse_ref(str(ref)) == ref


def test_cache_key_ignores_the_host_and_repo_case() -> None:
    typed = parse_ref("https://github.com/Owner/Repo/issues/42")
    short = parse_ref("owner/repo#42")
    assert typed.key == short.key == "github:owner/repo#42"


def test_bugzilla_cache_key() -> None:
    assert parse_ref("https://bugzilla.mozilla.org/show_bug.cgi?id=9").key == "bugzilla:9"
