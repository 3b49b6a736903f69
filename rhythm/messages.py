"""The core's neutral message model. Adapters render these to Block Kit, Adaptive Cards or text.

Nothing here knows a chat platform; field ids and action ids are plain strings the adapters
carry through their payloads and give back in a `CheckInSubmission` or a command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from rhythm.sections import Action, Report, Table

TEXT_LIMIT = 3000  # Slack's section and input limit, and ours for every free-text answer


class FieldKind(StrEnum):
    NUMBER = "number"
    INTEGER = "integer"
    CHOICE = "choice"  # one of a few options, all shown at once
    # One of a list too long to show whole (every team and key result of an organisation):
    # found by typing part of a name. Options come in groups, in the order shown; a renderer
    # that cannot search takes the name or key as typed, which the core resolves.
    PICK = "pick"
    TEXT = "text"
    LONG_TEXT = "long_text"


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    group: str = ""  # the heading it is listed under (a picker's "Teams"); "" for none


@dataclass(frozen=True, slots=True)
class FormField:
    id: str
    label: str
    kind: FieldKind
    required: bool = False
    initial: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    options: tuple[Option, ...] = ()
    max_length: int = TEXT_LIMIT
    hint: str = ""


@dataclass(frozen=True, slots=True)
class FormSection:
    title: str
    fields: tuple[FormField, ...]
    subtitle: str = ""


@dataclass(frozen=True, slots=True)
class Form:
    """One structured check-in form. `context` is opaque to adapters: they carry it through
    the platform (modal metadata, card data) and hand it back with the answers.

    `errors` must be fixed before anything is stored; `warnings` flag values that look like
    typos, and the same answers submitted again are taken."""

    title: str
    intro: str
    sections: tuple[FormSection, ...]
    context: str
    submit_label: str = "Check in"
    errors: Mapping[str, str] = field(default_factory=dict)
    warnings: Mapping[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[FormField, ...]:
        return tuple(f for s in self.sections for f in s.fields)

    def with_errors(
        self, errors: Mapping[str, str], warnings: Mapping[str, str] | None = None
    ) -> Form:
        return replace(self, errors=dict(errors), warnings=dict(warnings or {}))

    def with_answers(self, answers: Mapping[str, str | None]) -> Form:
        """The form with `answers` (what the person typed so far) as its fields' values: a
        page that comes back shows what was typed, not the original prefill."""
        sections = tuple(
            replace(s, fields=tuple(
                replace(f, initial=answers[f.id]) if f.id in answers else f for f in s.fields
            ))
            for s in self.sections
        )  # fmt: skip
        return replace(self, sections=sections)


@dataclass(frozen=True, slots=True)
class Notice:
    """A short message with optional lines and buttons: prompts, reminders, confirmations."""

    title: str
    lines: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    footer: str = ""


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class TreeNode:
    label: str
    detail: str = ""
    children: tuple[TreeNode, ...] = ()


@dataclass(frozen=True, slots=True)
class Tree:
    title: str
    roots: tuple[TreeNode, ...]


Message = Text | Notice | Form | Table | Tree | Report

__all__ = ["Action", "Report", "Table"]  # defined with the sections they appear in
