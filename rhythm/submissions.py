"""Every form a platform hands back goes here: the check-in form to the check-in session,
a dialog (`settings`, a blocker's "Not us") to its use case, by what its context says."""

from __future__ import annotations

from collections.abc import Mapping

from rhythm.blockers import Blockers
from rhythm.checkin import CheckedIn, CheckInSession, FormPage, Pager, one_page
from rhythm.dialogs import DialogContext, DialogKind, Done
from rhythm.errors import StaleForm
from rhythm.observe import NULL_OBSERVER, Observer, checkin_source
from rhythm.preferences import Preferences

Submitted = FormPage | CheckedIn | Done


class Submissions:
    def __init__(
        self,
        *,
        checkins: CheckInSession,
        blockers: Blockers,
        preferences: Preferences,
        observer: Observer = NULL_OBSERVER,
    ) -> None:
        self.checkins = checkins
        self.blockers = blockers
        self.preferences = preferences
        self.observer = observer

    async def submit(
        self,
        org_key: str,
        who: str,
        context: str,
        answers: Mapping[str, str | None],
        *,
        pager: Pager = one_page,
        idempotency_key: str | None = None,
    ) -> Submitted:
        """A form submitted: a check-in's page (see `CheckInSession.submit`), or a dialog,
        which comes back as the same form with its errors (a `FormPage`) or `Done`."""
        dialog = DialogContext.read(context)
        if dialog is None:
            outcome = await self.checkins.submit(
                org_key, who, context, answers, pager=pager, idempotency_key=idempotency_key
            )
            if isinstance(outcome, CheckedIn) and outcome.created:
                source = checkin_source(revision=outcome.revision, spontaneous=outcome.spontaneous)
                self.observer.checkin_stored(org_key, source)
                await self.blockers.announce_soon(org_key)  # raised or resolved blockers
            return outcome
        if dialog.org != org_key:
            raise StaleForm("This form belongs to another organisation's workspace.")
        if dialog.kind is DialogKind.SETTINGS:
            answer = await self.preferences.submit(org_key, who, dialog, answers)
        else:
            answer = await self.blockers.reroute(org_key, who, dialog, answers)
        if isinstance(answer, Done):
            return answer
        return FormPage(answer, 0, dict(answers), again=True)
