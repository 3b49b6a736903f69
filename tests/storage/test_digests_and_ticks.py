"""Digests are written once and claimed by one poster; the tick watermark only moves forward."""

from __future__ import annotations

from datetime import UTC, timedelta

from rhythm.due import DueDigest
from storage.store import SqlStore
from tests.storage.builders import ANA, BEN, LAST_WEEK, MONDAY, WEEK, acme, due

LEASE = timedelta(minutes=10)


def digest(rhythm: str = "r-weekly", period: str = WEEK, minutes: int = 0) -> DueDigest:
    return DueDigest(rhythm, "company", period, MONDAY + timedelta(minutes=minutes))


async def test_digests_once_per_rhythm_and_period(store: SqlStore) -> None:
    await store.save_organisation(acme())

    assert await store.add_digests("acme", [digest(), digest("r-daily", "2026-03-02")]) == 2
    assert await store.add_digests("acme", [digest(), digest(period="2026-W11")]) == 1
    assert await store.add_digests("acme", []) == 0


async def test_claim_post_and_fail_digests(store: SqlStore) -> None:
    await store.save_organisation(acme())
    await store.add_digests("acme", [digest(), digest("r-daily", "2026-03-02", minutes=-5),
                                     digest("r-eoc", "2026-Q1", minutes=60)])  # fmt: skip

    claimed = await store.claim_digests("acme", now=MONDAY, worker="a", lease=LEASE)
    assert [d.rhythm for d in claimed] == ["r-daily", "r-weekly"]
    assert claimed[0].scheduled_for.tzinfo == UTC
    assert await store.claim_digests("acme", now=MONDAY, worker="b", lease=LEASE) == []

    daily, weekly = claimed
    await store.mark_posted(weekly.id, at=MONDAY + timedelta(minutes=1))
    await store.mark_digest_failed(daily.id, at=MONDAY, error="channel_not_found")
    later = MONDAY + timedelta(minutes=61)  # the end-of-cycle digest is due, the rest done
    [eoc] = await store.claim_digests("acme", now=later, worker="b", lease=LEASE)
    assert eoc.rhythm == "r-eoc"
    # Worker b died before posting: once its lease is over, another worker takes it.
    [again] = await store.claim_digests("acme", now=later + LEASE, worker="c", lease=LEASE)
    assert again.id == eoc.id
    await store.mark_posted(eoc.id, at=later + LEASE)
    assert await store.claim_digests("acme", now=later + 9 * LEASE, worker="d", lease=LEASE) == []


async def test_digests_belong_to_their_organisation(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    await store.add_digests("a", [digest()])

    assert await store.claim_digests("b", now=MONDAY, worker="w", lease=LEASE) == []
    assert await store.add_digests("b", [digest()]) == 1


async def test_prompted_periods_are_those_somebody_was_asked_about(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    await store.add_prompts("a", [due(ANA), due(BEN, period=LAST_WEEK)])
    await store.add_prompts("b", [due(ANA, period="2026-W01")])

    wanted = [("r-weekly", WEEK), ("r-weekly", LAST_WEEK), ("r-weekly", "2026-W01"),
              ("r-daily", WEEK)]  # fmt: skip
    assert await store.prompted_periods("a", wanted) == {
        ("r-weekly", WEEK),
        ("r-weekly", LAST_WEEK),
    }
    assert await store.prompted_periods("b", wanted) == {("r-weekly", "2026-W01")}
    assert await store.prompted_periods("a", []) == set()


async def test_rhythms_prompted_are_those_that_ever_asked_anyone(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    await store.add_prompts("a", [due(ANA, period="2026-W01")])

    assert await store.rhythms_prompted("a", ["r-weekly", "r-daily"]) == {"r-weekly"}
    assert await store.rhythms_prompted("b", ["r-weekly"]) == set()
