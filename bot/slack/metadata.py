"""What a check-in modal carries in `private_metadata`: the organisation, the form's context
(kind, period and prompt) and the page shown. Slack hands it back untouched with every
submission; the organisation in it is checked against the workspace the submission came from."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class ModalState:
    org: str
    context: str
    page: int = 0

    def dump(self) -> str:
        return json.dumps({"o": self.org, "c": self.context, "p": self.page}, separators=(",", ":"))

    @classmethod
    def parse(cls, raw: str) -> ModalState:
        """ValueError when `raw` is not metadata this app wrote."""
        try:
            data = json.loads(raw)
            state = cls(str(data["o"]), str(data["c"]), int(data["p"]))
        except (TypeError, KeyError, json.JSONDecodeError) as error:
            raise ValueError(f"not a check-in modal's metadata: {raw[:80]!r}") from error
        if state.page < 0:
            raise ValueError(f"negative page in {raw[:80]!r}")
        return state

    def at(self, page: int) -> ModalState:
        return replace(self, page=page)
