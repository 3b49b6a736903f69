"""`load_organisation`: a YAML OKR file into an `Organisation`, all or nothing.

Sections are read in dependency order whatever their order in the file; references (a team's
parent, an objective's owner...) are checked once everything is read, so anything may refer to
something defined further down.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from babel import Locale, UnknownLocaleError

from bot.okrfile.context import Context, Progress, ProgressCallback, Registry
from bot.okrfile.nodes import Fields, Reader, compose, is_null
from bot.okrfile.objectives import read_objectives
from bot.okrfile.people import read_people, read_teams, resolve_teams
from bot.okrfile.problems import OkrFileError, Problem
from bot.okrfile.rhythms import read_rhythms
from bot.okrfile.tree import Node, Sequence
from bot.okrfile.values import parse_date, parse_email, parse_key, parse_text
from rhythm.okr import Cycle, Organisation
from rhythm.present import DEFAULT_LOCALE

FORMAT_VERSION = 1
# Ten times a 10,000-person organisation written out in full (5.6 MB), three times the 20 MB
# files that prompted this limit, yet small enough that reading the largest file takes about a
# gigabyte at most: a bigger file is a mistake (a log, a database dump) or an attack, refused
# before a byte of it is read.
MAX_FILE_BYTES = 64 * 2**20
SECTIONS = (
    "version",
    "organisation",
    "holidays",
    "cycles",
    "teams",
    "people",
    "objectives",
    "rhythms",
)
ORGANISATION_FIELDS = ("key", "name", "admins", "locale", "nudges_per_week")
CYCLE_FIELDS = ("key", "start", "end")
# Sections whose items each count as one step of progress.
_COUNTED = ("cycles", "teams", "people", "objectives", "rhythms")


def _version(text: str) -> int:
    if text.strip() != str(FORMAT_VERSION):
        raise ValueError(f"this Drumbeat reads version {FORMAT_VERSION} of the format, not {text}")
    return FORMAT_VERSION


def _holidays(ctx: Context, top: Fields) -> dict[str, frozenset[date]]:
    node = top.get("holidays")
    if node is None:
        return {}
    calendars: dict[str, frozenset[date]] = {}
    for name_node, days_node in ctx.reader.entries(node, "holidays"):
        path = f"holidays.{name_node.value}"
        name = ctx.reader.value(name_node, path, parse_key)
        if name is None or not ctx.registry.define("holiday calendar", name, name_node.line, path):
            continue
        days: set[date] = set()
        for day_path, day_node in ctx.reader.sequence(days_node, path):
            day = ctx.reader.value(day_node, day_path, parse_date)
            if day is not None and day in days:
                ctx.reader.report(day_node, day_path, f"{day} is listed twice")
            elif day is not None:
                days.add(day)
        calendars[name] = frozenset(days)
    return calendars


def _cycles(ctx: Context, items: list[tuple[str, Node]]) -> list[Cycle]:
    cycles = []
    for path, node in items:
        ctx.progress.step()
        fields = ctx.reader.mapping(node, path, CYCLE_FIELDS)
        if fields is None:
            continue
        key = fields.value("key", parse_key, required=True)
        start = fields.value("start", parse_date, required=True)
        end = fields.value("end", parse_date, required=True)
        if key is not None:
            ctx.registry.define("cycle", key, fields.line("key"), fields.at("key"))
        if start is not None and end is not None and end < start:
            ctx.reader.report(fields.get("end"), fields.at("end"), f"{end} is before start {start}")
        elif key is not None and start is not None and end is not None:
            cycles.append(Cycle(key, start, end))
    return cycles


def _identity(top: Fields) -> tuple[str | None, str | None, Fields | None]:
    """The organisation's key and name, and its fields for the rest of the section."""
    org = top.mapping("organisation", ORGANISATION_FIELDS)
    if org is None:
        if not top.has("organisation"):
            top.missing("organisation")
        return None, None, None
    key = org.value("key", parse_key, required=True)
    return key, org.value("name", parse_text, required=True), org


