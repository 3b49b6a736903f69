"""Digests are written once and claimed by one poster; the tick watermark only moves forward."""

from __future__ import annotations

from datetime import UTC, timedelta

from rhythm.due import DueDigest
from storage.store import SqlStore
from tests.storage.builders import MONDAY, WEEK, acme

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


async def test_tick_watermark_never_goes_backwards(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    assert await store.last_tick("a") is None

    await store.record_tick("a", MONDAY)
    await store.record_tick("a", MONDAY - timedelta(minutes=1))  # a slow, overlapping tick
    await store.record_tick("b", MONDAY - timedelta(days=1))

    assert await store.last_tick("a") == MONDAY
    assert (await store.last_tick("a")).tzinfo == UTC  # type: ignore[union-attr]
    await store.record_tick("a", MONDAY + timedelta(minutes=1))
    assert await store.last_tick("a") == MONDAY + timedelta(minutes=1)
    assert await store.last_tick("b") == MONDAY - timedelta(days=1)
