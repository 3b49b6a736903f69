"""`drumbeat export checkins` and `drumbeat person export|erase`, run as an admin runs them: a
real process on a real database (SQLite and PostgreSQL), its output read back as a
spreadsheet or a BI tool would."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.exports import CSV_COLUMNS
from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft
from rhythm.okr import InitiativeStatus
from rhythm.ports import Answering
from storage.store import SqlStore, open_store
from tests.storage.builders import ANA, BEN, CAI, MONDAY, WEEK, acme, update, weekly
from tests.storage.test_privacy import mentions_anywhere

DRUMBEAT = Path(sys.executable).with_name("drumbeat")
BEN_SLACK = "U07BEN1234"


@dataclass
class Result:
    code: int
    out: str  # decoded as is: CSV's CRLF kept
    err: str


Drumbeat = Callable[..., Result]


# The commands run as processes, a few seconds each: on SQLite only. What they read and write
# is tested on both backends in tests/storage/test_exports.py and test_privacy.py.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def drumbeat(database_url: str, tmp_path: Path) -> Drumbeat:
    env = {**os.environ, "DATABASE_URL": database_url, "COLUMNS": "160"}

    def run(*args: str, input: str | None = None) -> Result:
        done = subprocess.run(
            [str(DRUMBEAT), *args], env=env, cwd=tmp_path, capture_output=True, timeout=120,
            input=input.encode() if input is not None else None, check=False,
        )  # fmt: skip
        return Result(done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8"))

    return run


async def with_store(url: str, work: Callable[[SqlStore], Awaitable[None]]) -> None:
    async with open_store(url) as store:
        await work(store)


async def history(store: SqlStore) -> None:
    """Acme's week: Ben's check-in with words a spreadsheet would run, edited once; Ana's;
    Cai's daily pulse with notes only, the next day."""
    tree = acme()
    people = tuple(
        dataclasses.replace(p, slack_user_id=BEN_SLACK) if p.email == BEN else p
        for p in tree.people
    )
    await store.save_organisation(dataclasses.replace(tree, people=people, admins=(ANA,)))
    risky = dataclasses.replace(
        update("kr-lead", -5.25, 4),
        moved='=HYPERLINK("http://evil.example","click")',
        blockers="+1 from ops, \"quoted\", and a\nnew line",
        next_step="@here café ☕",
        blocked_by_team="platform",
    )  # fmt: skip
    ben = weekly(BEN, risky, update("kr-launch", 0), notes={"win": "-shipped"},
                 initiatives=(("i-ci", InitiativeStatus.BLOCKED),))  # fmt: skip

    async def save(key: str, draft: CheckInDraft, period: str, hours: int) -> None:
        await store.save_checkin(
            "acme", draft, period=period, answering=Answering(), idempotency_key=key,
            submitted_at=MONDAY + timedelta(hours=hours),
        )  # fmt: skip

    await save("b1", ben, WEEK, 0)
    await save("b2", dataclasses.replace(ben, kr_updates=(risky,)), WEEK, 1)
    await save("a1", weekly(ANA, update("kr-nps", 21.5, 8)), WEEK, 2)
    pulse = CheckInDraft(CAI, RhythmKind.DAILY, notes={"focus": f"pair with {BEN}"},
                         blocked_by_team="product")  # fmt: skip
    await save("c1", pulse, "2026-03-03", 24)


@pytest.fixture
async def acme_history(database_url: str, drumbeat: Drumbeat) -> str:
    await with_store(database_url, history)
    return database_url


def parse_csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    return [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]


# ---- export checkins --------------------------------------------------------------------