def _count_items(top: Fields) -> int:
    total = 0
    for name in _COUNTED:
        node = top.get(name)
        total += node.count if isinstance(node, Sequence) else 0
    return total


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is read.

    Reading creates hundreds of thousands of long-lived objects (the tree's collections, then
    the organisation's people, key results...); each allocation burst makes the collector
    rescan all of them, which made a 10,000-person file load in quadratic time (3.3 s instead
    of 1.5 s). They are freed by reference counting as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _problems_only(read: Callable[[], Organisation]) -> Organisation:
    """`read()`, its OkrFileError raised afresh once the reading frames are gone.

    The traceback of an error raised while reading holds the frames that hold the file's bytes
    and tree (and the error before it, the YAML parser's): raising the problems again from here
    lets all that be freed at once rather than after the caller has reported them: refusing
    the 20 MB file of bench/okr_import.py took 1.5 s more (of CPU) while its tree lingered.
    """
    try:
        return read()
    except OkrFileError as error:
        problems = error.problems
    raise OkrFileError(problems)


def parse_organisation(
    text: str, *, file: str = "<string>", progress: ProgressCallback | None = None
) -> Organisation:
    """The organisation described by the YAML `text`; OkrFileError lists every problem."""
    with _collector_paused():
        return _problems_only(lambda: _parse(compose(text, file), file, progress))


def _parse(root: Node | None, file: str, progress: ProgressCallback | None) -> Organisation:
    if root is None or is_null(root):
        raise OkrFileError(
            [Problem(file, None, "", "the file is empty: start it with organisation:")]
        )
    reader = Reader(file)
    top = reader.mapping(root, "", SECTIONS)
    if top is None:
        raise OkrFileError(reader.problems)
    ctx = Context(reader, Registry(reader), Progress(progress, _count_items(top)))
    top.value("version", _version)
    key, name, org_fields = _identity(top)
    admins = _admins(ctx, org_fields)
    locale = org_fields.value("locale", parse_locale) if org_fields else None
    nudges = org_fields.value("nudges_per_week", _nudges_per_week) if org_fields else None
    holidays = _holidays(ctx, top)
    cycles = _cycles(ctx, top.items("cycles"))
    teams = resolve_teams(read_teams(ctx, top.items("teams")))
    people = read_people(ctx, top.items("people"), {t.key: t.timezone for t in teams})
    defined_cycles = list(ctx.registry.keys("cycle"))
    only_cycle = defined_cycles[0] if len(defined_cycles) == 1 else None
    tree = read_objectives(ctx, top.items("objectives"), only_cycle)
    rhythms = read_rhythms(ctx, top.items("rhythms"))
    _check_admins(ctx, admins, {p.email for p in people})
    ctx.registry.check_references()
    for kind, parents in ctx.parents.items():
        ctx.registry.check_loops(kind, parents)
    if reader.problems or key is None or name is None:
        raise OkrFileError(reader.problems)
    return Organisation(
        key=key,
        name=name,
        teams=teams,
        people=tuple(people),
        cycles=tuple(cycles),
        objectives=tuple(tree.objectives),
        key_results=tuple(tree.key_results),
        initiatives=tuple(tree.initiatives),
        rhythms=tuple(rhythms),
        holidays=holidays,
        admins=tuple(email for email, _, _ in admins),
        locale=locale or DEFAULT_LOCALE,
        nudges_per_week=3 if nudges is None else nudges,
    )


def _nudges_per_week(text: str) -> int:
    if not (text.strip().isdigit() and 0 <= int(text) <= 20):
        raise ValueError(
            "nudges_per_week is how many reminders and nudges one person gets at most in a "
            "week: a whole number from 0 to 20 (default 3)"
        )
    return int(text)


def parse_locale(text: str) -> str:
    """A language, optionally with its territory ("en", "de-DE", "fr_CH"), in Babel's spelling."""
    try:
        return str(Locale.parse(text.strip().replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        raise ValueError(
            f"{text!r} is not a locale Drumbeat knows: write a language code such as en, de-DE "
            "or fr"
        ) from None


Admin = tuple[str, Node, str]  # email, where it is written, its path


def _admins(ctx: Context, fields: Fields | None) -> list[Admin]:
    """`organisation.admins`: who hears about delivery problems (default: top team leads)."""
    admins: list[Admin] = []
    for path, node in fields.items("admins") if fields else []:
        email = ctx.reader.value(node, path, parse_email)
        if email is not None:
            admins.append((email, node, path))
    return admins


def _check_admins(ctx: Context, admins: list[Admin], people: set[str]) -> None:
    for email, node, path in admins:
        if email not in people:
            ctx.reader.report(node, path, f"{email} is not one of the people: admins must be")


def load_organisation(path: Path, *, progress: ProgressCallback | None = None) -> Organisation:
    """The organisation in the YAML file at `path`; OkrFileError lists every problem found.

    `progress(done, total)` is called as teams, people, objectives... are read, for a progress
    bar on long imports. Nothing is returned unless the whole file is valid. A file larger
    than MAX_FILE_BYTES is refused before it is read.
    """
    file = str(path)
    with _collector_paused():
        # The file's bytes go straight to the parser, no caller keeps them: they are freed
        # once the tree is composed, before it is read.
        return _problems_only(lambda: _parse(compose(_file_bytes(path), file), file, progress))


def _file_bytes(path: Path) -> bytes:
    """The content of the file: UTF-8, at most MAX_FILE_BYTES."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise OkrFileError([_too_big(str(path), size)])
    with path.open("rb") as stream:  # a device or a growing file may hold more than its size
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OkrFileError([_too_big(str(path), None)])
    try:
        data.decode("utf-8")  # libyaml would say "invalid leading UTF-8 octet" instead
    except UnicodeDecodeError as error:
        problem = Problem(
            str(path), None, "", f"not UTF-8 text (byte {error.start}): save as UTF-8"
        )
        raise OkrFileError([problem]) from None
    return data


def _too_big(file: str, size: int | None) -> Problem:
    limit = MAX_FILE_BYTES // 2**20
    what = f"{size / 2**20:.1f} MB" if size is not None else f"more than {limit} MB"
    return Problem(
        file,
        None,
        "",
        f"the file is {what}; an OKR file may be at most {limit} MB (10,000 people take "
        "about 6 MB): is it the right file?",
    )
