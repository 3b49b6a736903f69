"""The OKR tree round-trips exactly, is replaced atomically and stays per organisation."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.exc import IntegrityError

from rhythm.okr import Team
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
        "acme", weekly(ANA, update("kr-nps", 20)), period=WEEK, prompt_id=prompt.id,
        submitted_at=MONDAY, idempotency_key="k1",
    )  # fmt: skip

    await store.save_organisation(acme())

    assert await store.get_prompt("acme", prompt.id) is not None
    assert "kr-nps" in await store.last_answers("acme", ANA)


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
