"""The form context: what a check-in form carries through a chat platform and back.

It travels in Slack's `private_metadata` and in Teams' card data, so whatever comes back is
untrusted: `FormContext.parse` refuses anything this module did not write (`StaleForm`, with a
message for the person), and the check-in session then checks the organisation, the prompt
and the period against the database and the calendar before anything is stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace

from rhythm.cadences import RhythmKind
from rhythm.errors import StaleForm
from rhythm.messages import Form

VERSION = 1
MAX_LENGTH = 3000  # Slack's private_metadata; nothing we write comes near it
MAX_PAGE = 99
MAX_PROMPT_ID = 2**63 - 1
MAX_KEY = 200  # organisation keys and cycle keys, as stored

PERIOD_FORMS = {
    RhythmKind.DAILY: re.compile(r"\d{4}-\d{2}-\d{2}"),
    RhythmKind.WEEKLY: re.compile(r"\d{4}-W\d{2}"),
    RhythmKind.MONTHLY: re.compile(r"\d{4}-\d{2}"),
    RhythmKind.END_OF_CYCLE: re.compile(r"[^\s|]{1,200}"),
}
KINDS: dict[str, RhythmKind] = {kind.value: kind for kind in RhythmKind}
UNREADABLE = "This form is not one I can read any more. Type `checkin` for a fresh one."


@dataclass(frozen=True, slots=True)
class FormContext:
    org: str
    kind: RhythmKind
    period: str
    prompt: int | None  # the prompt being answered; None for a check-in nobody asked for
    page: int = 0  # the page of the form this context was shown with
    layout: str = ""  # `layout_of` the form when it was shown

    @property
    def draft_key(self) -> str:
        """One draft per check-in being written, whichever page it is on."""
        return f"{self.kind.value}|{self.period}|{self.prompt or ''}"

    def at(self, page: int, layout: str | None = None) -> FormContext:
        return replace(self, page=page, layout=self.layout if layout is None else layout)

    def dump(self) -> str:
        data = {
            "v": VERSION, "o": self.org, "k": self.kind.value, "p": self.period,
            "r": self.prompt, "g": self.page, "f": self.layout,
        }  # fmt: skip
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def parse(cls, raw: object) -> FormContext:
        """The context `raw` holds; StaleForm for anything that is not one we wrote."""
        if not isinstance(raw, str) or not raw or len(raw) > MAX_LENGTH:
            raise StaleForm(UNREADABLE)
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise StaleForm(UNREADABLE) from None
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise StaleForm(UNREADABLE)
        return cls(
            org=_key(data.get("o")),
            kind=_kind(data.get("k")),
            period=_text(data.get("p")),
            prompt=_prompt(data.get("r")),
            page=_page(data.get("g")),
            layout=_layout(data.get("f")),
        )._checked()

    def _checked(self) -> FormContext:
        if not PERIOD_FORMS[self.kind].fullmatch(self.period):
            raise StaleForm(UNREADABLE)
        return self


def layout_of(form: Form) -> str:
    """A short fingerprint of what decides a form's pages (its sections and fields, not the
    values in them): a context whose layout differs was shown with other pages."""
    shape = [
        (s.title, [(f.id, f.label, f.kind.value, len(f.options)) for f in s.fields])
        for s in form.sections
    ]
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:12]


def _key(raw: object) -> str:
    if not isinstance(raw, str) or not 0 < len(raw) <= MAX_KEY:
        raise StaleForm(UNREADABLE)
    return raw


def _text(raw: object) -> str:
    if not isinstance(raw, str):
        raise StaleForm(UNREADABLE)
    return raw


def _kind(raw: object) -> RhythmKind:
    if not isinstance(raw, str) or raw not in KINDS:
        raise StaleForm(UNREADABLE)
    return KINDS[raw]


def _count(raw: object, lowest: int, highest: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not lowest <= raw <= highest:
        raise StaleForm(UNREADABLE)
    return raw


def _prompt(raw: object) -> int | None:
    return None if raw is None else _count(raw, 1, MAX_PROMPT_ID)


def _page(raw: object) -> int:
    return _count(raw, 0, MAX_PAGE)


def _layout(raw: object) -> str:
    if not isinstance(raw, str) or len(raw) > 64:
        raise StaleForm(UNREADABLE)
    return raw
