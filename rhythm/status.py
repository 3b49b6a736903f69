"""How a key result is doing, in its owner's words: the vocabulary every layer shares."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Decision(StrEnum):
    """What happens to a key result at the end of its cycle."""

    CARRY_OVER = "carry_over"
    DROP = "drop"
    DONE = "done"
