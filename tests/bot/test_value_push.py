"""Values other systems push (`Drumbeat.values.push`), through the real service and database
(both backends), as people then see them in the console chat: `mine`, `tree`, `status` and
`history`, the owner's next form, the weekly digest and the forecast."""

from __future__ import annotations

import io
import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.console.render import render
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from rhythm.cadences import RhythmKind
from rhythm.checkin import CheckedIn
from rhythm.commands import run_command
from rhythm.digest_model import Digest, KrLine
from rhythm.digest_report import digest_report
from rhythm.errors import CommandError, UnknownKeyResult, UnknownOrganisation
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.messages import Form, Message
from rhythm.okr import Cycle, KeyResult, Metric, Objective
from rhythm.ports import Answering, FixedClock
from rhythm.service import Drumbeat
from rhythm.status import Status
from rhythm.values import ValuePushed
from storage.store import SqlStore

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme.yaml"
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # 2026-W48
PROMPTED = MONDAY + timedelta(hours=9, minutes=5)  # 10:05 in Paris: the weekly went out
LUCAS = "lucas.bernard@acme.example"  # growth member: one key result, 52% of 40% → 70%
KR = "onboarding-completion"
VALUE = f"kr:{KR}:value"


@pytest.fixture
async def drumbeat(store: SqlStore) -> Drumbeat:
    await store.save_organisation(load_organisation(ACME))
    chat = ConsoleGateway(console=Console(file=io.StringIO()))
    router = ChatRouter(gateways={"console": chat}, fallback="console")
    drumbeat = Drumbeat(store=store, chat=router, clock=FixedClock(PROMPTED), worker="test")
    await drumbeat.tick(PROMPTED)  # everybody due was asked: participation has its people
    return drumbeat


def shown(message: Message) -> str:
    """What the terminal shows of `message`."""
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(render(message))
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


async def say(drumbeat: Drumbeat, who: str, text: str) -> str:
    reply = await run_command(drumbeat, "acme", who, text, prefix="/okr ")
    assert reply.message is not None
    return shown(reply.message)


async def growth_digest(drumbeat: Drumbeat) -> Digest:
    return await drumbeat.digests.digest("acme", "growth", at=drumbeat.clock.now())


def kr_line(digest: Digest) -> KrLine:
    return next(k for o in digest.objectives for k in o.key_results if k.key == KR)


def answered(form: Form) -> dict[str, str | None]:
    """Every field answered: its prefill, else a valid answer (a confidence of 7)."""
    wanted = {"confidence": "7", "moved": "Shipped the checklist"}
    return {f.id: f.initial or wanted.get(f.id.rsplit(":", 1)[-1], "") for f in form.fields}


def later(drumbeat: Drumbeat, delta: timedelta) -> datetime:
    clock = drumbeat.clock
    assert isinstance(clock, FixedClock)
    return clock.advance(delta)


# ---- what people see -----------------------------------------------------------------------


# The flows on SQLite; storage under them runs on both backends in
# tests/storage/test_auto_updates.py (concurrency included).
SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@SQLITE
async def test_a_pushed_value_is_what_mine_tree_status_and_history_show(
    drumbeat: Drumbeat,
) -> None:
    pushed = await drumbeat.values.push("acme", KR, 58, source="ci", idempotency_key="run-1")

    assert pushed == ValuePushed(KR, 58, "ci", PROMPTED, created=True)
    assert "58% → target 70%" in await say(drumbeat, LUCAS, "mine")
    assert "Lucas Bernard · 58% → target 70% · 60%" in await say(drumbeat, LUCAS, "tree growth")
    status = await say(drumbeat, LUCAS, "status growth")
    before = await growth_digest(drumbeat)
    assert f"{before.objectives[0].progress:.0%}" in status
    history = await say(drumbeat, LUCAS, f"history {KR}")
    assert "(automatic: ci)" in history
    assert "58%" in history


@SQLITE
async def test_the_owners_next_form_is_prefilled_with_the_pushed_value(drumbeat: Drumbeat) -> None:
    await drumbeat.values.push("acme", KR, 58.5, source="warehouse")

    page = await drumbeat.checkins.open("acme", LUCAS)
    field = next(f for f in page.form.fields if f.id == VALUE)
    assert field.initial == "58.5"
    assert "58.5" in shown(page.form).split("New value (%) *")[1].split("\n")[0]

    answers = answered(page.form)
    done = await drumbeat.checkins.submit("acme", LUCAS, page.form.context, answers)
    assert isinstance(done, CheckedIn)
    assert (await drumbeat.store.current_values("acme", [KR])) == {KR: 58.5}


