"""Render events to tracker comments and parse comments back into events.

A comment is the human sentence(s), rendered from Jinja2 templates, then one trailer line per
event at the very end::

    QA signs off on Firefox 96.0.1.

    [sync-incident:1 signoff.given 01JDX3K8Q4 {"team":"QA",...} c=1a2b3c4d]

On GitHub the trailer is an HTML comment (``<!-- sync-incident:1 ... -->``), hidden when
rendered. On Bugzilla it stays visible, so it is one compact line: BMO shows ``<`` literally
and upstream has no Markdown.

Why it survives what trackers and people do to text:

- the payload is JSON in which every escape is written ``\\uXXXX`` and ``" \\ < > &`` and
  control characters are escaped, so the only backslashes are those of ``\\u``: a Markdown
  escaper's ``\\_`` or ``\\[`` can be undone without ambiguity;
- ``c=`` is a CRC-32 of the type, id and payload: each candidate repair (Markdown unescape,
  HTML unescape, re-joining a wrapped line) is accepted only when the checksum matches;
- only trailers at the end of the comment count; quoted lines (``>``) and trailers in the
  middle of text never do (a reply that quotes a sign-off is not a sign-off).

Parsing never raises: anything unreadable becomes a :class:`Warning` on that comment.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sync_incident.core.comments import Flavor as Flavor  # part of this module's interface
from sync_incident.core.comments import check_length, normalise_body
from sync_incident.core.events import EVENT_TYPES, FORMAT_MAJOR, Event, validate_event
from sync_incident.core.sentences import Context, Sentences
from sync_incident.core.summaries import noun

MAGIC = "sync-incident"
_HEADER = re.compile(
    r"^(?:\[|<!--[ ]?)sync-incident:(?P<major>[0-9]{1,4})[ ](?P<type>[a-z][a-z._]{0,30})"
    r"[ ](?P<id>[0-9A-Za-z]{1,40})[ ](?P<payload>\{.*\})[ ]c=(?P<crc>[0-9a-f]{8})"
    r"(?:\]|[ ]?-->)$"
)
_OPENERS = ("[sync-incident:", "<!-- sync-incident:", "<!--sync-incident:")
_CLOSERS = ("]", "-->")
_MD_ESCAPE = re.compile(r"\\(?!u[0-9a-fA-F]{4})")
_MAX_WRAP_LINES = 400  # a wrapped trailer is re-joined over at most this many lines
_MAX_MIXED_GAPS = 8  # mixed space / no-space re-joins are tried up to this many breaks
_SAFE_PUNCT = "!#$%'()*+,-./:;=?@[]^_`{|}~"
# a character a payload string may not carry as is: anything but ASCII letters, digits, space
# and _SAFE_PUNCT (a non-ASCII character is then kept when printable: see _escape)
_UNSAFE = re.compile(f"[^A-Za-z0-9 {re.escape(_SAFE_PUNCT)}]")
# Comments are parsed again and again: by every fold (one per retraction, two per post), by a
# witness, by each poll of the daemon. Results are kept by comment text, at about 1.3 kB each
# when the comment carries an event (its models), so a full cache holds about 170 MB.
PARSE_CACHE_SIZE = 2**17
FINGERPRINT_CACHE_SIZE = 2**17


@dataclass(frozen=True)
class Warning:
    """Something in a comment we could not read as an event."""

    code: str  # "unreadable", "newer-format", "unknown-type", "misplaced", "checksum"
    message: str


@dataclass
class Parsed:
    events: list[Event] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)


# --- encoding ------------------------------------------------------------------------------


def _encode_str(text: str) -> str:
    if _UNSAFE.search(text) is None:  # most text: nothing to escape
        return f'"{text}"'
    return f'"{_UNSAFE.sub(_escape, text)}"'


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if not ch.isascii() and _printable(ch):
        return ch
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _printable(ch: str) -> bool:
    category = unicodedata.category(ch)
    # controls, format characters (bidi overrides, zero-width), surrogates, private use,
    # unassigned and separators other than space are escaped so nothing hides in a trailer
    return category[0] not in "CZ"


def encode_payload(value: Any) -> str:
    """Compact JSON with every escape as ``\\uXXXX`` (see the module docstring)."""
    if isinstance(value, str):
        return _encode_str(value)
    if isinstance(value, dict):
        items = (f"{_encode_str(str(k))}:{encode_payload(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode_payload(v) for v in value) + "]"
    return json.dumps(value)


def _crc(payload: str) -> str:
    return f"{zlib.crc32(payload.encode('utf-8', 'surrogatepass')):08x}"


def _signed(event: Event) -> str:
    data = event.model_dump(mode="json", exclude_defaults=True, exclude={"id", "type"})
    return f"{event.type} {event.id} {encode_payload(data)}"


def trailer(event: Event, flavor: Flavor = "plain") -> str:
    """The one-line machine trailer for ``event``."""
    signed = _signed(event)
    body = f"{MAGIC}:{FORMAT_MAJOR} {signed} c={_crc(signed)}"
    return f"<!-- {body} -->" if flavor == "github" else f"[{body}]"


def fingerprint(event: Event) -> str:
    """The checksum of an event's type, id and content (its trailer's ``c=``)."""
    # kept per event object (held, so its id() is not reused): a fold asks once per event,
    # and the same parsed events come back from the parse cache to every later fold
    known = _fingerprints.get(id(event))
    if known is not None and known[0] is event:
        return known[1]
    value = _crc(_signed(event))
    if len(_fingerprints) >= FINGERPRINT_CACHE_SIZE:
        _fingerprints.clear()
    _fingerprints[id(event)] = (event, value)
    return value


_fingerprints: dict[int, tuple[Event, str]] = {}


def clear_caches() -> None:
    """Forget every parsed comment and fingerprint (to measure a first read, or free memory)."""
    _parse_cached.cache_clear()
    _fingerprints.clear()


def record_digest(events: Iterable[Event]) -> str:
    """A hash of events' ids and contents, in order: what a witness checkpoint records."""
    joined = "\n".join(f"{e.id}:{fingerprint(e)}" for e in events)
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:20]


