"""`settings`: what a person chooses for themselves, in a small form of its own."""

from __future__ import annotations

from collections.abc import Mapping

from rhythm.checkin import FormPage
from rhythm.dialogs import DialogContext, DialogKind, Done
from rhythm.messages import FieldKind, Form, FormField, FormSection, Notice, Option
from rhythm.people import People
from rhythm.ports import Store
from rhythm.records import PersonSettings

MISSING_LIST = "settings:missing_list"
ON, OFF = "on", "off"
CHOICES = (
    Option(ON, "Yes, with a Nudge button each"),
    Option(OFF, "No, don't send it"),
)


class Preferences:
    def __init__(self, *, store: Store, people: People) -> None:
        self.store = store
        self.people = people

    async def form(self, org_key: str, who: str) -> FormPage:
        org, person = await self.people.person(org_key, who)
        settings = (await self.store.person_settings(org.key, [person]))[person]
        return FormPage(_form(org.key, settings), 0, {})

    async def submit(
        self, org_key: str, who: str, context: DialogContext, answers: Mapping[str, str | None]
    ) -> Form | Done:
        org, person = await self.people.person(org_key, who)
        choice = (answers.get(MISSING_LIST) or "").strip().lower()
        if choice not in (ON, OFF):
            current = (await self.store.person_settings(org.key, [person]))[person]
            return _form(org.key, current).with_errors({MISSING_LIST: "Please choose one."})
        settings = PersonSettings(missing_list=choice == ON)
        await self.store.save_person_settings(org.key, person, settings)
        said = (
            "you get the list of your people who have not checked in after each deadline"
            if settings.missing_list
            else "you don't get the list of your people who have not checked in"
        )
        leads = any(org.is_lead(person, m.team) for m in org.person[person].memberships)
        who = "As a team lead" if leads else "You lead no team now; once you do"
        return Done(Notice("✅ Settings saved", (f"{who}, {said}.",)))


def _form(org: str, settings: PersonSettings) -> Form:
    field = FormField(
        MISSING_LIST, "Missed check-ins list", FieldKind.CHOICE, required=True,
        initial=ON if settings.missing_list else OFF, options=CHOICES,
        hint="Only team leads get it: once a check-in's deadline has passed, the people of "
        "their teams who have not checked in (never those on leave or on holiday).",
    )  # fmt: skip
    return Form(
        title="Settings",
        intro="What Drumbeat sends you.",
        sections=(FormSection("", (field,)),),
        context=DialogContext(DialogKind.SETTINGS, org).dump(),
        submit_label="Save",
    )