@SQLITE
async def test_the_weekly_digest_says_the_value_came_from_the_push_and_counts_its_change(
    drumbeat: Drumbeat,
) -> None:
    quiet = kr_line(await growth_digest(drumbeat))
    assert (quiet.update_text(), quiet.change_text()) == ("no update", "52%")

    await drumbeat.values.push("acme", KR, 55, source="ci")
    later(drumbeat, timedelta(hours=5))
    await drumbeat.values.push("acme", KR, 58, source="ci")
    digest = await growth_digest(drumbeat)

    line = kr_line(digest)
    assert line.automatic == "ci"
    assert line.change_text() == "52% → 58%"  # from where the period began
    assert not line.checked_in  # nobody checked in: the participation says so
    text = shown(digest_report(digest))
    assert "52% → 58%" in text
    assert "updated automatically from ci" in text
    assert "no update" not in text.split("Onboarding completion")[1].split("\n")[1]
    part = digest.participation
    assert part.checked_in == 0
    assert "Lucas Bernard" in part.pending
    assert "0/2 checked in" in await say(drumbeat, LUCAS, "status growth")  # nobody's check-in


@SQLITE
async def test_a_check_in_after_a_push_sets_the_value_and_a_push_after_it_again(
    drumbeat: Drumbeat,
) -> None:
    await drumbeat.values.push("acme", KR, 55, source="ci")
    later(drumbeat, timedelta(hours=1))
    page = await drumbeat.checkins.open("acme", LUCAS)
    answers = answered(page.form)
    answers[VALUE] = "56"
    assert isinstance(
        await drumbeat.checkins.submit("acme", LUCAS, page.form.context, answers), CheckedIn
    )

    line = kr_line(await growth_digest(drumbeat))
    assert (line.automatic, line.checked_in, line.value) == (None, True, 56)
    assert line.change_text() == "52% → 56%"  # the push came first: the period began at 52
    assert line.update_text() == ""

    later(drumbeat, timedelta(hours=1))
    await drumbeat.values.push("acme", KR, 61, source="ci")
    line = kr_line(await growth_digest(drumbeat))
    assert (line.automatic, line.checked_in, line.value) == ("ci", True, 61)
    assert line.change_text() == "52% → 61%"
    assert line.confidence == 7  # the owner's, from the check-in


@SQLITE
async def test_a_push_after_the_check_in_counts_from_where_the_period_began(
    drumbeat: Drumbeat,
) -> None:
    page = await drumbeat.checkins.open("acme", LUCAS)
    answers = answered(page.form)
    answers[VALUE] = "54"
    await drumbeat.checkins.submit("acme", LUCAS, page.form.context, answers)
    later(drumbeat, timedelta(hours=1))
    await drumbeat.values.push("acme", KR, 57, source="ci")

    line = kr_line(await growth_digest(drumbeat))
    assert (line.automatic, line.value, line.change_text()) == ("ci", 57, "52% → 57%")
    digest = await growth_digest(drumbeat)
    assert digest.participation.checked_in == 1  # Lucas, once: his check-in


@SQLITE
async def test_the_forecast_reads_pushed_values(drumbeat: Drumbeat) -> None:
    assert await drumbeat.reports.forecasts("acme", [KR]) == {}

    await drumbeat.values.push("acme", KR, 54, source="ci", at=PROMPTED - timedelta(days=14))
    await drumbeat.values.push("acme", KR, 56, source="ci", at=PROMPTED - timedelta(days=7))
    await drumbeat.values.push("acme", KR, 58, source="ci")

    forecast = (await drumbeat.reports.forecasts("acme", [KR]))[KR]
    assert forecast.score is not None
    assert forecast.score > 0.5  # 2 points a week from 58% by 31 Dec: about 69% of 40 → 70
    assert kr_line(await growth_digest(drumbeat)).forecast is not None
    mine = await say(drumbeat, LUCAS, "mine")
    assert "–" not in mine.split("Onboarding completion")[1].split("\n")[0].rsplit("│", 2)[-2]


# ---- sent again, refused -------------------------------------------------------------------


@SQLITE
async def test_the_same_push_sent_again_is_stored_once(drumbeat: Drumbeat) -> None:
    first = await drumbeat.values.push("acme", KR, 58, source="ci", idempotency_key="run-7")
    later(drumbeat, timedelta(minutes=3))
    await drumbeat.values.push("acme", KR, 60, source="ci")
    again = await drumbeat.values.push("acme", KR, 58, source="ci", idempotency_key="run-7")

    assert again == replace(first, created=False)  # stored at the first time, not now
    assert await drumbeat.store.current_values("acme", [KR]) == {KR: 60}

    with pytest.raises(CommandError, match="used already, for another value: 58% of "):
        await drumbeat.values.push("acme", KR, 59, source="ci", idempotency_key="run-7")
    assert await drumbeat.store.current_values("acme", [KR]) == {KR: 60}


@pytest.mark.parametrize(
    ("key", "value", "source", "refused"),
    [
        (KR, math.nan, "ci", "a finite number"),
        (KR, math.inf, "ci", "a finite number"),
        (KR, True, "ci", "a number"),
        ("eu-residency", 0.5, "ci", "milestone: its value is 1 (done) or 0 (not done), not 0.5"),
        (KR, 58, "", "A source is named with 1 to 40"),
        (KR, 58, "   ", "A source is named with 1 to 40"),
        (KR, 58, "c" * 41, "A source is named with 1 to 40"),
        (KR, 58, "ci/cd", "not “ci/cd”"),
        (KR, 58, "ci\tbuild", "A source is named"),
    ],
)
@SQLITE
async def test_bad_pushes_are_refused_and_store_nothing(
    drumbeat: Drumbeat, key: str, value: float, source: str, refused: str
) -> None:
    with pytest.raises(CommandError, match=refused.replace("(", r"\(").replace(")", r"\)")):
        await drumbeat.values.push("acme", key, value, source=source)
    assert await drumbeat.store.checkin_history("acme", key_result=key, limit=5) == []


