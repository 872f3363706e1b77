"""Who may do what: people, their tracker accounts, teams and roles.

The policy comes from the configuration file. People are keyed by a short name ("alice") and
map to one account per tracker; GitHub accounts are pinned by numeric id when it is known,
because logins can be renamed. Teams list people, and on GitHub may also name an org team
(``org/team-slug``) whose active members count, or a minimum repository permission.

Without people or teams the policy is *permissive*: any account may make any event (the
fold still enforces the handoff and hold rules) and every command says so.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sync_incident.core.comments import Account
from sync_incident.core.refs import TrackerKind

PERMISSIONS = ("read", "triage", "write", "maintain", "admin")


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""  # display name; defaults to the key
    bugzilla: list[str] = []
    github: str | None = None
    github_id: int | None = None
    local: str | None = None
    timezone: str = "UTC"
    working_hours: str | None = None  # "09:00-17:00" in the person's timezone

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
    severities: list[str] = ["S1", "S2", "S3", "S4"]  # worst first

    @property
    def permissive(self) -> bool:
        return not self.people and not self.teams

    def validate_references(self) -> list[str]:
        """Problems a user should fix: team members that are not people, and the like."""
        problems = [
            f"witnesses: {w!r} is not in [people]" for w in self.witnesses if w not in self.people
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

    def person_for(self, kind: TrackerKind, account: Account) -> str | None:
        """The person key behind a tracker account, or None for a stranger."""
        login = account.login.casefold()
        for key, person in self.people.items():
            if kind == "bugzilla" and login in (b.casefold() for b in person.bugzilla):
                return key
            if kind == "github" and person.github and person.github.casefold() == login:
                if person.github_id is not None and account.uid != str(person.github_id):
                    continue  # same login, other account: a renamed or reused login
                return key
            if kind == "local" and (person.local or key).casefold() == login:
                return key
        return None

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
        product = release.rpartition(" ")[0].casefold()
        for name, rules in self.products.items():
            if name.casefold() == product:
                return list(rules.required_signoffs)
        return []


@dataclass(frozen=True)
class Facts:
    """Membership facts looked up on the tracker before folding (GitHub org teams, permissions).

    ``members`` maps a team name to the accounts verified as members; ``unknown`` maps a team
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
    account: Account,
    person: str | None,
    facts: Facts,
) -> tuple[bool, str]:
    """Whether ``account`` may act for ``team``; the reason when it may not."""
    if policy.permissive:
        return True, ""
    canonical = policy.team_name(team)
    if canonical is None:
        return False, f"there is no team {team!r} in the policy"
    rules = policy.teams[canonical]
    if person is not None and person in rules.members:
        return True, ""
    vouched = facts.checked_on == kind
    if vouched and account.login.casefold() in facts.members.get(canonical, frozenset()):
        return True, ""
    if vouched and canonical in facts.unknown and (rules.github_teams or rules.github_permission):
        return False, f"membership of {canonical} could not be checked: {facts.unknown[canonical]}"
    who = person or account.login
    return False, f"{who} is not a member of {canonical}"
