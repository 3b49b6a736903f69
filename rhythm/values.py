"""Values other systems push: a CI job, a data-warehouse query or a spreadsheet script sets a
key result's current value, so measuring it costs its owner nothing.

A push is an automatic update, not a check-in: it carries a value and who pushed it, never a
confidence, a status or a person. It becomes the key result's current value at once (what
`mine`, `status` and `tree` show, what the owner's next form is prefilled with), counts as a
reported value for forecasts and charts, and the period's digest says the value came from it
("updated automatically from ci"). Participation stays about people: a push answers no prompt
and counts for nobody.

A key result of a past cycle may be pushed too: the value is still that key result's truth
(a warehouse that corrects last quarter's number after it closed), and it changes nothing
but the key result's current value and history; digests already posted stay as they were.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rhythm.errors import CommandError, UnknownKeyResult
from rhythm.orgcache import Organisations
from rhythm.ports import Clock, Store
from rhythm.present import fmt_value
from rhythm.records import AutoUpdate

SOURCE = re.compile(r"[A-Za-z0-9 ._-]{1,40}")
IDEMPOTENCY_KEY_LENGTH = 200
# How far ahead of the clock a given `at` may be (another machine's clock): later is refused.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ValuePushed:
    key_result: str
    value: float
    source: str  # "ci", "warehouse", ...: who pushed it, as the API token or caller names it
    at: datetime  # when it was stored (UTC)
    created: bool  # False: the same idempotency key was stored already (nothing changed)


class Values:
    def __init__(self, *, store: Store, orgs: Organisations, clock: Clock) -> None:
        self.store = store
        self.orgs = orgs
        self.clock = clock

    async def push(
        self,
        org_key: str,
        key: str,
        value: float,
        *,
        source: str,
        idempotency_key: str | None = None,
        at: datetime | None = None,
    ) -> ValuePushed:
        """Make `value` the current value of the key result `key`, as an automatic update
        from `source`, stored `at` (default now; not in the future).

        Refused with `UnknownKeyResult` (no such key) or `CommandError`: a value that is not a
        finite number, a milestone's value other than 0 or 1, a key result without a metric,
        a source that is empty, longer than 40 characters or not letters, digits, spaces,
        dots, dashes and underscores, an idempotency key that is empty or longer than 200,
        and an idempotency key stored already for another push. The same push sent again
        with its idempotency key is stored once: the stored one comes back, `created` False.
        """
        org = await self.orgs.get(org_key)
        kr = org.key_result.get(key)
        if kr is None:
            raise UnknownKeyResult(key, org)
        number = _finite(value)
        metric = kr.metric
        if metric is None:
            raise CommandError(f"{kr.title} has no metric: there is no value to set.")
        if metric.milestone and number not in (0.0, 1.0):
            raise CommandError(
                f"{kr.title} is a milestone: its value is 1 (done) or 0 (not done), "
                f"not {_shown(number)}."
            )
        name = _source(source)
        if idempotency_key is not None and not 0 < len(idempotency_key) <= IDEMPOTENCY_KEY_LENGTH:
            raise CommandError(f"An idempotency key has 1 to {IDEMPOTENCY_KEY_LENGTH} characters.")
        now = self.clock.now()
        moment = now if at is None else _instant(at)
        if moment > now + CLOCK_SKEW:
            raise CommandError("A value cannot be stored in the future.")
        saved = await self.store.save_auto_update(
            org.key, kr.key, number, source=name, submitted_at=moment,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        if saved is None:  # an import removed it since the tree was read
            raise UnknownKeyResult(key, await self.orgs.get(org_key))
        if not saved.created and (saved.key_result, saved.value, saved.source) != (
            kr.key,
            number,
            name,
        ):
            raise CommandError(_reused(saved, metric.unit))
        return ValuePushed(saved.key_result, saved.value, saved.source, saved.submitted_at,
                           saved.created)  # fmt: skip


def _finite(value: float) -> float:
    # bool is an int: True is no measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CommandError(f"A value is a number, not {str(value)[:40]!r}.")
    number = float(value)
    if not math.isfinite(number):
        raise CommandError(f"A value is a finite number, not {number}.")
    return number


def _source(source: str) -> str:
    name = source.strip()
    if not SOURCE.fullmatch(name):
        raise CommandError(
            "A source is named with 1 to 40 letters, digits, spaces, dots, dashes or "
            f"underscores, such as “ci” or “warehouse”, not “{source[:60]}”."
        )
    return name


def _instant(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise CommandError("A time needs its timezone (such as 2026-11-23T09:00:00Z).")
    return at.astimezone(UTC)


def _shown(number: float) -> str:
    return fmt_value(number, "", span=None)


def _reused(saved: AutoUpdate, unit: str) -> str:
    return (
        "This idempotency key was used already, for another value: "
        f"{fmt_value(saved.value, unit, span=None)} of {saved.key_result} from {saved.source}. "
        "Send a new key for a new value."
    )
