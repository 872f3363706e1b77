"""Pin people to their GitHub accounts by numeric id, in the user's own policy file.

On GitHub a person is bound by ``github_id`` alone (a login can be renamed, and the old one
registered by anyone). :func:`pin_github_ids` looks up each person's ``github`` login once
(``GET /users/{login}``) and writes the id next to it, with tomlkit so the rest of the file
(comments, order, spacing) stays as the user wrote it. An id already pinned is never
changed: when the login now belongs to another account, the person may have renamed and
someone else taken the login, and that is for a person to sort out.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync_incident.core.comments import Account
from sync_incident.core.errors import ConfigError

Lookup = Callable[[str], Awaitable[Account | None]]


@dataclass
class Pinning:
    """What pinning found, per person key."""

    pinned: list[tuple[str, str, int]] = field(default_factory=list)  # key, login, id written
    kept: list[tuple[str, int]] = field(default_factory=list)  # key, id already pinned, agreeing
    moved: list[tuple[str, str, int, int | None]] = field(
        default_factory=list
    )  # key, login, pinned, now
    unknown: list[tuple[str, str]] = field(default_factory=list)  # key, login nobody has

    @property
    def problems(self) -> list[str]:
        out = [f"{key}: no GitHub account has the login {login!r}" for key, login in self.unknown]
        for key, login, pinned, now in self.moved:
            where = f"account {now}" if now is not None else "no account"
            out.append(
                f"{key}: the login {login!r} now belongs to {where}, not the pinned account "
                f"{pinned} (renamed? then set github to the new login); left as it is"
            )
        return out


def people_table(doc: Any, path: Path) -> Any:
    """The ``people`` table of a policy or config document (top level or under ``policy``)."""
    people = doc.get("people")
    if people is None and isinstance(doc.get("policy"), dict):
        people = doc["policy"].get("people")
    if not isinstance(people, dict) or not people:
        raise ConfigError(
            f"{path}: no [people] to pin", hint="pass the file that lists people: --policy FILE"
        )
    return people


async def pin_github_ids(path: Path, lookup: Lookup, *, write: bool = True) -> Pinning:
    """Look up every person's GitHub login and pin its id in ``path`` (unless ``write`` is
    False); the file is replaced in one step, never left half written."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, TOMLKitError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    result = Pinning()
    for key, person in people_table(doc, path).items():
        login = person.get("github") if isinstance(person, dict) else None
        if not isinstance(login, str) or not login:
            continue
        found = await lookup(login)
        pinned = person.get("github_id")
        now = int(found.uid) if found is not None and found.uid is not None else None
        if isinstance(pinned, int):
            if now == pinned:
                result.kept.append((str(key), pinned))
            else:
                result.moved.append((str(key), login, pinned, now))
        elif now is None:
            result.unknown.append((str(key), login))
        else:
            person["github_id"] = now
            result.pinned.append((str(key), login, now))
    if write and result.pinned:
        _replace(path, tomlkit.dumps(doc))
    return result


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a file beside it, renamed over it)."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
