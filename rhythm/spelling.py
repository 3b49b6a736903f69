"""What a person probably meant when a name they typed is not one we know."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# How alike (difflib's ratio) a name must be to be suggested: "grwoth" is 0.83 from "growth",
# "chekin" 0.92 from "checkin"; difflib's default of 0.6 would offer "mine" for "reminders".
CUTOFF = 0.7


def closest(typed: str, known: Iterable[str]) -> str | None:
    """The known name nearest to `typed`, case aside, as it is spelled in `known`; None when
    none is near enough to be worth suggesting."""
    spelled: dict[str, str] = {}
    for name in known:
        spelled.setdefault(name.casefold(), name)
    found = difflib.get_close_matches(typed.strip().casefold(), spelled, n=1, cutoff=CUTOFF)
    return spelled[found[0]] if found else None
