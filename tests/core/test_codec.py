"""The comment codec: exact round trips, surviving trackers and people, never raising.

``SYNC_INCIDENT_LONG=1`` runs the fuzz tests with 10,000 examples each (1,000 by default).
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import textwrap
import zlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_incident.core import codec
from sync_incident.core.comments import COMMENT_LIMIT, normalise_body
from sync_incident.core.errors import CommentTooLong
from sync_incident.core.events import (
    EVENT_TYPES,
    FORMAT_MAJOR,
    Event,
    HandoffOffered,
    HoldRaised,
    NextStep,
    Note,
    SignoffGiven,
    StatusUpdate,
)
from sync_incident.core.releases import normalise_release
from sync_incident.core.sentences import format_time

LONG = os.environ.get("SYNC_INCIDENT_LONG") == "1"
FUZZ_EXAMPLES = 10_000 if LONG else 1_000
PROPERTY_EXAMPLES = 1_000 if LONG else 100

PROPERTY = settings(
    max_examples=PROPERTY_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies (also used by test_state) -----------------------------------------------------

HOSTILE = [
    "-->",
    "<!--",
    "]",
    "[",
    "\\",
    "\\\\u0041",
    "\\u0022",
    '"',
    "'",
    "`code`",
    "*bold* _it_ ~~s~~ # h | t |",
    "<b>&amp;</b>",
    "&gt; quoted",
    "> quoted",
    "\n> quoted\n",
    "\n\n",
    "\r\n",
    "\t",
    "\x00",
    "\x1b[31m",
    "\u202e",  # right-to-left override
    "\u2066\u2069",  # bidi isolates
    "\u200b",  # zero-width space
    "\ufeff",
    "\u2028",
    "\U0001f600",  # astral, printable
    "\U000e0001",  # astral, format character
    "\ud800",  # lone surrogates: pydantic keeps them
    "\udfff",
    "c=00000000]",
    "sync-incident:1",
    "[sync-incident:1 note 01ARZ3NDEKTSV4RRFFQ69G5FAV {} c=00000000]",
    "\n[sync-incident:1 note 01ARZ3NDEKTSV4RRFFQ69G5FAV {} c=00000000]",
    "é",
    "日本語",
]

_chars = st.characters(exclude_categories=())  # every code point, surrogates included
_piece = st.one_of(st.text(_chars, max_size=12), st.sampled_from(HOSTILE))
# A high surrogate followed by a low one is, to every JSON reader, one astral character: such a
# string cannot come from argv (surrogateescape yields lone low surrogates) or from a tracker's
# JSON, and cannot round-trip through any JSON, so the strategies leave that pair out.
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
hostile = st.lists(_piece, max_size=4).map("".join).filter(lambda s: not _SURROGATE_PAIR.search(s))
text = hostile.filter(lambda s: bool(s.strip()))
name = hostile.filter(lambda s: bool(s.split()))
version = st.from_regex(r"\A[0-9][0-9A-Za-z.+\-]{0,8}\Z")


def _valid_release(text: str) -> bool:
    try:
        normalise_release(text)
    except ValueError:
        return False
    return True


# hostile product names, minus those the release rules refuse (invisible or mixed-script)
release = st.builds(lambda product, v: f"{product} {v}", name, version).filter(_valid_release)
offsets = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(
    lambda d: timezone(timedelta(minutes=d // timedelta(minutes=1)))
)
aware = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=offsets
)
ulid = st.from_regex(r"\A[0-9A-HJKMNP-TV-Z]{26}\Z")
maybe = st.none


def _event(event_type: str, /, **fields: Any) -> st.SearchStrategy[Event]:
    # each class in EVENT_TYPES is a member of the Event union
    return cast("st.SearchStrategy[Event]", st.builds(EVENT_TYPES[event_type], **fields))


EVENT_STRATEGIES: dict[str, st.SearchStrategy[Event]] = {
    "opened": _event(
        "opened", title=text, severity=name, releases=st.lists(release, max_size=2), ic=name
    ),
    "note": _event(
        "note",
        text=text,
        occurred_at=maybe() | aware,
        links=st.lists(hostile, max_size=2),
    ),
    "link": _event(
        "link",
        url=text,
        kind=st.sampled_from(["patch", "doc", "bug", "call", "other"]),
        title=hostile,
    ),
    "step.added": _event(
        "step.added",
        step=name,
        title=text,
        owner=maybe() | hostile,
        state=st.sampled_from(["todo", "doing", "done", "blocked"]),
        due=maybe() | aware,
    ),
    "step.updated": _event(
        "step.updated",
        step=name,
        state=maybe() | st.sampled_from(["todo", "doing", "done", "blocked"]),
        owner=maybe() | hostile,
        due=maybe() | aware,
        note=hostile,
    ),
    "status": _event("status", summary=text, next_update_due=maybe() | aware),
    "handoff.offered": _event(
        "handoff.offered",
        to=name,
        role=st.sampled_from(["ic", "steps"]),
        steps=st.lists(hostile, max_size=2),
        done=text,
        todo=text,
        next_steps=st.lists(
            st.builds(NextStep, what=text, owner=maybe() | hostile, by=maybe() | aware),
            max_size=2,
        ),
        notify=st.lists(hostile, max_size=2),
    ),
    "handoff.accepted": _event("handoff.accepted", offer=ulid),
    "handoff.declined": _event("handoff.declined", offer=ulid, reason=hostile),
    "ic.taken": _event("ic.taken", from_ic=name, reason=text),
    "hold.raised": _event("hold.raised", release=release, reason=text),
    "hold.released": _event("hold.released", release=release, hold=ulid, reason=hostile),
    "signoff.given": _event("signoff.given", team=name, release=release, statement=text),
    "signoff.revoked": _event("signoff.revoked", team=name, release=release, reason=text),
    "ship": _event("ship", release=release, statement=text),
    "resolved": _event("resolved", summary=hostile),
    "reopened": _event("reopened", reason=text),
    "retro": _event(
        "retro",
        kind=st.sampled_from(["root_cause", "went_well", "could_be_better", "action_item"]),
        text=text,
        owner=maybe() | hostile,
    ),
    "digest": _event("digest", key=name, text=text),
    "reminder": _event("reminder", key=name, kind=hostile, to=maybe() | hostile, text=text),
    "retro.draft": _event(
        "retro.draft", digest=name, revision=st.integers(-(2**40), 2**40), text=text
    ),
    "release.added": _event("release.added", release=release, reason=hostile),
    "retract": _event("retract", event=ulid, reason=hostile),
    "doubt.checked": _event(
        "doubt.checked",
        where=st.lists(hostile, max_size=2),
        finding=hostile,
        hashes=st.dictionaries(name, name, max_size=2),
    ),
    "checkpoint": _event(
        "checkpoint", count=st.integers(0, 2**40), digest=name, last=maybe() | ulid
    ),
    "witness": _event(
        "witness",
        what=st.sampled_from(["deleted", "edited"]),
        comment=name,
        events=st.lists(ulid, max_size=2),
        by=hostile,
        at=maybe() | aware,
    ),
    "room.bound": _event(
        "room.bound",
        chat=st.sampled_from(["matrix", "slack"]),
        room=name,
        unbound=st.booleans(),
    ),
}
any_event = st.one_of(*EVENT_STRATEGIES.values())
flavors = st.sampled_from(["plain", "github"])


def _events_only(parsed: codec.Parsed) -> list[Event]:
    """The events, after checking that the only warnings are about trailer-like free text."""
    assert [w for w in parsed.warnings if w.code != "misplaced"] == []
    return parsed.events


def _split(body: str, count: int) -> tuple[str, str]:
    """(human text, trailer block) of a comment rendered from ``count`` events."""
    lines = body.split("\n")
    return "\n".join(lines[:-count]), "\n".join(lines[-count:])


def test_strategies_cover_every_event_type() -> None:
    assert set(EVENT_STRATEGIES) == set(EVENT_TYPES)


# --- round trips ----------------------------------------------------------------------------


@PROPERTY
@given(event=any_event, flavor=flavors)
def test_every_event_round_trips_exactly(event: Event, flavor: codec.Flavor) -> None:
    assert _events_only(codec.parse(codec.render(event, flavor))) == [event]


@PROPERTY
@given(events=st.lists(any_event, min_size=2, max_size=4), flavor=flavors)
def test_several_events_in_one_comment_round_trip_in_order(
    events: list[Event], flavor: codec.Flavor
) -> None:
    assert _events_only(codec.parse(codec.render(events, flavor))) == events


@PROPERTY
@given(event=any_event, flavor=flavors)
def test_trailer_is_one_line(event: Event, flavor: codec.Flavor) -> None:
    assert "\n" not in codec.trailer(event, flavor)
    assert "\r" not in codec.trailer(event, flavor)


def test_github_trailer_is_an_html_comment() -> None:
    event = SignoffGiven(team="QA", release="Firefox 96.0.1", statement="QA signs off.")
    line = codec.render(event, "github").split("\n")[-1]
    assert line.startswith(f"<!-- sync-incident:{FORMAT_MAJOR} signoff.given {event.id} ")
    assert line.endswith(" -->")


def test_plain_trailer_is_a_compact_bracketed_line() -> None:
    event = SignoffGiven(team="QA", release="Firefox 96.0.1", statement="QA signs off.")
    line = codec.render(event, "plain").split("\n")[-1]
    assert line.startswith(f"[sync-incident:{FORMAT_MAJOR} signoff.given {event.id} {{")
    assert line.endswith("]")
    assert "<" not in line


def test_comment_starts_with_the_human_sentence() -> None:
    event = SignoffGiven(
        team="QA", release="Firefox 96.0.1", statement="QA signs off on Firefox 96.0.1."
    )
    assert codec.render(event).startswith("QA signs off on Firefox 96.0.1.\n")


@pytest.mark.parametrize(
    "raw,encoded",
    [
        ("-->", "--\\u003e"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ('"', "\\u0022"),
        ("\\", "\\u005c"),
        ("\u202e", "\\u202e"),
        ("\x00", "\\u0000"),
        ("\n", "\\u000a"),
        ("\U000e0001", "\\udb40\\udc01"),
    ],
)
def test_dangerous_characters_are_escaped_in_the_payload(raw: str, encoded: str) -> None:
    payload = codec.trailer(Note(text=f"a{raw}b"), "github").split(" ", 4)[4]
    assert payload.startswith(f'{{"text":"a{encoded}b"}} c=')


def test_rendering_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        codec.render([])


# --- what trackers and people do to text ------------------------------------------------------


@PROPERTY
@given(event=any_event, flavor=flavors)
def test_survives_crlf_line_endings(event: Event, flavor: codec.Flavor) -> None:
    body = codec.render(event, flavor).replace("\n", "\r\n")
    assert _events_only(codec.parse(body)) == [event]


@PROPERTY
@given(event=any_event, flavor=flavors, pad=st.sampled_from([" ", "\t", "  \t "]))
def test_survives_trailing_whitespace_added_and_stripped(
    event: Event, flavor: codec.Flavor, pad: str
) -> None:
    padded = "\n".join(line + pad for line in codec.render(event, flavor).split("\n"))
    assert _events_only(codec.parse(padded)) == [event]
    assert _events_only(codec.parse(normalise_body(padded))) == [event]


@PROPERTY
@given(
    events=st.lists(any_event, min_size=1, max_size=3),
    flavor=flavors,
    width=st.integers(8, 100),
)
def test_survives_rewrapped_human_text(
    events: list[Event], flavor: codec.Flavor, width: int
) -> None:
    human, trailers = _split(codec.render(events, flavor), len(events))
    wrapped = "\n\n".join(textwrap.fill(p, width) for p in human.split("\n\n"))
    assert _events_only(codec.parse(f"{wrapped}\n\n{trailers}")) == events


def markdown_escape(body: str) -> str:
    """What turndown / markdownify do: a backslash before every Markdown special."""
    return re.sub(r"([\\`*_\[\]<>#!|~])", r"\\\1", body)


@PROPERTY
@given(events=st.lists(any_event, min_size=1, max_size=3), flavor=flavors)
def test_survives_markdown_escaping_of_the_whole_comment(
    events: list[Event], flavor: codec.Flavor
) -> None:
    body = markdown_escape(codec.render(events, flavor))
    assert _events_only(codec.parse(body)) == events


def test_markdown_escaping_example_is_really_escaped() -> None:
    event = HandoffOffered(to="b", done="d", todo="t", next_steps=[NextStep(what="x")])
    escaped = markdown_escape(codec.render(event))
    assert "\\[sync-incident:1" in escaped and "next\\_steps" in escaped
    assert codec.parse(escaped).events == [event]


@PROPERTY
@given(events=st.lists(any_event, min_size=1, max_size=3), flavor=flavors)
def test_survives_html_entity_escaping_of_the_whole_comment(
    events: list[Event], flavor: codec.Flavor
) -> None:
    body = html.escape(codec.render(events, flavor))
    assert _events_only(codec.parse(body)) == events


# A continuation line that starts like a trailer would read as the trailer's start: no tool
# wraps exactly there without also breaking the text it quotes, so the tests do not either.
_OPENER_TEXT = "[sync-incident:"


def _breakable(line: str, opener: str, closer: str) -> tuple[list[int], list[int]]:
    """Where a line can be hard-wrapped: (inside words, at single spaces)."""
    inside, spaces = [], []
    for i in range(len(opener) + 1, len(line) - len(closer)):
        before, after = line[i - 1], line[i]
        if not before.isspace() and not after.isspace():
            if not line[i:].startswith(_OPENER_TEXT):
                inside.append(i)
        elif (
            after == " "
            and not before.isspace()
            and not line[i + 1].isspace()
            and not line[i + 1 :].startswith(_OPENER_TEXT)
        ):
            spaces.append(i)
    return inside, spaces


def _wrap_at(line: str, breaks: list[int], spaces: set[int]) -> str:
    out, start = [], 0
    for i in sorted(breaks):
        out.append(line[start:i])
        start = i + 1 if i in spaces else i  # a break at a space eats the space
    out.append(line[start:])
    return "\n".join(out)


def _wrapped_comment(event: Event, flavor: codec.Flavor, pick: Any) -> str:
    human, line = _split(codec.render(event, flavor), 1)
    opener = "<!-- sync-incident:" if flavor == "github" else "[sync-incident:"
    closer = " -->" if flavor == "github" else "]"
    inside, spaces = _breakable(line, opener, closer)
    breaks, at_space = pick(inside, spaces)
    return f"{human}\n\n{_wrap_at(line, breaks, set(at_space))}"


@PROPERTY
@given(event=any_event, flavor=flavors, data=st.data())
def test_survives_hard_wrapping_of_the_trailer_inside_words(
    event: Event, flavor: codec.Flavor, data: st.DataObject
) -> None:
    def pick(inside: list[int], spaces: list[int]) -> tuple[list[int], list[int]]:
        chosen = data.draw(st.lists(st.sampled_from(inside), max_size=30, unique=True))
        return chosen, []

    body = _wrapped_comment(event, flavor, pick)
    assert _events_only(codec.parse(body)) == [event]


@PROPERTY
@given(event=any_event, flavor=flavors, data=st.data())
def test_survives_hard_wrapping_of_the_trailer_at_spaces(
    event: Event, flavor: codec.Flavor, data: st.DataObject
) -> None:
    def pick(inside: list[int], spaces: list[int]) -> tuple[list[int], list[int]]:
        chosen = data.draw(st.lists(st.sampled_from(spaces), max_size=30, unique=True))
        return chosen, chosen

    body = _wrapped_comment(event, flavor, pick)
    assert _events_only(codec.parse(body)) == [event]


@PROPERTY
@given(event=any_event, flavor=flavors, data=st.data())
def test_survives_hard_wrapping_at_spaces_and_inside_words_together(
    event: Event, flavor: codec.Flavor, data: st.DataObject
) -> None:
    def pick(inside: list[int], spaces: list[int]) -> tuple[list[int], list[int]]:
        at_space = data.draw(st.lists(st.sampled_from(spaces), max_size=4, unique=True))
        mid = data.draw(st.lists(st.sampled_from(inside), max_size=4, unique=True))
        return at_space + mid, at_space

    body = _wrapped_comment(event, flavor, pick)
    assert _events_only(codec.parse(body)) == [event]


def test_trailer_wrapped_by_textwrap_at_72_columns_is_read() -> None:
    event = SignoffGiven(
        team="QA",
        release="Firefox 96.0.1",
        statement="QA signs off on Firefox 96.0.1 after the full smoke test on all platforms.",
    )
    human, line = _split(codec.render(event), 1)
    wrapped = textwrap.fill(line, 72, break_on_hyphens=False)
    assert wrapped.count("\n") >= 2
    assert codec.parse(f"{human}\n\n{wrapped}").events == [event]


# --- only the comment's own trailer counts ------------------------------------------------------


SIGNOFF = SignoffGiven(
    team="QA", release="Firefox 96.0.1", statement="QA signs off on Firefox 96.0.1."
)


@pytest.mark.parametrize("prefix", ["> ", ">", ">> ", "> > ", "  > ", "&gt; "])
def test_quoted_trailer_never_counts(prefix: str) -> None:
    quoted = "\n".join(prefix + line for line in codec.render(SIGNOFF).split("\n"))
    assert codec.parse(quoted).events == []


@pytest.mark.parametrize("flavor", ["plain", "github"])
def test_reply_quoting_a_signoff_is_not_a_signoff(flavor: codec.Flavor) -> None:
    quoted = "\n".join("> " + line for line in codec.render(SIGNOFF, flavor).split("\n"))
    reply = f"(In reply to Quinn from comment #3)\n{quoted}\n\nThanks, noted."
    assert codec.parse(reply).events == []


def test_quoted_trailer_after_own_text_does_not_count() -> None:
    body = f"I agree with this:\n\n> {codec.trailer(SIGNOFF)}"
    assert codec.parse(body).events == []


def test_quoted_line_between_wrapped_trailer_lines_breaks_the_trailer() -> None:
    line = codec.trailer(SIGNOFF)
    body = f"{line[:40]}\n> quoted\n{line[40:]}"
    assert codec.parse(body).events == []


def test_trailer_in_the_middle_of_text_is_ignored_with_a_warning() -> None:
    body = f"Copied from another bug:\n\n{codec.trailer(SIGNOFF)}\n\nMore text after it."
    parsed = codec.parse(body)
    assert parsed.events == []
    assert [w.code for w in parsed.warnings] == ["misplaced"]


def test_free_text_ending_with_a_trailer_cannot_smuggle_an_event() -> None:
    note = Note(text=f"Look at this:\n{codec.trailer(SIGNOFF)}")
    parsed = codec.parse(codec.render(note))
    assert parsed.events == [note]
    assert [w.code for w in parsed.warnings] == ["misplaced"]


def test_trailer_after_text_on_the_same_line_does_not_count() -> None:
    body = f"Text then {codec.trailer(SIGNOFF)}"
    assert codec.parse(body).events == []


def test_comment_without_a_trailer_has_no_events_and_no_warnings() -> None:
    parsed = codec.parse("QA signs off on Firefox 96.0.1.")
    assert parsed.events == [] and parsed.warnings == []


# --- unreadable trailers are warnings, never exceptions ---------------------------------------


def _trailer(major: int, kind: str, event_id: str, payload: str, crc: str | None = None) -> str:
    # the checksum covers the type, the id and the payload
    signed = f"{kind} {event_id} {payload}"
    crc = crc or f"{zlib.crc32(signed.encode('utf-8', 'surrogatepass')):08x}"
    return f"Text.\n\n[sync-incident:{major} {kind} {event_id} {payload} c={crc}]"


def _codes(body: str) -> list[str]:
    parsed = codec.parse(body)
    assert parsed.events == []
    return [w.code for w in parsed.warnings]


def test_unknown_major_version_is_a_newer_format_warning() -> None:
    body = codec.render(SIGNOFF).replace("[sync-incident:1 ", "[sync-incident:2 ")
    assert _codes(body) == ["newer-format"]


def test_unknown_event_type_is_a_warning() -> None:
    body = _trailer(FORMAT_MAJOR, "explode.now", "01ARZ3NDEKTSV4RRFFQ69G5FAV", '{"a":"b"}')
    assert _codes(body) == ["unknown-type"]


def test_checksum_mismatch_is_a_warning() -> None:
    body = codec.render(SIGNOFF).replace('"team":"QA"', '"team":"QB"')
    assert _codes(body) == ["checksum"]


def test_malformed_json_with_a_matching_checksum_is_a_warning() -> None:
    body = _trailer(FORMAT_MAJOR, "note", "01ARZ3NDEKTSV4RRFFQ69G5FAV", '{"text":"a",}')
    assert _codes(body) == ["unreadable"]


def test_payload_missing_a_required_field_is_a_warning() -> None:
    body = _trailer(FORMAT_MAJOR, "signoff.given", "01ARZ3NDEKTSV4RRFFQ69G5FAV", '{"team":"QA"}')
    assert _codes(body) == ["unreadable"]


def test_payload_with_an_invalid_id_is_a_warning() -> None:
    body = _trailer(FORMAT_MAJOR, "note", "notaulid", '{"text":"a"}')
    assert _codes(body) == ["unreadable"]


def test_truncated_trailer_is_a_warning() -> None:
    body = codec.render(SIGNOFF)[:-20] + "]"
    assert _codes(body) == ["unreadable"]


def test_payload_fields_for_actor_and_time_are_ignored() -> None:
    payload = json.dumps({"text": "a", "actor": "admin", "at": "2000-01-01T00:00:00Z"})
    payload = payload.replace(" ", "")
    parsed = codec.parse(_trailer(FORMAT_MAJOR, "note", "01ARZ3NDEKTSV4RRFFQ69G5FAV", payload))
    assert parsed.events == [Note(id="01ARZ3NDEKTSV4RRFFQ69G5FAV", text="a")]


def test_one_bad_trailer_does_not_hide_the_good_ones() -> None:
    good = HoldRaised(release="Firefox 96.0.1", reason="crash spike")
    bad = codec.trailer(SIGNOFF).replace('"QA"', '"QB"')
    parsed = codec.parse(f"{codec.render(good)}\n{bad}")
    assert parsed.events == [good]
    assert [w.code for w in parsed.warnings] == ["checksum"]


# --- size -------------------------------------------------------------------------------------


def _note_of_length(length: int) -> Note:
    """A note whose rendered comment is exactly ``length`` characters."""
    fixed = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    base = len(codec.render(Note(id=fixed, text="x")))
    # each 'x' adds 2 characters (text and payload); each '\x01' adds 7 (text and \u0001)
    extra = length - base
    controls = 1 if extra % 2 else 0
    note = Note(id=fixed, text="\x01" * controls + "x" * (1 + (extra - 7 * controls) // 2))
    assert len(codec.render(note)) == length
    return note


def test_comment_exactly_at_the_limit_is_accepted() -> None:
    note = _note_of_length(COMMENT_LIMIT)
    assert codec.parse(codec.render(note)).events == [note]


def test_comment_one_over_the_limit_is_refused() -> None:
    note = _note_of_length(COMMENT_LIMIT - 1)
    longer = Note(id=note.id, text=note.text + "x")  # +2 characters
    with pytest.raises(CommentTooLong, match="65,535"):
        codec.render(longer)


@pytest.mark.parametrize("length", [COMMENT_LIMIT - 2, COMMENT_LIMIT - 1])
def test_comments_under_the_limit_are_accepted(length: int) -> None:
    assert len(codec.render(_note_of_length(length))) == length


def test_several_events_over_the_limit_together_are_refused() -> None:
    text = "x" * 20_000
    with pytest.raises(CommentTooLong):
        codec.render([Note(text=text), Note(text=text)])


# --- custom templates -------------------------------------------------------------------------


def test_user_templates_override_the_package_ones(tmp_path: Any) -> None:
    (tmp_path / "status.txt.j2").write_text("STATUS >> {{ e.summary }}")
    renderer = codec.Renderer(tmp_path)
    event = StatusUpdate(summary="Builds are green.")
    body = renderer.render([event])
    assert body.startswith("STATUS >> Builds are green.\n\n")
    assert codec.parse(body).events == [event]


def test_format_time_reads_as_utc() -> None:
    assert format_time(datetime(2022, 1, 12, 14, 3, tzinfo=UTC)) == "2022-01-12 14:03 UTC"
    assert format_time(None) == "no time given"


# --- fuzz: never raises ---------------------------------------------------------------------

_SAMPLE_EVENTS: list[Event] = [
    SIGNOFF,
    HoldRaised(release="Product 2.0.3", reason="crash spike on startup"),
    HandoffOffered(
        to="beatrice",
        done="Step 4.",
        todo="Step 5.",
        next_steps=[NextStep(what="Step 5", owner="beatrice")],
    ),
    Note(text="Backfilled \u202e note", occurred_at=datetime(2022, 1, 12, tzinfo=UTC)),
]
REAL_COMMENTS = [codec.render(e, f) for e in _SAMPLE_EVENTS for f in ("plain", "github")]
REAL_COMMENTS.append(codec.render(_SAMPLE_EVENTS, "plain"))
_NOISE = '[]<>-!{}":,\\ \n\r>&;#cu0123456789abcdef' + "sync-incident:1 \u202e\ud800"


def _mutate(body: str, seed: int, count: int) -> str:
    rng = random.Random(seed)
    chars = list(body)
    for _ in range(count):
        op = rng.randrange(3)
        pos = rng.randrange(len(chars) + 1)
        if op == 0 and chars:  # flip
            chars[min(pos, len(chars) - 1)] = rng.choice(_NOISE)
        elif op == 1:  # insert
            chars.insert(pos, rng.choice(_NOISE))
        elif chars:  # delete
            del chars[min(pos, len(chars) - 1)]
    return "".join(chars)


@FUZZ
@given(body=st.text(st.characters(exclude_categories=())) | hostile)
def test_parsing_random_text_never_raises(body: str) -> None:
    parsed = codec.parse(body)
    assert isinstance(parsed, codec.Parsed)


@FUZZ
@given(
    body=st.sampled_from(REAL_COMMENTS),
    seed=st.integers(0, 2**32),
    count=st.integers(1, 12),
)
def test_parsing_mutated_real_comments_never_raises(body: str, seed: int, count: int) -> None:
    parsed = codec.parse(_mutate(body, seed, count))
    # a mutated comment either still reads (the change missed the trailer) or warns
    assert all(isinstance(e, tuple(EVENT_TYPES.values())) for e in parsed.events)


@pytest.mark.slow  # the longest fuzz here: about 1.5 s
@FUZZ
@given(
    parts=st.lists(
        st.sampled_from([*REAL_COMMENTS, *(c.split("\n")[-1] for c in REAL_COMMENTS)]) | hostile,
        min_size=1,
        max_size=5,
    ),
    sep=st.sampled_from(["\n", "\n\n", "\r\n", " ", "", "\n> "]),
)
def test_parsing_spliced_comments_never_raises(parts: list[str], sep: str) -> None:
    assert isinstance(codec.parse(sep.join(parts)), codec.Parsed)


def test_mutation_really_changes_comments() -> None:
    assert _mutate(REAL_COMMENTS[0], 1, 5) != REAL_COMMENTS[0]