# --- rendering -----------------------------------------------------------------------------


class Renderer:
    """Whole comments: the human sentences (:mod:`.sentences`), then one trailer per event."""

    def __init__(self, template_dir: Path | None = None) -> None:
        self.sentences = Sentences(template_dir)

    def human(self, event: Event, ctx: Context | None = None) -> str:
        return self.sentences.human(event, ctx or Context())

    def comment(
        self, events: Sequence[Event], flavor: Flavor = "plain", ctx: Context | None = None
    ) -> str:
        """The full comment: human text, a blank line, one trailer per event."""
        if not events:
            raise ValueError("nothing to render")
        human = "\n\n".join(self.human(e, ctx) for e in events)
        trailers = "\n".join(trailer(e, flavor) for e in events)
        return f"{human}\n\n{trailers}"

    def render(
        self, events: Sequence[Event], flavor: Flavor = "plain", ctx: Context | None = None
    ) -> str:
        """The full comment, refused (:class:`CommentTooLong`) when over the trackers' limit."""
        comment = self.comment(events, flavor, ctx)
        check_length(comment)
        return comment


_default_renderer = Renderer()


def render(events: Event | Sequence[Event], flavor: Flavor = "plain") -> str:
    """Render with the package templates (see :class:`Renderer` to override them)."""
    seq = [events] if not isinstance(events, Sequence) else events
    return _default_renderer.render(seq, flavor)


# --- parsing -------------------------------------------------------------------------------


def parse(text: str) -> Parsed:
    """Every event in the comment's own trailer block. Never raises."""
    if not _may_carry_events(text):
        return Parsed()  # most comments people write carry no trailer: no place in the cache
    events, warnings = _parse_cached(text)
    # fresh lists for the caller; the events and warnings themselves are immutable
    return Parsed(list(events), list(warnings))


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse_cached(text: str) -> tuple[tuple[Event, ...], tuple[Warning, ...]]:
    result = Parsed()
    try:
        _parse_into(text, result)
    except Exception as exc:  # pragma: no cover - the fuzz tests keep this unreachable
        result.warnings.append(Warning("unreadable", f"could not read this comment: {exc!r}"))
    return tuple(result.events), tuple(result.warnings)


def _may_carry_events(text: str) -> bool:
    return MAGIC in text or "sync&#45;incident" in text or "sync\\-incident" in text


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">") or line.lstrip().startswith("&gt;")


def _opens(line: str) -> bool:
    return _clean(line).lstrip().startswith(_OPENERS)


def _clean(line: str) -> str:
    """Undo what Markdown and HTML escapers do to a trailer line."""
    if "\\" not in line and "&" not in line:
        return line
    import html  # here: only escaped text needs it, and its entity table is slow to import

    return _MD_ESCAPE.sub("", html.unescape(line))


def _one_plain_trailer(text: str) -> str | None:
    """The trailer line of the usual comment, or None when the general parse must decide.

    The usual comment is the tool's own: sentences, a blank line, one trailer line as written
    (not escaped, not quoted, not indented), and no other mention of a trailer nor a code
    fence anywhere. For it the general parse below finds exactly this line, so it is taken
    at once (most of the parse's time went to the general scan).
    """
    if text.count(MAGIC) != 1 or "```" in text or "~~~" in text:
        return None
    head, sep, last = text.rpartition("\n")
    if not last.startswith(_OPENERS[:2]) or not last.endswith(_CLOSERS):
        return None
    if "\\" in last or "&" in last:
        return None
    if sep and head and not head.endswith("\n"):  # the line before must be blank (or none)
        return None
    return last


