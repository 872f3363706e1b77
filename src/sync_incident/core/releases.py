"""Release names: what people type, made comparable, and refused when it could deceive.

A release is a product and an exact version, "Firefox 96.0.1". Names are normalised (NFKC, so
ligatures and full-width letters become plain letters; whitespace collapsed) and compared
without case. A name with invisible characters (zero-width spaces, bidi controls) or with
letters from two scripts in one word (a Cyrillic "о" inside "Firefox") is refused: it would be
shown as if it were the real release while never matching it.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+\-]*$")
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "HEBREW", "ARABIC", "CJK", "HANGUL")


def _invisible(ch: str) -> bool:
    category = unicodedata.category(ch)
    return (
        category in ("Cf", "Cc", "Co", "Cs", "Cn", "Zl", "Zp")
        or (category == "Zs" and ch != " ")
        or 0xFE00 <= ord(ch) <= 0xFE0F
    )


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    return next((s for s in _SCRIPTS if name.startswith(s)), "OTHER")


@functools.lru_cache(maxsize=4096)  # every event names a release of a handful
def normalise_release(value: str) -> str:
    """``"Firefox  96.0.1"`` → ``"Firefox 96.0.1"``; ValueError for anything else."""
    hidden = sorted({f"U+{ord(ch):04X}" for ch in value if _invisible(ch) and ch not in "\t\n"})
    if hidden:
        raise ValueError(
            f"the release name {value!r} contains invisible characters ({', '.join(hidden)}): "
            "type it again by hand"
        )
    text = unicodedata.normalize("NFKC", value)
    words = text.split()
    for word in words:
        scripts = {s for ch in word if (s := _script(ch))}
        if len(scripts) > 1:
            raise ValueError(
                f"the release name {value!r} mixes {' and '.join(sorted(s.lower() for s in scripts))} "
                f"letters in {word!r}: type it again by hand"
            )
    if len(words) < 2 or not _VERSION.match(words[-1]):
        raise ValueError(
            f"{value!r} is not a release: name the product and the exact version, "
            "for example 'Firefox 96.0.1'"
        )
    return " ".join(words)


@functools.lru_cache(maxsize=4096)
def release_key(release: str) -> str:
    """How releases compare: normalised and without case ('firefox 96.0.1' is 'Firefox 96.0.1')."""
    return " ".join(unicodedata.normalize("NFKC", release).split()).casefold()
