"""Domain refusals: one error family, each carrying the sentence the person is told.

Adapters catch `DrumbeatError` and show `message`; anything else that escapes a use case is a
bug and reaches the adapter's one error handler, logged with its traceback, while the person
gets a short apology. Never raise these for programming mistakes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rhythm.spelling import closest

if TYPE_CHECKING:
    from rhythm.okr import Organisation


class DrumbeatError(Exception):
    """Something the person asked for that Drumbeat refuses, with the reason in their words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownOrganisation(DrumbeatError):
    def __init__(self, org: str) -> None:
        super().__init__(f"No organisation '{org}'. Import an OKR file first.")


class NoOrganisation(DrumbeatError):
    def __init__(self) -> None:
        super().__init__(
            "No organisation yet. Import your OKR file: drumbeat okrs import FILE "
            "(the format: docs/okr-file-format.md; `drumbeat demo` shows a sample one)."
        )


class UnknownPerson(DrumbeatError):
    def __init__(self, who: str, org: str) -> None:
        super().__init__(f"{who} is not in {org}'s OKR tree. Ask an admin to add you.")


class UnknownWorkspace(DrumbeatError):
    """A Slack workspace or Teams tenant no admin connected to an organisation."""

    def __init__(self) -> None:
        super().__init__("This workspace is not connected to Drumbeat yet; ask your admin.")


class UnknownTeam(DrumbeatError):
    """A team argument that names no team (`teams`: the keys there are): the nearest key when
    one is close ("grwoth"), else the list."""

    def __init__(self, name: str, teams: Iterable[str]) -> None:
        keys = list(teams)
        guess = closest(name, keys)
        if guess is not None:
            super().__init__(f"No team “{name[:60]}”. Did you mean `{guess}`?")
        else:
            super().__init__(f"No team “{name[:60]}”. Teams: {', '.join(keys)}")


class UnknownKeyResult(DrumbeatError):
    """A key result key that names none of the organisation's: the nearest key when one is
    close ("onboarding-completoin"). `key` is the key asked for (an API answers 404)."""

    def __init__(self, key: str, org: Organisation) -> None:
        self.key = key
        guess = closest(key, (kr.key for kr in org.key_results))
        hint = f" Did you mean `{guess}`?" if guess is not None else ""
        super().__init__(f"No key result “{key[:60]}” in {org.name}.{hint}")


class NoCycle(DrumbeatError):
    def __init__(self, org: str) -> None:
        super().__init__(f"{org} has no OKR cycle yet.")


class NotYourPrompt(DrumbeatError):
    def __init__(self) -> None:
        super().__init__("That check-in is not yours or no longer exists.")


class StaleForm(DrumbeatError):
    """A form that came back from a platform and cannot be taken as it is: tampered with,
    made up, from another organisation, or for a period that is over."""


class CommandError(DrumbeatError):
    """A command a person got wrong; the message tells them how to get it right."""


class ChartLinkRefused(DrumbeatError):
    """A chart link that cannot be served: its signature is wrong, it has expired, or the chart
    is gone. One message for all three, so a guess learns nothing."""

    def __init__(self) -> None:
        super().__init__("This chart link has expired or is not valid. Ask Drumbeat again.")
