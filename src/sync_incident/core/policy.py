"""Who may do what: people, their tracker accounts, teams and roles.

The policy comes from the configuration file. People are keyed by a short name ("alice"): a
*label*, never an account. Each maps to accounts per tracker, bound by what a stranger cannot
take: on GitHub the numeric user id (``github_id``; the login is only for look-ups and
@-mentions, since a renamed login can be registered by anyone), on Bugzilla the login, an
e-mail address the server verified. Teams list people, and on GitHub may also name an org
team (``org/team-slug``) whose active members count, or a minimum repository permission.

An account the policy does not map is a *stranger*; its actor string (:meth:`Policy.actor_for`)
always carries ``#`` or ``@``, which policy keys may not, so a stranger can never be taken
for a person, and two accounts never share one (GitHub: ``login#id``).

Events are judged as of when they were posted: a person who ``left`` on a date acts as a
stranger from then on, and their earlier events stay theirs.

Without people or teams the policy is *permissive*: any account may make any event (the
fold still enforces the handoff and hold rules), accounts are matched by login, and every
command says so.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sync_incident.core.comments import Account
from sync_incident.core.refs import TrackerKind

PERMISSIONS = ("read", "triage", "write", "maintain", "admin")
# a policy key is a label: letters, digits, "_", "." and "-" (never "#" or "@", which only
# strangers' actor strings carry, see Policy.actor_for)
KEY = re.compile(r"\w[\w.-]*")
Chat = Literal["matrix", "slack"]


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""  # display name; defaults to the key
    bugzilla: list[str] = []
    github: str | None = None
    github_id: int | None = None
    local: str | None = None
    timezone: str = "UTC"
    working_hours: str | None = None  # "09:00-17:00" in the person's timezone
    # chat identities a relay account may speak for (see Policy.relays)
    matrix: str | None = None  # "@alice:example.org"
    slack: str | None = None  # "U024BE7LH"
    # left the organisation (or the policy) then: events from then on are a stranger's, the
    # earlier ones stay theirs (a date is midnight UTC)
    left: datetime | None = None

    @field_validator("left", mode="before")
    @classmethod
    def _day(cls, value: object) -> object:
        if isinstance(value, str) and len(value.strip()) == 10:  # "2024-03-01"
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                return value
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time(), tzinfo=UTC)
        return value

    @field_validator("left")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("left must carry a timezone (for example 2024-03-01T18:00:00Z)")
        return value.astimezone(UTC) if value is not None else None

    def active_at(self, at: datetime | None) -> bool:
        """Whether this person acts as themself at ``at`` (``None``: now, as far as known)."""
        return self.left is None or (at is not None and at < self.left)

    @field_validator("bugzilla", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is None:
            return value
        start, sep, end = value.partition("-")
        if not sep or not all(_is_hhmm(part) for part in (start, end)):
            raise ValueError("working_hours must look like '09:00-17:00'")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_zone(value)


def check_zone(value: str) -> str:
    """``value`` when it names an IANA timezone; ValueError otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {value!r}") from exc
    return value


def _is_hhmm(text: str) -> bool:
    hours, sep, minutes = text.strip().partition(":")
    return (
        bool(sep)
        and hours.isdigit()
        and minutes.isdigit()
        and int(hours) < 24
        and int(minutes) < 60
    )


