"""The OKR tree round-trips exactly, is replaced atomically and stays per organisation."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy.exc import IntegrityError

from rhythm.okr import InitiativeStatus, Metric, Organisation, Team
from rhythm.orgcache import Organisations
from rhythm.ports import Answering
from rhythm.records import Stamp
from storage.store import SqlStore
from tests.storage.builders import ANA, BEN, MONDAY, WEEK, acme, due, update, weekly


async def test_unknown_organisation_loads_as_none(store: SqlStore) -> None:
    assert await store.load_organisation("nobody") is None
    assert await store.organisation_keys() == []


async def test_round_trip_is_exact(store: SqlStore) -> None:
    org = acme()
    await store.save_organisation(org)

    loaded = await store.load_organisation("acme")

    assert loaded == org
    # Equality of the dataclasses hides nothing: check the order-sensitive parts too.
    assert loaded is not None
    assert [p.email for p in loaded.people] == [p.email for p in org.people]
    assert loaded.person["cai@acme.test"].memberships == org.person["cai@acme.test"].memberships
    assert loaded.person[BEN].time_off == org.person[BEN].time_off
    assert loaded.rhythms[0].digest_channels == ("C1", "C2")
    assert loaded.holidays["empty"] == frozenset()


async def test_the_locale_is_kept_and_an_import_changes_it(store: SqlStore) -> None:
    await store.save_organisation(dataclasses.replace(acme(), locale="de_DE"))
    assert (loaded := await store.load_organisation("acme")) is not None
    assert loaded.locale == "de_DE"
    await store.save_organisation(acme())
    assert (loaded := await store.load_organisation("acme")) is not None
    assert loaded.locale == "en"


async def test_the_weekly_nudges_are_kept_and_an_import_changes_them(store: SqlStore) -> None:
    await store.save_organisation(dataclasses.replace(acme(), nudges_per_week=5))
    assert (loaded := await store.load_organisation("acme")) is not None
    assert loaded.nudges_per_week == 5
    await store.save_organisation(acme())
    assert (loaded := await store.load_organisation("acme")) is not None
    assert loaded.nudges_per_week == 3


async def test_saving_again_replaces_the_tree(store: SqlStore) -> None:
    await store.save_organisation(acme())
    smaller = dataclasses.replace(
        acme(),
        name="Acme 2",
        teams=(Team("company", "Acme Inc"),),
        key_results=acme().key_results[:1],
        initiatives=(),
        holidays={},
    )

    await store.save_organisation(smaller)

    assert await store.load_organisation("acme") == smaller


async def test_a_failing_save_leaves_the_previous_tree(store: SqlStore) -> None:
    original = acme()
    await store.save_organisation(original)
    # The second team's duplicate key fails on insert, after the old rows were deleted.
    broken = dataclasses.replace(
        original, name="Broken", teams=(*original.teams, Team("product", "Again"))
    )

    with pytest.raises(IntegrityError):
        await store.save_organisation(broken)

    assert await store.load_organisation("acme") == original


async def test_saving_the_tree_keeps_prompts_and_checkins(store: SqlStore) -> None:
    await store.save_organisation(acme())
    await store.add_prompts("acme", [due(ANA)])
    [prompt] = await store.claim_unsent(
        "acme", now=MONDAY, worker="w", limit=10, lease=__import__("datetime").timedelta(minutes=5)
    )
    await store.save_checkin(
        "acme", weekly(ANA, update("kr-nps", 20)), period=WEEK,
        answering=Answering(prompt_id=prompt.id), submitted_at=MONDAY, idempotency_key="k1",
    )  # fmt: skip

    await store.save_organisation(acme())

    assert await store.get_prompt("acme", prompt.id) is not None
    assert "kr-nps" in await store.kr_states("acme", ANA)


async def test_set_current_values(store: SqlStore) -> None:
    await store.save_organisation(acme())

    await store.set_current_values("acme", {"kr-nps": 33.5, "kr-uptime": 99.7})

    loaded = await store.load_organisation("acme")
    assert loaded is not None
    assert loaded.key_result["kr-nps"].metric is not None
    assert loaded.key_result["kr-nps"].metric.current == 33.5
    assert loaded.key_result["kr-uptime"].metric == dataclasses.replace(
        acme().key_result["kr-uptime"].metric,
        current=99.7,  # type: ignore[type-var]
    )
    assert loaded.key_result["kr-lead"] == acme().key_result["kr-lead"]


async def test_organisations_are_isolated(store: SqlStore) -> None:
    a, b = acme("a", name="A"), acme("b", name="B")
    await store.save_organisation(a)
    await store.save_organisation(b)
    smaller_b = dataclasses.replace(b, people=b.people[:1], key_results=())

    await store.save_organisation(smaller_b)
    await store.set_current_values("b", {"kr-nps": 1.0})

    assert await store.organisation_keys() == ["a", "b"]
    assert await store.load_organisation("a") == a
    assert await store.load_organisation("b") == smaller_b


async def test_an_import_keeps_what_check_ins_reported_unless_told_not_to(
    store: SqlStore,
) -> None:
    await store.save_organisation(acme())
    await store.save_checkin(
        "acme", weekly(BEN, update("kr-lead", 6.0), initiatives=(("i-ci", InitiativeStatus.DONE),)),
        period=WEEK, answering=Answering(), submitted_at=MONDAY, idempotency_key="k",
    )  # fmt: skip

    saved = await store.save_organisation(acme())

    values = await store.current_values("acme", ["kr-lead", "kr-nps"])
    assert values == {"kr-lead": 6.0, "kr-nps": 12}
    assert (await store.initiative_statuses("acme", ["kr-lead"]))["i-ci"] is InitiativeStatus.DONE
    assert saved.key_result["kr-lead"].metric == replace_current(acme(), "kr-lead", 6.0)

    await store.save_organisation(acme(), keep_progress=False)

    assert await store.current_values("acme", ["kr-lead"]) == {"kr-lead": 8.5}  # the file's
    assert (await store.initiative_statuses("acme"))["i-ci"] is not InitiativeStatus.DONE


async def test_a_key_result_that_becomes_a_milestone_starts_from_the_file(store: SqlStore) -> None:
    await store.save_organisation(acme())
    await store.set_current_values("acme", {"kr-lead": 4.0})
    lead = acme().key_result["kr-lead"]
    assert lead.metric is not None
    now_a_milestone = dataclasses.replace(
        lead, metric=dataclasses.replace(lead.metric, start=0, target=1, current=0, milestone=True)
    )
    changed = dataclasses.replace(
        acme(), key_results=tuple(now_a_milestone if k.key == "kr-lead" else k
                                  for k in acme().key_results),
    )  # fmt: skip

    await store.save_organisation(changed)

    assert await store.current_values("acme", ["kr-lead"]) == {"kr-lead": 0}


async def test_stamps_move_with_imports_and_chat_profiles(store: SqlStore) -> None:
    assert await store.organisation_stamp("acme") is None
    await store.save_organisation(acme())
    assert await store.organisation_stamp("acme") == Stamp(1, 0)
    await store.save_organisation(acme())
    assert await store.organisation_stamp("acme") == Stamp(2, 0)

    await store.link_chat_user("acme", ANA, platform="teams", user_id="aad-ana")
    await store.set_timezone("acme", BEN, "Asia/Tokyo")
    await store.mark_unreachable("acme", ANA, reason="blocked", at=MONDAY)  # not the tree's
    await store.clear_unreachable("acme", ANA)

    assert await store.organisation_stamp("acme") == Stamp(2, 2)
    assert [p.person for p in await store.profiles_since("acme", 1)] == [BEN]
    assert {p.person for p in await store.profiles_since("acme", 0)} == {ANA, BEN}
    snapshot = await store.load_tree("acme")
    assert snapshot is not None
    assert snapshot.stamp == Stamp(2, 2)
    assert snapshot.profiles[BEN].chosen_timezone == "Asia/Tokyo"
    assert snapshot.tree.person[BEN].timezone == acme().person[BEN].timezone  # as imported


def replace_current(org: Organisation, key: str, value: float) -> Metric | None:
    metric = org.key_result[key].metric
    return dataclasses.replace(metric, current=value) if metric else None


async def test_fifty_requests_at_once_read_the_stamp_once_and_each_sees_earlier_writes(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.save_organisation(acme())
    orgs = Organisations(store=store)
    reads: list[str] = []
    read_stamp = store.organisation_stamp

    async def counted(key: str) -> Stamp | None:
        reads.append(key)
        return await read_stamp(key)

    monkeypatch.setattr(store, "organisation_stamp", counted)
    first = await asyncio.gather(*(orgs.get("acme") for _ in range(50)))
    assert len(reads) == 1
    assert {id(org) for org in first} == {id(first[0])}

    await store.set_timezone("acme", BEN, "Asia/Tokyo")  # committed before the next asks
    after = await asyncio.gather(*(orgs.get("acme") for _ in range(50)))
    assert len(reads) == 2
    assert after[0].person[BEN].timezone == "Asia/Tokyo"
