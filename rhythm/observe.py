"""What the core tells whoever watches it work: a tick per organisation, each prompt's delivery,
each check-in stored. An observer port, so metrics (bot/metrics.py, with prometheus-client)
and log context stay outside the core, which only calls these few methods.

An observer is called inline, on the event loop, and must neither block nor raise: it counts.
It is told organisation keys, outcomes and the person a prompt went to (so that it can tell
which chat platform carried it); what it makes of them is its own affair, but a person's name
or email has no place in a metric.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rhythm.okr import Person
    from rhythm.ticking import TickReport


class CheckInSource(StrEnum):
    """What a stored check-in was: the answer to a prompt that reached the person, one given
    without being asked, or an edit of one stored before."""

    PROMPT = "prompt"
    SPONTANEOUS = "spontaneous"
    REVISION = "revision"


def checkin_source(*, revision: int, spontaneous: bool) -> CheckInSource:
    if revision > 1:
        return CheckInSource.REVISION
    return CheckInSource.SPONTANEOUS if spontaneous else CheckInSource.PROMPT


class PromptOutcome(StrEnum):
    """What one delivery of a prompt came to in a tick."""

    SENT = "sent"
    RETRIED = "retried"  # released, to be sent again after its backoff
    FAILED = "failed"  # for good: not retried, the admins are told
    WAITING = "waiting"  # for the person's chat account to be linked


class Observer(Protocol):
    def tick_started(self, org: str) -> None:
        """The tick of organisation `org` begins (in the task that runs it)."""

    def tick_done(self, org: str, seconds: float, report: TickReport) -> None:
        """The tick of `org` finished after `seconds` (wall time), with `report`."""

    def tick_failed(self, org: str, seconds: float) -> None:
        """The tick of `org` failed after `seconds` (logged with its traceback already)."""

    def prompt_delivered(self, org: str, person: Person | None, outcome: PromptOutcome) -> None:
        """One prompt's delivery came to `outcome`; `person` is None when they left the tree."""

    def checkin_stored(self, org: str, source: CheckInSource) -> None:
        """A check-in (or its revision) was stored: a new row, not a double submission."""


class NullObserver:
    """Watches nothing: the default, for tests, the demo and one-off commands."""

    def tick_started(self, org: str) -> None:
        pass

    def tick_done(self, org: str, seconds: float, report: TickReport) -> None:
        pass

    def tick_failed(self, org: str, seconds: float) -> None:
        pass

    def prompt_delivered(self, org: str, person: Person | None, outcome: PromptOutcome) -> None:
        pass

    def checkin_stored(self, org: str, source: CheckInSource) -> None:
        pass


NULL_OBSERVER = NullObserver()
