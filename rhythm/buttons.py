"""The buttons whose answer the core decides whole: a blocker's On it / Not us / Resolved, a
lead's Nudge, a check-in's Edit. Adapters hand over the button's id and value as pressed
and show what comes back; they register every id in `BUTTONS` the same way.

(A prompt's own buttons, and a digest's Trend, have platform-specific answers and are
handled by each adapter.)"""

from __future__ import annotations

from dataclasses import dataclass

from rhythm.blocker_news import ACKNOWLEDGE, NOT_US, RESOLVE
from rhythm.blockers import Blockers
from rhythm.checkin import CheckInSession, FormPage, prompt_id_of
from rhythm.messages import Notice
from rhythm.nudges import NUDGE, Nudges
from rhythm.prompting import EDIT


@dataclass(frozen=True, slots=True)
class Shown:
    """What the person sees: `notice` in place of the pressed message (`replace`: its buttons
    are done with), or beside it."""

    notice: Notice
    replace: bool


Pressed = Shown | FormPage  # a FormPage: a form to open (a modal, a card)

BUTTONS = frozenset({ACKNOWLEDGE, NOT_US, RESOLVE, NUDGE, EDIT})


class Buttons:
    def __init__(self, *, blockers: Blockers, nudges: Nudges, checkins: CheckInSession) -> None:
        self.blockers = blockers
        self.nudges = nudges
        self.checkins = checkins

    async def press(self, org_key: str, who: str, action: str, value: object) -> Pressed:
        """`who` pressed the button `action` (one of `BUTTONS`) whose value is `value`.
        Refusals (not theirs, gone, a value we never wrote) are raised as DrumbeatError."""
        subject = prompt_id_of(value)  # every one of them names a row by its id
        if action == ACKNOWLEDGE:
            return Shown(await self.blockers.acknowledge(org_key, who, subject), replace=True)
        if action == RESOLVE:
            return Shown(await self.blockers.resolve(org_key, who, subject), replace=True)
        if action == NOT_US:
            return await self.blockers.reroute_form(org_key, who, subject)
        if action == NUDGE:
            return Shown(await self.nudges.nudge(org_key, who, subject), replace=False)
        if action == EDIT:
            return await self.checkins.edit(org_key, who, subject)
        raise ValueError(f"not a core button: {action!r}")  # an adapter's bug
