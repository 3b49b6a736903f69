"""`drumbeat export checkins` and `drumbeat person export|erase`: the organisation's check-ins
for spreadsheets and BI tools, and one person's data, for their request to see it or to be
forgotten (see the README's Privacy section).

The groups hang on `bot.cli.app`; that module imports this one last, once its helpers exist.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from bot.app import open_database
from bot.cli import Command, OrgOption, _org_key, _run, _settings, _typer, app, err, out
from bot.exports import ExportFormat, write_checkins
from rhythm.errors import DrumbeatError

export = _typer("Export the check-ins, for spreadsheets and BI tools.")
person = _typer("One person's data: everything stored about them, exported or erased.")
app.add_typer(export, name="export")
app.add_typer(person, name="person")

OutOption = Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")]


class NothingStored(DrumbeatError):
    def __init__(self, email: str, org: str) -> None:
        super().__init__(f"Nothing is stored about {email} in {org}.")


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    """The file, or stdout, as UTF-8 text with newlines left to the writer (csv ends its rows
    with CRLF, as RFC 4180 says)."""
    if path is not None:
        with path.open("w", encoding="utf-8", newline="") as file:
            yield file
        return
    sys.stdout.flush()
    stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    try:
        yield stream
    finally:
        stream.flush()
        stream.detach()  # stdout stays open


def _since(text: str | None) -> datetime | None:
    """A date (midnight UTC) or an ISO 8601 time (UTC when it has no offset)."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        err.print(f"[bold red]Error:[/bold red] --since {text!r} is not a date (2026-03-01) "
                  "or an ISO 8601 time", highlight=False)  # fmt: skip
        raise typer.Exit(2) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@export.command("checkins", cls=Command)
def export_checkins(
    since: Annotated[
        str | None, typer.Option(help="Only those submitted since this date or ISO time (UTC).")
    ] = None,
    format: Annotated[
        ExportFormat,
        typer.Option(help="csv: a row per key-result update; jsonl: a check-in per line."),
    ] = ExportFormat.CSV,
    latest: Annotated[
        bool, typer.Option("--latest", help="Only each check-in's latest revision.")
    ] = False,
    output: OutOption = None,
    org: OrgOption = None,
) -> None:
    """Every check-in with its answers (each revision, numbered), oldest first, UTF-8 with a
    header row. Streams page by page: any size of history in little memory."""
    settings = _settings()
    start = _since(since)

    async def work() -> int:
        async with open_database(settings) as store:
            key = await _org_key(store, org)
            with _output(output) as stream:
                return await write_checkins(
                    store, key, stream, format=format, since=start, revisions=not latest
                )

    written = _run(work)
    if output is not None:
        err.print(f"Wrote {written} check-ins to {output}", highlight=False)


@person.command("export", cls=Command)
def person_export(
    email: Annotated[str, typer.Argument(help="The person's email, as in the OKR file.")],
    output: OutOption = None,
    org: OrgOption = None,
) -> None:
    """Everything stored about one person, as JSON: their rows in every table, and where
    else their email or chat ids are mentioned."""
    settings = _settings()

    async def work() -> dict[str, Any]:
        async with open_database(settings) as store:
            key = await _org_key(store, org)
            data = await store.person_data(key, email)
            if _nothing(data):
                raise NothingStored(data["email"], key)
            return data

    text = json.dumps(_run(work), ensure_ascii=False, indent=2) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
        err.print(f"Wrote {output}", highlight=False)
    else:
        with _output(None) as stream:
            stream.write(text)


@person.command("erase", cls=Command)
def person_erase(
    email: Annotated[str, typer.Argument(help="The person's email, as in the OKR file.")],
    keep_aggregates: Annotated[
        bool,
        typer.Option(
            "--keep-aggregates",
            help="Keep their check-ins as anonymous aggregates (values, confidence, status; "
            "no words) instead of deleting them.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    org: OrgOption = None,
) -> None:
    r"""Remove one person everywhere, in one transaction, and say what was removed. What they
    owned (key results, objectives) stays without an owner; every other mention of their
    email or chat ids becomes "\[erased]"."""
    settings = _settings()

    async def find() -> tuple[str, dict[str, Any]]:
        async with open_database(settings) as store:
            key = await _org_key(store, org)
            data = await store.person_data(key, email)
            if _nothing(data):
                raise NothingStored(data["email"], key)
            return key, data

    key, data = _run(find)
    who = data["email"]
    rows = {name: len(found) for name, found in data["tables"].items() if found}
    listed = ", ".join(f"{count} {name}" for name, count in rows.items())
    mentions = len(data["mentions"])
    out.print(f"Stored about {who} in {key}: {listed or 'no rows'}"
              f"{f', and {mentions} mentions elsewhere' if mentions else ''}.",
              markup=False, highlight=False)  # fmt: skip
    fate = (
        "kept as anonymous aggregates (a random pseudonym, their words cleared)"
        if keep_aggregates
        else "deleted"
    )
    out.print(f"Their check-ins will be {fate}.", markup=False, highlight=False)
    if not yes and not typer.confirm(f"Erase {who} from {key}? This cannot be undone"):
        err.print("Nothing was erased.")
        raise typer.Exit(1)

    async def erase() -> dict[str, int]:
        async with open_database(settings) as store:
            return await store.erase_person(key, who, keep_aggregates=keep_aggregates)

    counts = _run(erase)
    out.print(f"Erased {who} from {key}, in one transaction:", markup=False, highlight=False)
    for label, count in counts.items():
        table, action = label.split(" ", 1)
        out.print(f"  {table}: {count} {action}", markup=False, highlight=False)
    if "person deleted" in counts:
        err.print(
            f"{who} was in the OKR tree as last imported: remove them from your OKR file "
            "(people, owners, admins), or the next `drumbeat okrs import` brings them back.",
            markup=False, highlight=False,
        )  # fmt: skip
    err.print(
        "Messages already delivered in Slack or Teams stay there, and backups keep what they "
        "hold: see the README's Privacy section.",
        markup=False, highlight=False,
    )  # fmt: skip


def _nothing(data: dict[str, Any]) -> bool:
    return not (data["admin"] or data["mentions"] or any(data["tables"].values()))