async def test_the_csv_export_parses_back_one_row_per_key_result_update(
    acme_history: str, drumbeat: Drumbeat
) -> None:
    done = drumbeat("export", "checkins")

    assert done.code == 0, done.err
    assert done.out.startswith(",".join(CSV_COLUMNS) + "\r\n")  # a header, RFC 4180 lines
    rows = parse_csv(done.out)
    assert [(r["checkin_id"], r["revision"], r["person"], r["key_result"]) for r in rows] == [
        ("1", "1", BEN, "kr-lead"), ("1", "1", BEN, "kr-launch"),
        ("2", "2", BEN, "kr-lead"),  # the edit, with its own number
        ("3", "1", ANA, "kr-nps"),
        ("4", "1", CAI, ""),  # a pulse with notes only: one row
    ]  # fmt: skip
    lead = rows[2]
    # Text that a spreadsheet would run as a formula is shown as text; numbers stay numbers.
    assert lead["moved"] == '\'=HYPERLINK("http://evil.example","click")'
    assert lead["blockers"] == '\'+1 from ops, "quoted", and a\nnew line'
    assert lead["next_step"] == "'@here café ☕"
    assert (lead["value"], lead["confidence"], lead["status"]) == ("-5.25", "4", "on_track")
    assert lead["blocked_by_team"] == "platform"
    assert json.loads(lead["notes"]) == {"win": "-shipped"}  # JSON, never guarded: it is "{…"
    assert json.loads(lead["initiatives"]) == {"i-ci": "blocked"}
    assert (lead["submitted_at"], lead["spontaneous"]) == ("2026-03-02T10:00:00Z", "true")
    assert (lead["kind"], lead["period"]) == ("weekly", WEEK)
    pulse = rows[4]
    assert (pulse["kind"], pulse["period"], pulse["blocked_by_team"]) == ("daily", "2026-03-03",
                                                                          "product")  # fmt: skip
    assert json.loads(pulse["notes"]) == {"focus": f"pair with {BEN}"}
    assert pulse["value"] == pulse["confidence"] == pulse["final_score"] == ""


