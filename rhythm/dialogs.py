"""Small forms that are not check-ins (`settings`, a blocker's "Not us: which team?").

They travel through the platforms like the check-in form (a Slack modal, a card) with a
context of their own, which names the dialog and what it is about. Whatever comes back is
untrusted: the use case behind each dialog checks who submitted it against the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from rhythm.errors import StaleForm
from rhythm.messages import Notice

MAX_LENGTH = 500


class DialogKind(StrEnum):
    SETTINGS = "settings"
    REROUTE = "reroute"  # a blocker's "Not us": which team instead


@dataclass(frozen=True, slots=True)
class DialogContext:
    kind: DialogKind
    org: str
    subject: int = 0  # what it is about (a blocker's id); 0 for nothing

    def dump(self) -> str:
        data = {"d": self.kind.value, "o": self.org, "s": self.subject}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def read(cls, raw: object) -> DialogContext | None:
        """The dialog context `raw` holds; None when it is not a dialog's (a check-in form's
        context, say); StaleForm when it claims to be one and is not well formed."""
        if not isinstance(raw, str) or not raw.startswith('{"d":') or len(raw) > MAX_LENGTH:
            return None
        try:
            data = json.loads(raw)
            kind = DialogKind(data["d"])
            org, subject = data["o"], data["s"]
        except (ValueError, KeyError, TypeError):
            raise StaleForm("This form is not one I can read any more.") from None
        if not isinstance(org, str) or type(subject) is not int or not 0 <= subject < 2**63:
            raise StaleForm("This form is not one I can read any more.")
        return cls(kind, org, subject)


@dataclass(frozen=True, slots=True)
class Done:
    """A dialog submitted and taken: the form closes and the person is told `notice`."""

    notice: Notice