def _parse_into(text: str, result: Parsed) -> None:
    text = normalise_body(text)
    fast = _one_plain_trailer(text)
    if fast is not None:
        events, warning = _decode_block([fast])
        result.events.extend(events)
        if warning is not None:
            result.warnings.append(warning)
        return
    lines = text.split("\n")
    end = len(lines)
    found: list[list[Event]] = []
    while end > 0:
        # the trailers form one block at the very end: once it has started, a blank line ends
        # it, so free text that ends with a trailer-like line cannot smuggle in an event
        if found and not lines[end - 1].strip():
            break
        while end > 0 and not lines[end - 1].strip():
            end -= 1
        if end == 0 or _is_quoted(lines[end - 1]):
            break
        if not _clean(lines[end - 1]).rstrip().endswith(_CLOSERS):
            break
        start = _find_opener(lines, end)
        if start is None:
            break
        if _in_code(lines, start, end):
            break  # shown as code (indented, or inside a fence): text, never an event
        events, warning = _decode_block(lines[start:end])
        if warning is not None:
            result.warnings.append(warning)
        found.append(events)
        end = start
    for events in reversed(found):
        result.events.extend(events)
    for line in lines[:end]:
        if MAGIC in line and not _is_quoted(line) and _opens(line):
            result.warnings.append(
                Warning(
                    "misplaced",
                    "an event trailer inside the text (not at the end of the comment) was ignored",
                )
            )
            break


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _in_code(lines: list[str], start: int, end: int) -> bool:
    """Whether lines[start:end] render as code: indented by 4 spaces / a tab, or fenced.

    A fence left open before the block counts too: Markdown renders the rest as code.
    """
    if any(line.startswith(("    ", "\t")) for line in lines[start:end]):
        return True
    fence: str | None = None
    for line in lines[:start]:
        match = _FENCE.match(line)
        if match is None:
            continue
        marker = match.group(1)
        if fence is None:
            fence = marker
        elif marker[0] == fence[0] and len(marker) >= len(fence):
            fence = None
    return fence is not None


def _find_opener(lines: list[str], end: int) -> int | None:
    for start in range(end - 1, max(-1, end - 1 - _MAX_WRAP_LINES), -1):
        line = lines[start]
        if _is_quoted(line) or not line.strip():
            return None
        if _opens(line):
            return start
    return None


def _candidates(block: list[str]) -> Iterable[str]:
    stripped = [line.strip() for line in block]
    joins = [" ".join(stripped)] if len(block) == 1 else [" ".join(stripped), "".join(stripped)]
    for joined in joins:
        yield joined
        yield _clean(joined)
    # a line wrapped at spaces in some places and inside words in others: try every mix
    # (the checksum picks the right one); bounded, since each break doubles the candidates
    gaps = len(stripped) - 1
    if 1 < gaps <= _MAX_MIXED_GAPS:
        for mask in range(1, 2**gaps - 1):
            parts = [stripped[0]]
            for i, line in enumerate(stripped[1:]):
                parts.append(" " if mask >> i & 1 else "")
                parts.append(line)
            joined = "".join(parts)
            yield joined
            yield _clean(joined)


def _decode_block(block: list[str]) -> tuple[list[Event], Warning | None]:
    problem: Warning | None = None
    undecoded: Warning | None = None
    for candidate in _candidates(block):
        match = _HEADER.match(candidate)
        if match is None:
            continue
        if int(match["major"]) != FORMAT_MAJOR:
            return [], Warning(
                "newer-format",
                f"event written in trailer format {match['major']}; this sync-incident reads "
                f"format {FORMAT_MAJOR}: upgrade to read it",
            )
        payload = match["payload"]
        if _crc(f"{match['type']} {match['id']} {payload}") != match["crc"]:
            problem = Warning(
                "checksum", "the event recorded in it was changed after it was written"
            )
            continue
        events, warning = _decode_event(match["type"], match["id"], payload)
        if events:
            return events, None
        # a payload that passes the checksum but not validation was written wrong (or forged
        # with a valid checksum): keep trying the other candidates, then report it
        undecoded = undecoded or warning
    if undecoded is not None:
        return [], undecoded
    if problem is not None:
        return [], problem
    return [], Warning("unreadable", "it holds an event record that cannot be read")


_SURROGATE_TEXT = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")


def _decode_event(kind: str, event_id: str, payload: str) -> tuple[list[Event], Warning | None]:
    if kind not in EVENT_TYPES:
        return [], Warning(
            "unknown-type", f"unknown event type {kind!r} (written by a newer sync-incident?)"
        )
    try:
        data = json.loads(payload)
    except ValueError:
        return [], Warning("unreadable", "it holds an event record whose data cannot be read")
    if not isinstance(data, dict):
        return [], Warning("unreadable", "it holds an event record whose data cannot be read")
    data["id"] = event_id
    # a lone surrogate can only come as a character or a \uD800-\uDFFF escape: most payloads
    # have neither, and then the walk that replaces them is skipped
    clean = _SURROGATE_TEXT.search(payload) is not None
    try:
        event = validate_event(kind, data, clean=clean)
    except ValidationError as exc:
        from sync_incident.core.validation import plain

        first = exc.errors()[0]
        where = ".".join(str(p) for p in (kind, *first["loc"]))  # as the union adapter names it
        message = plain(first).message
        return [], Warning("unreadable", f"a {noun(kind)} in it cannot be read: {where}: {message}")
    return [event], None