class Team(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    members: list[str] = []  # person keys
    github_teams: list[str] = []  # "org/team-slug": active members count
    github_permission: str | None = None  # a minimum repository permission, e.g. "write"

    @field_validator("github_teams")
    @classmethod
    def _slugs(cls, value: list[str]) -> list[str]:
        for slug in value:
            org, sep, team = slug.partition("/")
            if not sep or not org or not team or "/" in team:
                raise ValueError(f"{slug!r} is not 'org/team-slug'")
        return value

    @field_validator("github_permission")
    @classmethod
    def _permission(cls, value: str | None) -> str | None:
        if value is not None and value not in PERMISSIONS:
            raise ValueError(f"must be one of {', '.join(PERMISSIONS)}")
        return value


class ProductPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    required_signoffs: list[str] = []
    require_ship: bool | None = None  # None: the policy's require_ship


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    people: dict[str, Person] = {}
    teams: dict[str, Team] = {}
    products: dict[str, ProductPolicy] = {}
    ship_team: str = "Relman"  # whose members may say "Please ship X to users"
    renew_signoffs_after_hold: bool = True  # a sign-off or ship decision before a hold is stale
    require_ship: bool = False  # the gate also needs the ship decision unless told otherwise
    stale_handoff_minutes: int = Field(default=120, ge=1)
    # Anyone who can comment may hold a release, note and link (the person who noticed the
    # problem is often outside every team). On trackers open to the public, restrict that to
    # the people in this policy.
    restrict_to_people: bool = False
    witnesses: list[str] = []  # people whose checkpoints (the daemon's account) count
    # who may take over as incident commander (with a reason) when the IC cannot act
    incident_leads: list[str] = []
    min_reason_words: int = Field(default=2, ge=1)  # "ok" is no reason; nor is one word
    # bot accounts that relay what people said in chat rooms (person keys): a relayed event
    # counts only from one of these, for a chat identity mapped to a person (Person.matrix,
    # Person.slack), and is then that person's
    relays: list[str] = []
    severities: list[str] = ["S1", "S2", "S3", "S4"]  # worst first
    # checks the gate relies on that this policy accepts not being made (each named check
    # gives up a detection: README "Missing evidence"); by default a missing check means
    # the gate cannot decide
    accept_weaker_checks: list[Literal["github-edits", "bugzilla-history"]] = []

    @field_validator("people")
    @classmethod
    def _keys(cls, value: dict[str, Person]) -> dict[str, Person]:
        for key in value:
            if not KEY.fullmatch(key):
                raise ValueError(
                    f"{key!r} is not a usable person key: use letters, digits, '_', '.' and '-' "
                    '(a key is a label; accounts go in its table, e.g. bugzilla = "a@b.org")'
                )
        return value

    @property
    def permissive(self) -> bool:
        return not self.people and not self.teams

    def validate_references(self) -> list[str]:
        """Problems a user should fix: team members that are not people, and the like."""
        problems = [
            f"{field}: {w!r} is not in [people]"
            for field, names in (("witnesses", self.witnesses), ("relays", self.relays))
            for w in names
            if w not in self.people
        ]
        problems += [
            f"incident_leads: {p!r} is not in [people]"
            for p in self.incident_leads
            if p not in self.people
        ]
        for team_name, team in self.teams.items():
            for member in team.members:
                if member not in self.people:
                    problems.append(f"teams.{team_name}.members: {member!r} is not in [people]")
        for product, rules in self.products.items():
            for team_name in rules.required_signoffs:
                if self.team_name(team_name) is None and not self.permissive:
                    problems.append(
                        f"products.{product}.required_signoffs: no team named {team_name!r}"
                    )
        return problems

    # --- people ---------------------------------------------------------------------------

    def person_for(
        self, kind: TrackerKind, account: Account, at: datetime | None = None
    ) -> str | None:
        """The person key behind a tracker account at ``at``, or None for a stranger.

        GitHub accounts are bound by numeric id alone: a person without ``github_id`` has
        no GitHub account here, and an account that took a person's old login is a
        stranger. ``at``: when the account acted (``None``: now); a person who ``left``
        before then is a stranger.
        """
        key = self._bound(kind, account)
        if key is None or not self.people[key].active_at(at):
            return None
        return key

    def _bound(self, kind: TrackerKind, account: Account) -> str | None:
        login = account.login.casefold()
        for key, person in self.people.items():
            if kind == "bugzilla" and login in (b.casefold() for b in person.bugzilla):
                return key
            if (
                kind == "github"
                and person.github_id is not None
                and account.uid == str(person.github_id)
            ):
                return key
            if kind == "local" and (person.local or key).casefold() == login:
                return key
        return None

    def actor_for(self, kind: TrackerKind, account: Account, at: datetime | None = None) -> str:
        """Who acted, as the record names them: the person key, or a stranger's actor string.

        A stranger's string never equals a policy key (keys carry neither ``#`` nor ``@``)
        and is one per account: ``login#id`` on GitHub (so an account that takes an old
        login is another stranger), the login on Bugzilla (a verified e-mail address),
        ``login#local`` on the local tracker. A permissive policy knows nobody: accounts
        are their logins.
        """
        if self.permissive:
            return account.login
        person = self.person_for(kind, account, at)
        if person is not None:
            return person
        return stranger(kind, account)

    def unpinned(self, kind: TrackerKind, account: Account) -> str | None:
        """The person whose GitHub login this account has, when it is not their pinned id.

        For words only (a rejection's hint): the login binds nothing.
        """
        if kind != "github":
            return None
        login = account.login.casefold()
        for key, person in self.people.items():
            named = person.github is not None and person.github.casefold() == login
            if named and (person.github_id is None or str(person.github_id) != account.uid):
                return key
        return None

    def person_for_chat(self, chat: str, user: str) -> str | None:
        """The person a chat identity (``matrix`` user id, ``slack`` member id) belongs to."""
        for key, person in self.people.items():
            mapped = (
                person.matrix if chat == "matrix" else person.slack if chat == "slack" else None
            )
            if mapped is not None and mapped == user:
                return key
        return None

    def without_github_id(self) -> list[str]:
        """People with a GitHub login but no pinned ``github_id``: they cannot act on GitHub."""
        return [k for k, p in self.people.items() if p.github and p.github_id is None]

    def resolve_name(self, name: str) -> str | None:
        """A person key from what a user typed: the key, a display name or any account."""
        folded = name.casefold().lstrip("@")
        for key, person in self.people.items():
            accounts = [key, person.name, person.github or "", person.local or ""]
            accounts += person.bugzilla
            if folded in (a.casefold() for a in accounts if a):
                return key
        return None

    def account_for(self, kind: TrackerKind, person: str) -> str | None:
        """The account a person has on a tracker (for assignee, needinfo and pings)."""
        found = self.people.get(person)
        if found is None:
            return person if self.permissive else None
        if kind == "bugzilla":
            return found.bugzilla[0] if found.bugzilla else None
        if kind == "github":
            return found.github
        return found.local or person

    def suggest(self, name: str, candidates: list[str] | None = None) -> str | None:
        """The person (or other candidate) ``name`` most likely meant: ``beatrix`` → ``beatrice``."""
        import difflib

        pool = list(self.people) if candidates is None else candidates
        by_fold = {c.casefold(): c for c in pool}
        found = difflib.get_close_matches(
            name.casefold().lstrip("@"), list(by_fold), n=1, cutoff=0.6
        )
        return by_fold[found[0]] if found else None

    def display(self, person: str) -> str:
        found = self.people.get(person)
        return found.name if found is not None and found.name else person

    # --- teams ----------------------------------------------------------------------------

    def team_name(self, name: str) -> str | None:
        """The canonical team name ('qa' → 'QA'), or None when no such team exists."""
        for team in self.teams:
            if team.casefold() == name.casefold():
                return team
        return None

    def required_for(self, release: str) -> list[str]:
        rules = self._product(release)
        return list(rules.required_signoffs) if rules is not None else []

    def ship_required_for(self, release: str) -> bool:
        """Whether the gate needs the ship decision for ``release``: the product's say, else ours."""
        rules = self._product(release)
        if rules is not None and rules.require_ship is not None:
            return rules.require_ship
        return self.require_ship

    def _product(self, release: str) -> ProductPolicy | None:
        product = release.rpartition(" ")[0].casefold()
        for name, rules in self.products.items():
            if name.casefold() == product:
                return rules
        return None


@dataclass(frozen=True)
class Facts:
    """Membership facts looked up on the tracker before folding (GitHub org teams, permissions).

    ``members`` maps a team name to the accounts verified as members, by :attr:`Account.key`
    (GitHub: the numeric id, never a login another account could take); ``unknown`` maps a team
    to why membership could not be checked (the gate then fails closed). ``checked_on`` is the
    kind of tracker that vouched for them: its accounts are what ``members`` names, so the
    facts count for comments on that kind of tracker only (a login elsewhere may be someone else).
    """

    members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    unknown: Mapping[str, str] = field(default_factory=dict)
    checked_on: TrackerKind | None = None


def in_team(
    policy: Policy,
    team: str,
    kind: TrackerKind,
    account: Account | None,
    person: str | None,
    facts: Facts,
) -> tuple[bool, str]:
    """Whether ``person`` (or ``account``) may act for ``team``; the reason when it may not.

    ``account`` is the comment's author, whose membership the tracker may vouch for; None
    for an event a relay posted for ``person`` (the relay's account is not theirs).
    """
    if policy.permissive:
        return True, ""
    canonical = policy.team_name(team)
    if canonical is None:
        return False, f"there is no team {team!r} in the policy"
    rules = policy.teams[canonical]
    if person is not None and person in rules.members:
        return True, ""
    # facts vouch for the comment's own account: never for someone a relay speaks for
    vouched = facts.checked_on == kind and account is not None
    if vouched and account is not None and account.key in facts.members.get(canonical, frozenset()):
        return True, ""
    if vouched and canonical in facts.unknown and (rules.github_teams or rules.github_permission):
        return False, f"membership of {canonical} could not be checked: {facts.unknown[canonical]}"
    who = person or (policy.actor_for(kind, account) if account is not None else "?")
    return False, f"{who} is not a member of {canonical}"


def stranger(kind: TrackerKind, account: Account) -> str:
    """A stranger's actor string: never a policy key, one per account (see actor_for)."""
    if kind == "github":
        return f"{account.login}#{account.uid or '?'}"
    if kind == "bugzilla" and "@" in account.login:
        return account.login
    return f"{account.login}#{kind}"
