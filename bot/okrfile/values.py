"""Parsers for the single values of an OKR file, shared by the YAML and CSV readers.

Each takes the text as written and returns the value or raises `ValueError` whose message is
what the person sees next to the file, line and field, so it says what was expected and what
was found. The YAML reader hands over the raw scalar text, never PyYAML's guess at its type:
that keeps `10:30` a time (YAML 1.1 would read it as the number 630) and `no` a word.
"""

from __future__ import annotations

import difflib
import math
import re
import uuid
from collections.abc import Iterable
from datetime import date, time, timedelta
from enum import StrEnum
from functools import cache
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

E = TypeVar("E", bound=StrEnum)

# Form field ids are "kr:<key>:<part>", so a key never holds a colon; 64 characters keep ids
# well under Slack's 255-character action_id limit.
KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DURATION_PART = re.compile(r"(\d+)\s*([a-z]+)")
_DURATION_UNITS = {
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
}
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
CHANNEL_PLATFORMS = ("slack", "teams", "console")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{
        name: i
        for i, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def suggestion(wrong: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest known word, or '' when none is close."""
    close = difflib.get_close_matches(wrong, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def email_suggestion(wrong: str, known: Iterable[str]) -> str:
    """Like `suggestion`, but a shared domain alone does not make two addresses close."""
    emails = list(known)
    close = difflib.get_close_matches(wrong, emails, n=1, cutoff=0.9)
    if not close:
        wrong_local = wrong.partition("@")[0]
        by_local = {email.partition("@")[0]: email for email in emails}
        local = difflib.get_close_matches(wrong_local, by_local, n=1, cutoff=0.7)
        # "claire@" for "claire.martin@": a first name alone, when it names one person
        first_names = [e for name, e in by_local.items() if name.split(".")[0] == wrong_local]
        close = [by_local[local[0]]] if local else first_names if len(first_names) == 1 else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_key(text: str) -> str:
    if not KEY_PATTERN.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a valid key: use letters, digits, '.', '_' or '-', start with a "
            "letter or digit, at most 64 characters (no spaces or colons)"
        )
    return text


def parse_text(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise ValueError("must not be empty")
    return stripped


def parse_email(text: str) -> str:
    email = text.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise ValueError(f"expected an email address, got {text!r}")
    return email


def parse_number(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def parse_count(text: str, *, lowest: int, highest: int) -> int:
    stripped = text.strip()
    if not stripped.lstrip("-").isdigit():
        raise ValueError(f"expected a whole number, got {text!r}")
    value = int(stripped)
    if not lowest <= value <= highest:
        raise ValueError(f"expected a whole number from {lowest} to {highest}, got {value}")
    return value


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def parse_date(text: str) -> date:
    stripped = text.strip()
    if not _DATE.fullmatch(stripped):
        raise ValueError(f"expected a date like 2026-11-26, got {text!r}")
    try:
        return date.fromisoformat(stripped)
    except ValueError as error:
        raise ValueError(f"invalid date {stripped!r}: {error}") from None


def parse_clock(text: str) -> time:
    match = _CLOCK.fullmatch(text.strip())
    if match:
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if hour <= 23 and minute <= 59 and second <= 59:
            return time(hour, minute, second)
    raise ValueError(f'expected a 24-hour time like "09:30", got {text!r}')


def format_clock(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def parse_duration(text: str) -> timedelta:
    """ "4h", "30m", "2d", "1h30m", "90 minutes", "2 days" or "0"."""
    stripped = text.strip().lower()
    if stripped == "0":
        return timedelta(0)
    parts = _DURATION_PART.findall(stripped)
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s+", "", stripped):
        raise ValueError(f'expected a duration like "4h", "30m", "2d" or "1h30m", got {text!r}')
    total = timedelta(0)
    for number, unit in parts:
        if unit not in _DURATION_UNITS:
            raise ValueError(f"unknown unit {unit!r} in {text!r}: use d, h, m or s")
        total += int(number) * _DURATION_UNITS[unit]
    return total


def format_duration(value: timedelta) -> str:
    total = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0"


def parse_weekday(text: str) -> int:
    word = text.strip().lower()
    if word not in _WEEKDAY_NAMES:
        raise ValueError(f"expected a day like mon, tue ... sun, got {text!r}")
    return _WEEKDAY_NAMES[word]


@cache
def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_timezone(text: str) -> str:
    name = text.strip()
    if not _is_timezone(name):
        hint = suggestion(name, available_timezones())
        raise ValueError(f"unknown timezone {text!r}{hint}: use an IANA name like Europe/Paris")
    return name


def parse_choice(text: str, choices: type[E]) -> E:
    word = re.sub(r"[\s-]+", "_", text.strip().lower())
    try:
        return choices(word)
    except ValueError:
        names = [c.value for c in choices]
        raise ValueError(
            f"expected one of {', '.join(names)}, got {text!r}{suggestion(word, names)}"
        ) from None


def parse_channel(text: str) -> str:
    """A digest channel, "<platform>:<channel>", e.g. "slack:#eng-okrs" or "console:#eng"."""
    stripped = text.strip()
    platform, colon, target = stripped.partition(":")
    if not colon or platform not in CHANNEL_PLATFORMS or not target or " " in target:
        raise ValueError(
            f'expected a channel like "slack:#eng-okrs", "teams:<channel-id>" or '
            f'"console:#eng", got {text!r}'
        )
    return stripped


def parse_slack_id(text: str) -> str:
    stripped = text.strip()
    if not _SLACK_USER.fullmatch(stripped):
        raise ValueError(f"expected a Slack user id like U024BE7LH, got {text!r}")
    return stripped


def parse_aad_id(text: str) -> str:
    """A Microsoft Entra (Azure AD) object id, kept in its canonical lower-case form."""
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        raise ValueError(
            f"expected an Azure AD object id like 3f2504e0-4f89-11d3-9a0c-0305e82c3301, "
            f"got {text!r}"
        ) from None


def parse_quiet_hours(text: str) -> tuple[time, time]:
    start, dash, end = text.strip().partition("-")
    if not dash:
        raise ValueError(f'expected quiet hours like "19:00-08:00", got {text!r}')
    begins, ends = parse_clock(start), parse_clock(end)
    if begins == ends:
        raise ValueError(f"quiet hours {text!r} start and end at the same time")
    return begins, ends