async def test_since_latest_and_json_lines_to_a_file(
    acme_history: str, drumbeat: Drumbeat, tmp_path: Path
) -> None:
    since = parse_csv(drumbeat("export", "checkins", "--since", "2026-03-02T10:00:00").out)
    assert sorted({r["checkin_id"] for r in since}) == ["2", "3", "4"]
    later = parse_csv(drumbeat("export", "checkins", "--since", "2026-03-03").out)
    assert [r["checkin_id"] for r in later] == ["4"]
    latest = parse_csv(drumbeat("export", "checkins", "--latest").out)
    assert sorted({r["checkin_id"] for r in latest}) == ["2", "3", "4"]
    assert drumbeat("export", "checkins", "--since", "last week").code == 2

    done = drumbeat("export", "checkins", "--format", "jsonl", "--out", "all.jsonl")

    assert done.code == 0, done.err
    assert "Wrote 4 check-ins to all.jsonl" in done.err
    assert done.out == ""
    lines = (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()
    checkins = [json.loads(line) for line in lines]
    assert [(c["checkin_id"], c["revision"]) for c in checkins] == [(1, 1), (2, 2), (3, 1), (4, 1)]
    first = checkins[0]
    assert [k["key_result"] for k in first["key_results"]] == ["kr-lead", "kr-launch"]
    lead = first["key_results"][0]
    assert (lead["value"], lead["moved"]) == (-5.25, '=HYPERLINK("http://evil.example","click")')
    assert (first["initiatives"], first["notes"]) == ({"i-ci": "blocked"}, {"win": "-shipped"})
    assert (first["submitted_at"], first["spontaneous"], first["prompt_id"]) == (
        "2026-03-02T09:00:00Z", True, None,
    )  # fmt: skip
    assert checkins[3]["key_results"] == []


async def test_several_organisations_need_org(acme_history: str, drumbeat: Drumbeat) -> None:
    async def globex(store: SqlStore) -> None:
        await store.save_organisation(acme("globex", name="Globex"))

    await with_store(acme_history, globex)
    refused = drumbeat("export", "checkins")
    assert refused.code == 1
    assert "Several organisations (acme, globex): pass --org." in refused.err
    assert parse_csv(drumbeat("export", "checkins", "--org", "globex").out) == []
    assert len(parse_csv(drumbeat("export", "checkins", "--org", "acme").out)) == 5


# ---- person export and erase ------------------------------------------------------------


async def test_person_export_is_json_about_them(
    acme_history: str, drumbeat: Drumbeat, tmp_path: Path
) -> None:
    done = drumbeat("person", "export", BEN)

    assert done.code == 0, done.err
    data = json.loads(done.out)
    assert data["email"] == BEN
    assert [c["id"] for c in data["tables"]["checkin"]] == [1, 2]
    assert data["mentions"] == [{"table": "checkin", "key": {"id": 4}, "columns": ["notes"]}]
    assert drumbeat("person", "export", BEN, "--out", "ben.json").code == 0
    assert json.loads((tmp_path / "ben.json").read_text(encoding="utf-8")) == data
    unknown = drumbeat("person", "export", "nobody@acme.test")
    assert unknown.code == 1
    assert "Nothing is stored about nobody@acme.test in acme." in unknown.err


async def test_erase_asks_first_then_says_what_it_removed(
    acme_history: str, drumbeat: Drumbeat
) -> None:
    declined = drumbeat("person", "erase", BEN, input="n\n")
    assert declined.code == 1
    assert f"Erase {BEN} from acme? This cannot be undone [y/N]" in declined.out
    assert "2 checkin" in declined.out
    assert "Their check-ins will be deleted." in declined.out
    assert "Nothing was erased." in declined.err
    assert len(await mentions_anywhere_in(acme_history)) > 5
    assert drumbeat("person", "erase", BEN).code == 1  # no answer is no

    done = drumbeat("person", "erase", BEN, input="y\n")

    assert done.code == 0, done.err
    assert f"Erased {BEN} from acme, in one transaction:" in done.out
    for line in ("checkin: 2 deleted", "kr_update: 3 deleted", "person: 1 deleted",
                 "key_result: 2 anonymised", "checkin: 1 mentions erased"):  # fmt: skip
        assert f"  {line}\n" in done.out, done.out
    assert "remove them from your OKR file" in done.err
    assert "Messages already delivered in Slack or Teams stay there" in done.err
    assert await mentions_anywhere_in(acme_history) == []
    rows = parse_csv(drumbeat("export", "checkins").out)
    assert [r["person"] for r in rows] == [ANA, CAI]
    assert json.loads(rows[1]["notes"]) == {"focus": "pair with [erased]"}
    again = drumbeat("person", "erase", BEN, "--yes")
    assert again.code == 1
    assert f"Nothing is stored about {BEN} in acme." in again.err


async def test_erase_can_keep_anonymous_aggregates(acme_history: str, drumbeat: Drumbeat) -> None:
    done = drumbeat("person", "erase", BEN.upper(), "--keep-aggregates", "--yes")

    assert done.code == 0, done.err
    assert "kept as anonymous aggregates" in done.out
    assert "  checkin: 2 anonymised\n" in done.out
    assert "[y/N]" not in done.out
    assert await mentions_anywhere_in(acme_history) == []
    rows = parse_csv(drumbeat("export", "checkins").out)
    kept = [r for r in rows if r["person"].startswith("erased-")]
    assert [(r["checkin_id"], r["key_result"], r["value"]) for r in kept] == [
        ("1", "kr-lead", "-5.25"), ("1", "kr-launch", "0"), ("2", "kr-lead", "-5.25"),
    ]  # fmt: skip
    assert {(r["moved"], r["blockers"], r["next_step"], r["notes"]) for r in kept} == {
        ("", "", "", "{}")
    }
    assert len({r["person"] for r in kept}) == 1


async def mentions_anywhere_in(url: str) -> list[str]:
    found: list[str] = []

    async def scan(store: SqlStore) -> None:
        found.extend(await mentions_anywhere(store.engine, (BEN, BEN_SLACK)))

    await with_store(url, scan)
    return found