@SQLITE
async def test_a_milestone_is_pushed_done(drumbeat: Drumbeat) -> None:
    pushed = await drumbeat.values.push("acme", "eu-residency", 1, source="release-train")
    assert (pushed.value, pushed.source) == (1.0, "release-train")


@SQLITE
async def test_an_unknown_key_result_is_refused_with_the_nearest_key(drumbeat: Drumbeat) -> None:
    with pytest.raises(UnknownKeyResult) as refused:
        await drumbeat.values.push("acme", "onboarding-completoin", 58, source="ci")
    assert refused.value.key == "onboarding-completoin"
    assert refused.value.message == (
        "No key result “onboarding-completoin” in Acme. Did you mean `onboarding-completion`?"
    )
    with pytest.raises(UnknownKeyResult, match=r"No key result “zzz” in Acme\.$"):
        await drumbeat.values.push("acme", "zzz", 58, source="ci")
    with pytest.raises(UnknownOrganisation):
        await drumbeat.values.push("nobody", KR, 58, source="ci")


@SQLITE
async def test_idempotency_keys_and_times_are_checked(drumbeat: Drumbeat) -> None:
    for key in ("", "k" * 201):
        with pytest.raises(CommandError, match="idempotency key has 1 to 200"):
            await drumbeat.values.push("acme", KR, 58, source="ci", idempotency_key=key)
    with pytest.raises(CommandError, match="in the future"):
        await drumbeat.values.push("acme", KR, 58, source="ci", at=PROMPTED + timedelta(hours=1))
    with pytest.raises(CommandError, match="needs its timezone"):
        await drumbeat.values.push("acme", KR, 58, source="ci", at=datetime(2026, 11, 23, 9))
    assert await drumbeat.store.current_values("acme", [KR]) == {KR: 52}
    # A little ahead (another machine's clock) is fine.
    ahead = await drumbeat.values.push(
        "acme", KR, 58, source="ci", at=PROMPTED + timedelta(minutes=2)
    )
    assert ahead.at == PROMPTED + timedelta(minutes=2)


@SQLITE
async def test_a_key_result_with_no_metric_is_refused_and_one_of_a_past_cycle_taken(
    drumbeat: Drumbeat, store: SqlStore
) -> None:
    org = await drumbeat.organisation("acme")
    q3 = Cycle("2026-Q3", date(2026, 7, 1), date(2026, 9, 30))
    await store.save_organisation(
        replace(
            org,
            cycles=(q3, *org.cycles),
            objectives=(*org.objectives, Objective("q3-growth", "Grow in Q3", "2026-Q3", "growth")),
            key_results=(
                *org.key_results,
                KeyResult("q3-signups", "q3-growth", "Sign-ups to 900", LUCAS, Metric(0, 900, 600)),
                KeyResult("be-loved", "q3-growth", "Be loved", LUCAS, None),
            ),
        )
    )

    with pytest.raises(CommandError, match="Be loved has no metric"):
        await drumbeat.values.push("acme", "be-loved", 1, source="ci")
    late = await drumbeat.values.push("acme", "q3-signups", 870, source="warehouse")
    assert late.created
    assert await store.current_values("acme", ["q3-signups"]) == {"q3-signups": 870}


@SQLITE
async def test_a_push_that_moved_the_value_is_not_flat(drumbeat: Drumbeat) -> None:
    """ "On track but flat" reads where the key result stands: a push after the check-in moved
    it, so the warning goes."""
    last_week = KrUpdate(KR, value=52, confidence=7, status=Status.ON_TRACK)
    await drumbeat.store.save_checkin(
        "acme", CheckInDraft(LUCAS, RhythmKind.WEEKLY, kr_updates=(last_week,)),
        period="2026-W47", answering=Answering(), submitted_at=PROMPTED - timedelta(days=7),
        idempotency_key="w47",
    )  # fmt: skip
    page = await drumbeat.checkins.open("acme", LUCAS)
    answers = {**answered(page.form), f"kr:{KR}:status": "on_track"}  # 52% again
    assert isinstance(
        await drumbeat.checkins.submit("acme", LUCAS, page.form.context, answers), CheckedIn
    )
    flat = [w.kind.value for w in (await growth_digest(drumbeat)).warnings if w.key_result == KR]
    assert flat == ["flat_on_track"]

    later(drumbeat, timedelta(hours=1))
    await drumbeat.values.push("acme", KR, 55, source="ci")
    digest = await growth_digest(drumbeat)
    assert [w for w in digest.warnings if w.key_result == KR] == []
    assert kr_line(digest).change_text() == "52% → 55%"
