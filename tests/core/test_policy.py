"""Who may do what: people, accounts per tracker, teams, products."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from sync_incident.core.comments import Account
from sync_incident.core.policy import Facts, Person, Policy, ProductPolicy, Team, in_team

POLICY = Policy(
    people={
        "alice": Person(
            name="Alice Liddell",
            bugzilla=["alice@example.com", "alice@mozilla.test"],
            github="alice-gh",
            github_id=101,
        ),
        "bob": Person(bugzilla="bob@example.com", github="bobby", local="bobl"),
        "quinn": Person(),
    },
    teams={
        "QA": Team(members=["quinn", "alice"]),
        "Releng": Team(members=["bob"], github_teams=["mozilla/releng"]),
    },
    products={"Firefox": ProductPolicy(required_signoffs=["QA", "Releng"])},
)


def test_empty_policy_is_permissive() -> None:
    assert Policy().permissive


def test_policy_with_people_is_not_permissive() -> None:
    assert not POLICY.permissive


def test_bugzilla_login_maps_to_the_person_ignoring_case() -> None:
    assert POLICY.person_for("bugzilla", Account("ALICE@mozilla.test")) == "alice"


def test_bugzilla_login_given_as_one_string_is_a_list() -> None:
    assert POLICY.people["bob"].bugzilla == ["bob@example.com"]


def test_github_login_maps_to_the_person() -> None:
    assert POLICY.person_for("github", Account("Alice-GH", uid="101")) == "alice"


def test_github_login_with_another_numeric_id_is_a_stranger() -> None:
    # a renamed or reused login: same name, different account
    assert POLICY.person_for("github", Account("alice-gh", uid="999")) is None


def test_github_login_without_pinned_id_binds_nobody() -> None:
    # a login is for look-ups and mentions: anyone may register one a person gave up
    assert POLICY.person_for("github", Account("bobby", uid="5")) is None
    assert POLICY.actor_for("github", Account("bobby", uid="5")) == "bobby#5"
    assert POLICY.unpinned("github", Account("bobby", uid="5")) == "bob"
    assert POLICY.without_github_id() == ["bob"]


def test_a_renamed_github_account_keeps_its_person() -> None:
    assert POLICY.person_for("github", Account("alice-new-login", uid="101")) == "alice"


def test_an_account_that_took_a_persons_login_is_a_stranger_of_its_own() -> None:
    ivan = Account("alice-gh", uid="31337")
    assert POLICY.person_for("github", ivan) is None
    assert POLICY.actor_for("github", ivan) == "alice-gh#31337"
    assert POLICY.actor_for("github", Account("alice", uid="4242")) == "alice#4242"


@pytest.mark.parametrize(
    ("kind", "login", "actor"),
    [
        ("bugzilla", "mallory@example.com", "mallory@example.com"),
        ("bugzilla", "alice", "alice#bugzilla"),
        ("local", "alice-gh", "alice-gh#local"),
    ],
)
def test_a_strangers_actor_never_equals_a_policy_key(kind: Any, login: str, actor: str) -> None:
    assert POLICY.actor_for(kind, Account(login)) == actor
    assert actor not in POLICY.people


@pytest.mark.parametrize("key", ["ivan#4242", "a@b.org", "two words", ""])
def test_a_policy_key_cannot_take_a_strangers_form(key: str) -> None:
    with pytest.raises(ValidationError, match="not a usable person key"):
        Policy(people={key: Person()})


def test_a_permissive_policy_matches_accounts_by_login() -> None:
    assert Policy().actor_for("github", Account("ivan", uid="4242")) == "ivan"


def test_someone_who_left_is_a_stranger_from_then_and_themself_before() -> None:
    policy = Policy(people={"quinn": {"bugzilla": "quinn@example.com", "left": "2022-01-13"}})
    quinn = Account("quinn@example.com")
    before = datetime(2022, 1, 12, 23, 59, tzinfo=UTC)
    after = datetime(2022, 1, 13, 0, 0, tzinfo=UTC)
    assert policy.person_for("bugzilla", quinn, before) == "quinn"
    assert policy.person_for("bugzilla", quinn, after) is None
    assert policy.person_for("bugzilla", quinn) is None  # now: gone


def test_chat_identities_map_to_people() -> None:
    policy = Policy(
        people={"alice": Person(matrix="@alice:example.org", slack="U024BE7LH")},
        relays=[],
    )
    assert policy.person_for_chat("matrix", "@alice:example.org") == "alice"
    assert policy.person_for_chat("slack", "U024BE7LH") == "alice"
    assert policy.person_for_chat("matrix", "U024BE7LH") is None


def test_relays_must_be_people() -> None:
    assert Policy(people={"a": Person()}, relays=["bot"]).validate_references() == [
        "relays: 'bot' is not in [people]"
    ]


def test_local_account_defaults_to_the_person_key() -> None:
    assert POLICY.person_for("local", Account("quinn")) == "quinn"


def test_local_account_can_be_configured() -> None:
    assert POLICY.person_for("local", Account("bobl")) == "bob"
    assert POLICY.person_for("local", Account("bob")) is None


def test_account_of_one_tracker_does_not_count_on_another() -> None:
    assert POLICY.person_for("github", Account("alice@example.com")) is None


def test_unknown_account_is_a_stranger() -> None:
    assert POLICY.person_for("bugzilla", Account("mallory@example.com")) is None


@pytest.mark.parametrize("typed", ["alice", "Alice Liddell", "@alice-gh", "ALICE@example.com"])
def test_resolve_name_accepts_key_display_name_and_accounts(typed: str) -> None:
    assert POLICY.resolve_name(typed) == "alice"


def test_resolve_name_of_a_stranger_is_none() -> None:
    assert POLICY.resolve_name("mallory") is None


@pytest.mark.parametrize(
    "kind,expected", [("bugzilla", "alice@example.com"), ("github", "alice-gh"), ("local", "alice")]
)
def test_account_for_each_tracker(kind: Any, expected: str) -> None:
    assert POLICY.account_for(kind, "alice") == expected


def test_account_for_an_unknown_person_is_none_when_configured() -> None:
    assert POLICY.account_for("github", "mallory") is None


def test_account_for_anyone_is_their_name_when_permissive() -> None:
    assert Policy().account_for("github", "mallory") == "mallory"


def test_display_name_defaults_to_the_key() -> None:
    assert POLICY.display("alice") == "Alice Liddell"
    assert POLICY.display("quinn") == "quinn"


def test_team_names_compare_without_case() -> None:
    assert POLICY.team_name("releng") == "Releng"
    assert POLICY.team_name("Marketing") is None


def test_required_signoffs_per_product_ignore_case() -> None:
    assert POLICY.required_for("firefox 96.0.1") == ["QA", "Releng"]


def test_required_signoffs_for_an_unknown_product_are_none() -> None:
    assert POLICY.required_for("Focus 97.0") == []


def test_required_signoffs_use_the_whole_product_name() -> None:
    policy = Policy(products={"Firefox ESR": ProductPolicy(required_signoffs=["QA"])})
    assert policy.required_for("Firefox ESR 91.5.1") == ["QA"]
    assert policy.required_for("Firefox 91.5.1") == []


def test_member_may_act_for_the_team() -> None:
    ok, why = in_team(POLICY, "qa", "bugzilla", Account("alice@example.com"), "alice", Facts())
    assert (ok, why) == (True, "")


def test_non_member_may_not_act_for_the_team() -> None:
    ok, why = in_team(POLICY, "Releng", "bugzilla", Account("a@example.com"), "alice", Facts())
    assert (ok, why) == (False, "alice is not a member of Releng")


def test_unknown_team_is_refused() -> None:
    ok, why = in_team(POLICY, "Marketing", "local", Account("alice"), "alice", Facts())
    assert not ok and "no team 'Marketing'" in why


def test_permissive_policy_lets_anyone_act_for_any_team() -> None:
    assert in_team(Policy(), "Releng", "local", Account("x"), None, Facts()) == (True, "")


def test_verified_github_team_member_may_act_for_the_team() -> None:
    facts = Facts(members={"Releng": frozenset({"7001"})}, checked_on="github")
    assert in_team(POLICY, "Releng", "github", Account("Rachel", uid="7001"), None, facts)[0]


def test_github_membership_facts_are_kept_by_account_id_not_login() -> None:
    # rachel's membership was vouched for account 7001; an account that took her login is not
    facts = Facts(members={"Releng": frozenset({"7001"})}, checked_on="github")
    ok, why = in_team(POLICY, "Releng", "github", Account("rachel", uid="9999"), None, facts)
    assert not ok and why == "rachel#9999 is not a member of Releng"


def test_a_relayed_event_is_never_vouched_for_by_the_relays_membership() -> None:
    facts = Facts(members={"Releng": frozenset({"7001"})}, checked_on="github")
    assert not in_team(POLICY, "Releng", "github", None, "quinn", facts)[0]


def test_unverifiable_github_membership_fails_closed() -> None:
    facts = Facts(unknown={"Releng": "403 from the API"}, checked_on="github")
    ok, why = in_team(POLICY, "Releng", "github", Account("rachel"), None, facts)
    assert not ok and "could not be checked: 403 from the API" in why


def test_github_facts_do_not_count_on_bugzilla() -> None:
    facts = Facts(members={"Releng": frozenset({"rachel"})}, checked_on="github")
    assert not in_team(POLICY, "Releng", "bugzilla", Account("rachel"), None, facts)[0]


def test_facts_no_tracker_vouched_for_do_not_count() -> None:
    facts = Facts(members={"Releng": frozenset({"rachel"})})
    assert not in_team(POLICY, "Releng", "github", Account("rachel"), None, facts)[0]


def test_references_to_unknown_people_are_reported() -> None:
    policy = Policy(people={"a": Person()}, teams={"QA": Team(members=["a", "ghost"])})
    assert policy.validate_references() == ["teams.QA.members: 'ghost' is not in [people]"]


def test_required_signoffs_naming_an_unknown_team_are_reported() -> None:
    policy = Policy(
        people={"a": Person()},
        teams={"QA": Team(members=["a"])},
        products={"Firefox": ProductPolicy(required_signoffs=["QA", "Rel"])},
    )
    assert policy.validate_references() == [
        "products.Firefox.required_signoffs: no team named 'Rel'"
    ]


def test_valid_policy_has_no_problems() -> None:
    assert POLICY.validate_references() == []


@pytest.mark.parametrize(
    "factory",
    [
        lambda: Person(timezone="Mars/Olympus"),
        lambda: Person(working_hours="9-17"),
        lambda: Person(working_hours="25:00-17:00"),
        lambda: Person.model_validate({"unknown_key": 1}),
        lambda: Team(github_teams=["no-slash"]),
        lambda: Team(github_teams=["org/team/extra"]),
        lambda: Team(github_permission="owner"),
        lambda: Policy(stale_handoff_minutes=0),
    ],
)
def test_invalid_policy_values_are_refused(factory: Any) -> None:
    with pytest.raises(ValidationError):
        factory()


def test_valid_working_hours_and_timezone_are_kept() -> None:
    person = Person(timezone="Europe/Berlin", working_hours="09:00-17:30")
    assert (person.timezone, person.working_hours) == ("Europe/Berlin", "09:00-17:30")
