"""What other systems read: the tree, key results, check-ins page by page, participation;
and every mistake a problem document with a clear message, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.ports import Answering
from rhythm.status import Status
from tests.bot.api.conftest import LUCAS, SOFIA, WEDNESDAY, Api
from tests.bot.api.test_tokens import assert_problem

CAMILLE = "camille.laurent@acme.example"  # growth
HUGO = "hugo.petit@acme.example"  # mobile, owns crash-free


@pytest.fixture
async def token(api: Api) -> str:
    return await api.token("dashboard", "read")


async def check_in(
    api: Api, person: str, key_result: str, value: float, *, days_ago: int, period: str
) -> int:
    """A weekly check-in as the check-in session stores one, `days_ago` before Wednesday."""
    draft = CheckInDraft(
        person=person,
        kind=RhythmKind.WEEKLY,
        kr_updates=(
            KrUpdate(key_result, value=value, confidence=7, status=Status.ON_TRACK, moved="x"),
        ),
        notes={"focus": "ship it"},
    )
    saved = await api.runtime.store.save_checkin(
        "acme", draft, period=period, answering=Answering(),
        submitted_at=WEDNESDAY - timedelta(days=days_ago),
        idempotency_key=f"{person}-{period}-{key_result}",
    )  # fmt: skip
    return saved.id


async def test_the_tree_has_teams_parents_first_people_objectives_and_key_results(
    api: Api, token: str
):
    status, tree, response = await api.call("GET", "/api/v1/organisation", token)

    assert status == 200
    assert response.content_type == "application/json"
    assert (tree["key"], tree["name"]) == ("acme", "Acme")
    teams = {t["key"]: t for t in tree["teams"]}
    assert teams["growth"] == {
        "key": "growth", "name": "Growth", "parent": "product", "timezone": "Europe/Paris",
    }  # fmt: skip
    order = [t["key"] for t in tree["teams"]]
    assert all(
        order.index(t["parent"]) < order.index(t["key"]) for t in teams.values() if t["parent"]
    )
    sofia = next(p for p in tree["people"] if p["email"] == SOFIA)
    assert sofia["teams"] == [{"team": "growth", "lead": True}]
    activation = next(o for o in tree["objectives"] if o["key"] == "activation")
    assert activation == {
        "key": "activation", "title": "Turn sign-ups into active teams", "cycle": "2026-Q4",
        "team": "growth", "owner": None, "parent": "loved-product",
    }  # fmt: skip
    onboarding = next(k for k in tree["key_results"] if k["key"] == "onboarding-completion")
    assert onboarding["owner"] == LUCAS
    assert onboarding["metric"] == {
        "start": 40.0, "target": 70.0, "unit": "%", "direction": "up", "milestone": False,
    }  # fmt: skip


async def test_key_results_say_where_they_stand_from_the_latest_check_in(api: Api, token: str):
    status, before, _ = await api.call("GET", "/api/v1/key-results/onboarding-completion", token)
    assert status == 200
    assert (before["value"], before["confidence"], before["status"]) == (52.0, None, None)
    assert before["progress"] == pytest.approx(0.4)

    await check_in(api, LUCAS, "onboarding-completion", 61, days_ago=0, period="2026-W48")

    _, after, _ = await api.call("GET", "/api/v1/key-results/onboarding-completion", token)
    assert (after["value"], after["confidence"], after["status"]) == (61.0, 7, "on_track")
    assert after["progress"] == pytest.approx(0.7)
    assert (after["cycle"], after["team"], after["owner"]) == ("2026-Q4", "growth", LUCAS)


async def test_key_results_are_filtered_by_team_owner_and_cycle(api: Api, token: str):
    _, everything, _ = await api.call("GET", "/api/v1/key-results", token)
    _, growth, _ = await api.call("GET", "/api/v1/key-results?team=growth", token)
    _, lucas, _ = await api.call("GET", f"/api/v1/key-results?owner={LUCAS}", token)
    _, quarter, _ = await api.call("GET", "/api/v1/key-results?cycle=2026-Q4&team=mobile", token)

    keys = [k["key"] for k in everything["items"]]
    assert {"arr", "onboarding-completion", "crash-free", "eu-residency"} <= set(keys)
    assert [k["key"] for k in growth["items"]] == ["trial-conversion", "onboarding-completion"]
    assert [k["key"] for k in lucas["items"]] == ["onboarding-completion"]
    assert "crash-free" in [k["key"] for k in quarter["items"]]
    assert {k["team"] for k in quarter["items"]} == {"mobile"}


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/api/v1/key-results/onboarding-completoin", "Did you mean"),
        ("/api/v1/key-results?team=nowhere", "No team “nowhere”"),
        ("/api/v1/key-results?owner=nobody@acme.example", "No person nobody@acme.example"),
        ("/api/v1/key-results?cycle=2031-Q1", "No cycle “2031-Q1”"),
        ("/api/v1/check-ins?key_result=nope", "No key result “nope”"),
        ("/api/v1/teams/nowhere/participation", "No team “nowhere”"),
        ("/api/v1/nothing/here", "There is nothing at /api/v1/nothing/here"),
        ("/api/v1", "There is nothing at /api/v1"),
    ],
)
async def test_what_names_nothing_is_a_404_problem(api: Api, token: str, path: str, says: str):
    status, body, response = await api.call("GET", path, token)

    assert_problem(status, body, 404, says)
    assert response.content_type == "application/problem+json"
    assert body["title"] == "Not Found"


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ("limit=500", "query.limit", "less than or equal to 200"),
        ("limit=abc", "query.limit", "valid integer"),
        ("after=-1", "query.after", "greater than or equal to 0"),
        ("since=yesterday", "query.since", "datetime"),
        ("colour=blue", "query.colour", "Extra inputs"),
        ("person=a&person=b", "query.person", "given more than once"),
    ],
)
async def test_a_malformed_query_is_a_400_naming_each_field(
    api: Api, token: str, query: str, field: str, says: str
):
    status, body, _ = await api.call("GET", f"/api/v1/check-ins?{query}", token)

    assert_problem(status, body, 400, field)
    assert [e["field"] for e in body["errors"]] == [field]
    assert says in body["errors"][0]["message"]


async def test_a_method_a_route_does_not_take_is_a_405_problem_with_allow(api: Api, token: str):
    status, body, response = await api.call("DELETE", "/api/v1/organisation", token)

    assert_problem(status, body, 405, "does not take DELETE", "GET")
    assert response.headers["Allow"] == "GET"


async def test_check_ins_come_page_by_page_oldest_first_with_a_next_link(api: Api, token: str):
    ids = [
        await check_in(api, LUCAS, "onboarding-completion", 50 + n, days_ago=20 - 7 * n,
                       period=f"2026-W{45 + n}")
        for n in range(3)
    ] + [
        await check_in(api, SOFIA, "trial-conversion", 9, days_ago=1, period="2026-W48"),
        await check_in(api, HUGO, "crash-free", 98, days_ago=0, period="2026-W48"),
    ]  # fmt: skip

    seen, pages, path = [], 0, "/api/v1/check-ins?limit=2"
    while path:
        status, page, _ = await api.call("GET", path, token)
        assert status == 200
        seen += [c["id"] for c in page["items"]]
        pages += 1
        path = page["next"]
        assert path is None or path.startswith("/api/v1/check-ins?")

    assert (seen, pages) == (ids, 3)
    _, first, _ = await api.call("GET", "/api/v1/check-ins?limit=1", token)
    [checkin] = first["items"]
    assert checkin == {
        "id": ids[0], "person": LUCAS, "kind": "weekly", "period": "2026-W45", "revision": 1,
        "submitted_at": "2026-11-05T12:00:00Z", "prompted": False,
        "key_results": [{
            "key_result": "onboarding-completion", "value": 50.0, "confidence": 7,
            "status": "on_track", "moved": "x", "blockers": "", "blocked_by_team": None,
            "blocked_by_kr": None, "next_step": "", "final_score": None, "decision": None,
        }],
        "initiatives": [], "notes": {"focus": "ship it"},
        "blocked_by_team": None, "blocked_by_kr": None,
    }  # fmt: skip
    assert first["next"] == f"/api/v1/check-ins?limit=1&after={ids[0]}"


async def test_check_ins_are_filtered_by_team_person_key_result_and_time(api: Api, token: str):
    lucas_old = await check_in(api, LUCAS, "onboarding-completion", 50, days_ago=8,
                               period="2026-W47")  # fmt: skip
    lucas = await check_in(api, LUCAS, "onboarding-completion", 55, days_ago=1, period="2026-W48")
    sofia = await check_in(api, SOFIA, "trial-conversion", 9, days_ago=1, period="2026-W48")
    hugo = await check_in(api, HUGO, "crash-free", 98, days_ago=0, period="2026-W48")

    async def ids(query: str) -> list[int]:
        status, page, _ = await api.call("GET", f"/api/v1/check-ins?{query}", token)
        assert status == 200, page
        return [c["id"] for c in page["items"]]

    assert await ids("team=growth") == [lucas_old, lucas, sofia]
    assert await ids("team=engineering") == [hugo]  # mobile is below engineering
    assert await ids(f"person={LUCAS.upper()}") == [lucas_old, lucas]
    assert await ids(f"team=mobile&person={LUCAS}") == []
    assert await ids("key_result=trial-conversion") == [sofia]
    since = (WEDNESDAY - timedelta(days=2)).isoformat()
    assert await ids(f"since={since.replace('+00:00', 'Z')}&person={LUCAS}") == [lucas]
    assert await ids("until=2026-11-20T00:00:00%2B01:00") == [lucas_old]
    assert await ids("until=2026-11-20T00:00:00") == [lucas_old]  # no offset: UTC
    # As early or late as a moment gets, though UTC cannot hold it: all or nothing.
    assert await ids("since=0001-01-01T00:00:00%2B05:00") == [lucas_old, lucas, sofia, hugo]
    assert await ids("since=9999-12-31T23:00:00-05:00") == []


async def test_participation_per_team_and_period_as_the_digest_counts_it(api: Api, token: str):
    await check_in(api, LUCAS, "onboarding-completion", 55, days_ago=1, period="2026-W48")

    status, now, _ = await api.call("GET", "/api/v1/teams/growth/participation", token)
    _, before, _ = await api.call(
        "GET", "/api/v1/teams/growth/participation?kind=weekly&at=2026-11-18T12:00:00Z", token
    )

    assert status == 200
    digest = await api.runtime.drumbeat.digests.digest("acme", "growth", kind=RhythmKind.WEEKLY)
    counted = digest.participation
    assert (now["team"], now["team_name"], now["kind"], now["period"]) == (
        "growth", "Growth", "weekly", "2026-W48",
    )  # fmt: skip
    assert (now["checked_in"], now["spontaneous"], now["expected"]) == (
        counted.checked_in, 1, counted.expected,
    )  # fmt: skip
    assert now["pending"] == list(counted.pending)
    assert (before["period"], before["checked_in"]) == ("2026-W47", 0)


async def test_participation_of_a_period_no_cycle_is_near_is_a_422(api: Api, token: str):
    status, body, _ = await api.call(
        "GET", "/api/v1/teams/growth/participation?at=1333-05-02T19:58:21-09:49", token
    )

    assert_problem(status, body, 422, "No period of 1333-05-03 can be counted", "2000 to 2099")
