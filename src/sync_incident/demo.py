"""``sync-incident demo``: the seed's story, played on a fresh local incident.

Alice asks to hold Product 2.0.3; Bob, believing he has full context, tries to proceed and the
gate refuses, naming Alice's hold; Alice releases it; QA and Releng sign off; Relman says
"Please ship Product 2.0.3 to users"; the IC hands off to Beatrice at the end of the day and
Beatrice accepts; the final state prints and the gate passes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from sync_incident.config import Settings
from sync_incident.core.errors import RefusedError
from sync_incident.core.events import (
    Event,
    HandoffAccepted,
    HandoffOffered,
    HoldRaised,
    HoldReleased,
    NextStep,
    Note,
    Opened,
    ShipDecision,
    SignoffGiven,
    StatusUpdate,
    StepAdded,
    StepUpdated,
)
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team
from sync_incident.core.readiness import Verdict, readiness
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.core.times import parse_time
from sync_incident.service import Session
from sync_incident.views import state_text, verdict_text

RELEASE = "Product 2.0.3"
Echo = Callable[[str], None]


def demo_settings(db: Path, cache: Path) -> Settings:
    """A local tracker and a small policy, so the trust rules are enforced as in production."""
    people = {
        "dana": Person(name="Dana", timezone="America/Toronto", working_hours="09:00-17:00"),
        "beatrice": Person(name="Beatrice", timezone="Europe/Berlin", working_hours="09:00-17:00"),
        "alice": Person(name="Alice", timezone="America/Los_Angeles"),
        "bob": Person(name="Bob", timezone="America/New_York"),
        "quinn": Person(name="Quinn", timezone="Europe/London"),
        "rachel": Person(name="Rachel", timezone="Europe/Berlin"),
        "morgan": Person(name="Morgan", timezone="America/Toronto"),
    }
    teams = {
        "QA": Team(members=["quinn", "alice"]),
        "Releng": Team(members=["rachel", "dana", "beatrice", "bob"]),
        "Relman": Team(members=["morgan"]),
    }
    products = {"Product": ProductPolicy(required_signoffs=["QA", "Releng"])}
    return Settings(
        local={"db": db},
        cache=cache,
        policy=Policy(people=people, teams=teams, products=products),
    )


class _Story:
    def __init__(self, settings: Settings, echo: Echo) -> None:
        self.settings = settings
        self.echo = echo
        self.ref = IncidentRef("local", 1)

    async def post(
        self, who: str, command: str, events: Sequence[Event], *, strict: bool = False
    ) -> bool:
        self.echo(f"\n$ sync-incident --as {who} {command}")
        async with Session(self.settings, as_user=who) as session:
            try:
                outcome = await session.post(self.ref, events, strict=strict)
            except RefusedError as exc:
                self.echo(f"{exc.label}: {exc.message}")
                return False
        for finding in outcome.findings:
            self.echo(f"Wording: {finding}")
        self.echo("Posted:")
        for line in outcome.body.split("\n"):
            self.echo(f"  | {line}")
        return True

    async def state(self) -> IncidentState:
        async with Session(self.settings, as_user="dana") as session:
            return (await session.read(self.ref)).state

    async def gate(self, who: str) -> Verdict:
        self.echo(
            f"\n$ sync-incident --as {who} gate {self.ref} --release '{RELEASE}' --require-ship"
        )
        verdict = readiness(
            await self.state(), RELEASE, policy=self.settings.policy, require_ship=True
        )
        self.echo(verdict_text(verdict))
        self.echo(f"(exit {0 if verdict.ready else 1})")
        return verdict


async def play(db: Path | None, *, echo: Echo) -> int:
    """Run the story; return 0 when every step behaved as the rules say."""
    with tempfile.TemporaryDirectory(prefix="sync-incident-demo-") as tmp:
        path = db or Path(tmp) / "demo.sqlite3"
        story = _Story(demo_settings(path, Path(tmp) / "cache.sqlite3"), echo)
        return await _play(story, echo)


async def _play(story: _Story, echo: Echo) -> int:
    ok = True
    echo("The seed's story: a release held, a gate that refuses, a handoff across timezones.")
    echo(f"Incident kept in {story.ref} (local tracker). People: Dana (IC, Toronto), Alice, Bob,")
    echo("Quinn (QA), Rachel (Releng), Morgan (Relman), Beatrice (next IC, Berlin).")
    async with Session(story.settings, as_user="dana") as session:
        opened = Opened(
            title="Startup crash spike in Product 2.0.3 release candidate",
            severity="S2",
            releases=[RELEASE],
            ic="dana",
        )
        echo(
            f"\n$ sync-incident --as dana open --local --title '{opened.title}' --release '{RELEASE}'"
        )
        story.ref = await session.open_new("local", opened)
        echo(f"Incident opened: {story.ref}; dana is incident commander.")
    ok &= await story.post(
        "dana",
        f"step {story.ref} --step 4 --title 'Verify crash fix on nightly' --owner dana",
        [StepAdded(step="4", title="Verify the startup crash fix on nightly", owner="dana")],
    )
    ok &= await story.post(
        "dana",
        f"step {story.ref} --step 5 --title 'Push Product 2.0.3 to the release channel'",
        [StepAdded(step="5", title="Push Product 2.0.3 to the release channel", owner="dana")],
    )
    hold = HoldRaised(
        release=RELEASE, reason="unexplained startup crashes on Windows 7 in the 2.0.3 candidate"
    )
    ok &= await story.post(
        "alice", f"hold {story.ref} --release '{RELEASE}' --reason '{hold.reason}'", [hold]
    )
    echo("\nAlice disappears to track her concern down. Bob believes he has full context.")
    refused = not await story.post(
        "bob",
        f"release-hold {story.ref} --release '{RELEASE}' --reason 'we can proceed'",
        [HoldReleased(release=RELEASE, hold=hold.id, reason="we can proceed")],
    )
    ok &= refused
    vague = "Yeah, it seems fine, we can proceed."
    ok &= not await story.post(
        "bob", f"note {story.ref} --strict --text '{vague}'", [Note(text=vague)], strict=True
    )
    verdict = await story.gate("bob")
    ok &= not verdict.ready and any("alice" in r and "holds" in r for r in verdict.reasons)
    ok &= await story.post(
        "alice",
        f"release-hold {story.ref} --release '{RELEASE}' --reason '...'",
        [
            HoldReleased(
                release=RELEASE,
                hold=hold.id,
                reason="the Windows 7 crashes come from a third-party antivirus, not from 2.0.3; bug 1750001 tracks it",
            )
        ],
    )
    ok &= await story.post(
        "quinn",
        f"signoff {story.ref} --team QA --release '{RELEASE}'",
        [SignoffGiven(team="QA", release=RELEASE, statement=f"QA signs off on {RELEASE}.")],
    )
    ok &= await story.post(
        "rachel",
        f"signoff {story.ref} --team Releng --release '{RELEASE}'",
        [
            SignoffGiven(
                team="Releng",
                release=RELEASE,
                statement=f"Releng has no more concerns about the readiness of {RELEASE}.",
            )
        ],
    )
    ok &= await story.post(
        "morgan",
        f"ship {story.ref} --release '{RELEASE}'",
        [ShipDecision(release=RELEASE, statement=f"Please ship {RELEASE} to users.")],
    )
    ok &= await story.post(
        "dana", f"step {story.ref} --step 4 --state doing", [StepUpdated(step="4", state="doing")]
    )
    ok &= await story.post(
        "dana",
        f"status {story.ref} --summary '...' --next-update +2h",
        [
            StatusUpdate(
                summary=f"QA and Releng signed off on {RELEASE} and Relman asked to ship it. Step 4 (verify the crash fix on nightly) is in progress; step 5 (push to the release channel) is next.",
                next_update_due=parse_time("+2h"),
            )
        ],
    )
    echo("\nDana's working day ends in an hour; Beatrice in Berlin is the next timezone.")
    offer = HandoffOffered(
        to="beatrice",
        done=f"The checklist in {story.ref} is up to date. QA and Releng signed off on {RELEASE}; Relman asked to ship it.",
        todo="Step 4: verify the crash fix on nightly. Step 5: push Product 2.0.3 to the release channel.",
        next_steps=[
            NextStep(what="Finish step 4 and update Beatrice", owner="dana", by=parse_time("+1h")),
            NextStep(what="Pick up step 5", owner="beatrice", by=parse_time("+2h")),
        ],
        notify=["Relman"],
    )
    ok &= await story.post(
        "dana",
        f"handoff {story.ref} --to beatrice --done '...' --todo '...' --next 'Pick up step 5 | beatrice | +2h' --notify Relman",
        [offer],
    )
    ok &= await story.post("beatrice", f"accept {story.ref}", [HandoffAccepted(offer=offer.id)])
    echo(f"\n$ sync-incident {story.ref}")
    state = await story.state()
    echo(state_text(state))
    verdict = await story.gate("beatrice")
    ok &= verdict.ready and state.ic == "beatrice"
    echo(
        "\nDemo finished: every step behaved as the rules say."
        if ok
        else "\nDemo FAILED: a step did not behave as the rules say."
    )
    return 0 if ok else 1
