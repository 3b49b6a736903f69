"""The OKR file: the sample organisation, round trips, located errors, CSV import, scale."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

import pytest
import yaml

from bot.okrfile import (
    OkrFileError,
    Problem,
    dump_organisation,
    load_key_results_csv,
    load_organisation,
    parse_key_results_csv,
    parse_organisation,
    tree,
)
from bot.okrfile.loader import MAX_FILE_BYTES
from rhythm.cadences import RhythmKind
from rhythm.lint import lint
from rhythm.okr import DateRange, Direction, InitiativeStatus, Membership, Organisation, Role

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme.yaml"
ACME_KRS = ACME.with_name("acme-krs.csv")

SKELETON = """\
organisation: {key: acme, name: Acme}
cycles:
  - {key: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
teams:
  - {key: acme, name: Acme, timezone: Europe/Paris}
  - {key: platform, name: Platform, parent: acme}
people:
  - email: ana@acme.example
    name: Ana
    teams: [{team: platform, role: lead}]
objectives:
  - key: speed
    title: Make it fast
    team: platform
    key_results:
      - key: latency
        title: p95 latency from 900 to 300 ms
        owner: ana@acme.example
        metric: {start: 900, target: 300, current: 700, unit: ms}
rhythms:
  - {team: acme, kind: weekly, time: "10:00", weekday: mon, digest: ["console:#acme"]}
"""


@pytest.fixture(scope="module")
def acme() -> Organisation:
    return load_organisation(ACME)


def problems(text: str) -> tuple[Problem, ...]:
    with pytest.raises(OkrFileError) as caught:
        parse_organisation(text, file="okrs.yaml")
    return caught.value.problems


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of `text` that holds `fragment` (there must be exactly one)."""
    lines = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(lines) == 1, (fragment, lines)
    return lines[0]


# --- the sample organisation ---------------------------------------------------------------


def test_skeleton_is_valid() -> None:
    org = parse_organisation(SKELETON)
    assert org.key_result["latency"].metric is not None
    assert org.key_result["latency"].metric.direction is Direction.DOWN
    assert org.team["platform"].timezone == "Europe/Paris"  # inherited from acme
    assert org.person["ana@acme.example"].timezone == "Europe/Paris"  # from her first team


def test_acme_lints_clean(acme: Organisation) -> None:
    assert lint(acme) == []


def test_acme_is_a_believable_company(acme: Organisation) -> None:
    assert len(acme.people) >= 12
    assert len({p.timezone for p in acme.people}) >= 3
    assert max(len(list(acme.ancestors(t.key))) for t in acme.teams) >= 3
    assert all(acme.leads(t.key) for t in acme.teams)
    assert len(acme.objectives) >= 4
    assert len(acme.key_results) >= 10
    assert any(o.parent for o in acme.objectives)
    metrics = [kr.metric for kr in acme.key_results if kr.metric]
    assert any(m.milestone for m in metrics)
    assert any(m.direction is Direction.DOWN for m in metrics)
    assert {i.status for i in acme.initiatives} >= {
        InitiativeStatus.DONE,
        InitiativeStatus.IN_PROGRESS,
        InitiativeStatus.BLOCKED,
    }
    assert {r.kind for r in acme.rhythms} == set(RhythmKind)
    assert all(c.startswith("console:#") for r in acme.rhythms for c in r.digest_channels)


def test_acme_calendar_fits_the_demo_fortnight(acme: Organisation) -> None:
    cycle = acme.cycle["2026-Q4"]
    assert (cycle.start, cycle.end) == (date(2026, 10, 1), date(2026, 12, 31))
    on_leave = [p for p in acme.people if p.time_off]
    assert [p.time_off for p in on_leave] == [(DateRange(date(2026, 11, 30), date(2026, 12, 4)),)]
    new_yorkers = [p for p in acme.people if p.timezone == "America/New_York"]
    assert new_yorkers
    assert all(acme.is_holiday(p, date(2026, 11, 26)) for p in new_yorkers)


def test_acme_digest_has_krs_behind_and_on_track(acme: Organisation) -> None:
    expected = acme.cycle["2026-Q4"].elapsed_share(date(2026, 11, 23))
    progress = [
        kr.progress(kr.metric.current)
        for kr in acme.key_results
        if kr.metric and not kr.metric.milestone
    ]
    assert any(p < expected - 0.15 for p in progress)
    assert any(p >= expected for p in progress)


def test_weekly_check_ins_cover_every_key_result_owner(acme: Organisation) -> None:
    for kr in acme.key_results:
        assert kr.owner is not None
        owner = acme.person[kr.owner]
        assert acme.covering_rhythm(owner, RhythmKind.WEEKLY) is not None


# --- round trips ----------------------------------------------------------------------------


def test_acme_round_trips(acme: Organisation) -> None:
    text = dump_organisation(acme)
    again = parse_organisation(text)
    assert again == acme
    assert dump_organisation(again) == text


def test_non_default_values_round_trip(acme: Organisation) -> None:
    hugo = acme.person["hugo.petit@acme.example"]
    unusual = replace(
        hugo,
        timezone="Pacific/Auckland",
        working_days=frozenset({6, 0, 1, 2, 3}),
        time_off=(DateRange(date(2026, 12, 24), date(2026, 12, 24)), *hugo.time_off),
        quiet_start=clock(22, 30),
        quiet_end=clock(6, 45),
        slack_user_id="U0HUGO",
    )
    rhythm = replace(
        acme.rhythms[0],
        key="all-hands",
        local_time=clock(8, 15, 30),
        lead_time=timedelta(0),
        deadline_after=timedelta(days=1, hours=12),
        max_reminders=0,
        reminder_after=timedelta(minutes=90),
    )
    people = tuple(unusual if p.email == hugo.email else p for p in acme.people)
    org = replace(acme, people=people, rhythms=(rhythm, *acme.rhythms[1:]))
    assert parse_organisation(dump_organisation(org)) == org


def test_dump_refuses_what_the_format_cannot_hold(acme: Organisation) -> None:
    lost = replace(acme.key_results[0], key="lost", objective="nowhere")
    with pytest.raises(ValueError, match="key result 'lost'"):
        dump_organisation(replace(acme, key_results=(*acme.key_results, lost)))


# --- reading values -------------------------------------------------------------------------


def test_values_are_read_as_written() -> None:
    text = (
        SKELETON.replace("email: ana@acme.example", "email: Ana@ACME.example")
        .replace('time: "10:00"', "time: 10:30")  # YAML 1.1 would read the number 630
        .replace("{key: acme, name: Acme}", "{key: acme, name: no}")  # and here False
    )
    org = parse_organisation(text)
    assert org.person["ana@acme.example"].memberships[0].role is Role.LEAD
    assert org.rhythms[0].local_time == clock(10, 30)
    assert org.name == "no"


def test_single_cycle_is_the_default_and_merge_keys_work() -> None:
    text = SKELETON.replace(
        "  - {key: platform, name: Platform, parent: acme}",
        "  - &team {key: platform, name: Platform, parent: acme}\n"
        "  - {<<: *team, key: mobile, name: Mobile}",
    )
    org = parse_organisation(text)
    assert org.objective["speed"].cycle == "2026-Q4"
    assert org.team["mobile"].parent == "acme"


def test_progress_is_reported_up_to_the_total() -> None:
    calls: list[tuple[int, int]] = []
    parse_organisation(SKELETON, progress=lambda done, total: calls.append((done, total)))
    total = 1 + 2 + 1 + 1 + 1  # cycles, teams, people, objectives, rhythms
    assert calls[0] == (0, total)
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# --- located problems -----------------------------------------------------------------------

ERRORS = [
    # (what, text replaced, by, field path, message)
    ("a number", "target: 300", "target: ten",
     "objectives[0].key_results[0].metric.target", "expected a number, got 'ten'"),
    ("an unknown team", "    team: platform", "    team: platfrom",
     "objectives[0].team", "unknown team 'platfrom' (did you mean 'platform'?)"),
    ("an unknown person", "owner: ana@acme.example", "owner: anna@acme.example",
     "objectives[0].key_results[0].owner",
     "unknown person 'anna@acme.example' (did you mean 'ana@acme.example'?)"),
    ("an unknown cycle", "    team: platform", "    team: platform\n    cycle: 2026-Q1",
     "objectives[0].cycle", "unknown cycle '2026-Q1' (did you mean '2026-Q4'?)"),
    ("an unknown parent", "    team: platform", "    team: platform\n    parent: sped",
     "objectives[0].parent", "unknown objective 'sped' (did you mean 'speed'?)"),
    ("a typo in a field name", "unit: ms", "unti: ms",
     "objectives[0].key_results[0].metric.unti", "unknown field 'unti' (did you mean 'unit'?)"),
    ("a duplicated field", "    team: platform", "    team: platform\n    team: acme",
     "objectives[0].team", "duplicate field (first on line 14)"),
    ("a duplicated key", "  - {key: platform, name: Platform, parent: acme}",
     "  - {key: platform, name: Platform, parent: acme}\n  - {key: platform, name: Again}",
     "teams[2].key", "duplicate team 'platform' (first on line 6)"),
    ("a timezone", "timezone: Europe/Paris", "timezone: Europe/Pariss",
     "teams[0].timezone", "unknown timezone 'Europe/Pariss' (did you mean 'Europe/Paris'?)"),
    ("a date", "end: 2026-12-31", "end: 2026-12-32",
     "cycles[0].end", "invalid date '2026-12-32'"),
    ("an end before the start", "end: 2026-12-31", "end: 2026-09-30",
     "cycles[0].end", "2026-09-30 is before start 2026-10-01"),
    ("a key with a colon", "key: latency", "key: 'lat:ency'",
     "objectives[0].key_results[0].key", "'lat:ency' is not a valid key"),
    ("a missing field", "    title: Make it fast\n", "",
     "objectives[0].title", "required field is missing"),
    ("a team loop", "{key: acme, name: Acme, timezone: Europe/Paris}",
     "{key: acme, name: Acme, timezone: Europe/Paris, parent: platform}",
     "teams[0].parent", "team parents form a loop: acme → platform → acme"),
    ("a weekday", "weekday: mon", "weekday: monday-ish",
     "rhythms[0].weekday", "expected a day like mon, tue ... sun, got 'monday-ish'"),
    ("a field of another rhythm kind", "weekday: mon", "weekday: mon, day_of_month: 3",
     "rhythms[0].day_of_month", "only for monthly rhythms"),
    ("a digest channel", '"console:#acme"', '"#acme"',
     "rhythms[0].digest[0]", "expected a channel like"),
    ("a direction", "unit: ms}", "unit: ms, direction: up}",
     "objectives[0].key_results[0].metric.direction", "direction up contradicts start 900"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "field", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_problem_is_located(old: str, new: str, field: str, message: str) -> None:
    assert old in SKELETON
    text = SKELETON.replace(old, new, 1)
    found = [p for p in problems(text) if p.field == field]
    assert len(found) == 1, problems(text)
    assert message in found[0].message
    assert found[0].file == "okrs.yaml"
    if new:
        assert found[0].line == line_of(text, new.splitlines()[-1])
    else:  # a missing field is reported on the first line of the mapping that lacks it
        assert found[0].line == line_of(text, "- key: speed")


def test_yaml_syntax_error_has_its_line() -> None:
    text = SKELETON.replace("    title: Make it fast", "    title: Make it: fast: [")
    (problem,) = problems(text)
    assert problem.line == line_of(text, "Make it: fast")
    assert problem.message.startswith("invalid YAML")


def test_empty_file_and_wrong_shapes() -> None:
    assert "empty" in problems("")[0].message
    assert problems("- just\n- a list\n")[0].message == "expected a mapping of fields, got a list"
    shape = problems(SKELETON.replace("teams: [{team: platform, role: lead}]", "teams: platform"))
    assert [(p.field, p.message) for p in shape] == [
        ("people[0].teams", "expected a list, got 'platform'")
    ]


def test_many_problems_are_reported_at_once() -> None:
    text = """\
version: 2
organisation: {key: acme}
cycles:
  - {key: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
teams:
  - {key: acme, name: Acme, timezone: Mars/Olympus}
people:
  - email: not-an-email
    name: Bob
    teams: [acme, acme]
    working_days: [mon, mon]
    slack_id: bob
    teams_id: not-a-guid
    quiet_hours: 19:00
    time_off: [{start: 2026-12-04, end: 2026-11-30}]
    holidays: us
objectives:
  - key: o1
    title: First
    team: acme
    key_results:
      - {key: k1, title: Launch it, milestone: yes, done: maybe}
      - {key: k1, title: Twice, metric: {start: 1}}
rhythms:
  - {team: acme, kind: fortnightly, time: "9h"}
"""
    found = problems(text)
    located = {(p.line, p.field) for p in found}
    assert located >= {
        (1, "version"),
        (2, "organisation.name"),
        (6, "teams[0].timezone"),
        (8, "people[0].email"),
        (10, "people[0].teams[1]"),
        (11, "people[0].working_days[1]"),
        (12, "people[0].slack_id"),
        (13, "people[0].teams_id"),
        (14, "people[0].quiet_hours"),
        (15, "people[0].time_off[0].end"),
        (16, "people[0].holidays"),
        (22, "objectives[0].key_results[0].done"),
        (23, "objectives[0].key_results[1].key"),
        (23, "objectives[0].key_results[1].metric.target"),
        (25, "rhythms[0].kind"),
        (25, "rhythms[0].time"),
    }, found
    assert [p.line for p in found] == sorted(p.line or 0 for p in found)


def test_error_text_is_one_located_line_per_problem() -> None:
    text = SKELETON.replace("target: 300", "target: ten").replace(
        "    team: platform", "    team: x"
    )
    with pytest.raises(OkrFileError) as caught:
        parse_organisation(text, file="okrs.yaml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert all(re.fullmatch(r"okrs\.yaml:\d+: [\w.\[\]]+: .+", line) for line in lines)
    assert lines[0].startswith(f"okrs.yaml:{line_of(text, 'team: x')}: objectives[0].team: ")


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(SKELETON.replace("target: 300", "target: ten"), encoding="utf-8")
    with pytest.raises(OkrFileError, match=r"broken\.yaml:19: objectives\[0\]"):
        load_organisation(path)
    path.write_bytes(b"organisation: {key: acme, name: \xff}\n")
    with pytest.raises(OkrFileError, match="not UTF-8"):
        load_organisation(path)


# --- CSV ------------------------------------------------------------------------------------


def test_sample_csv_updates_and_adds_key_results(acme: Organisation) -> None:
    org = load_key_results_csv(ACME_KRS, acme)
    assert len(org.key_results) > len(acme.key_results)
    assert lint(org) == []
    assert parse_organisation(dump_organisation(org)) == org


def test_csv_changes_only_the_cells_filled_in(acme: Organisation) -> None:
    text = "key,current\narr,9.3\nnrr,\n"
    org = parse_key_results_csv(text, acme)
    arr, before = org.key_result["arr"], acme.key_result["arr"]
    assert arr.metric is not None
    assert before.metric is not None
    assert arr.metric.current == 9.3
    assert replace(arr.metric, current=before.metric.current) == before.metric
    assert org.key_result["nrr"] == acme.key_result["nrr"]
    assert [kr.key for kr in org.key_results] == [kr.key for kr in acme.key_results]


def test_csv_adds_a_key_result_with_spreadsheet_habits(acme: Organisation) -> None:
    text = (
        "\ufeffObjective;Key;Title;Owner;Start;Target;Current;Unit\n"
        "activation;signup-time;Sign-up time from 300 to 60 s;Lucas.Bernard@acme.example;"
        "300;60;200;s\n"
    )
    kr = parse_key_results_csv(text, acme).key_result["signup-time"]
    assert kr.owner == "lucas.bernard@acme.example"
    assert kr.metric is not None
    assert kr.metric.direction is Direction.DOWN
    assert kr.objective == "activation"


def test_csv_problems_are_located_by_line_and_column(acme: Organisation) -> None:
    text = (
        "key,objective,title,current,owner,notes\n"
        "arr,,,ten,\n"
        "new-one,activaton,,,\n"
        '"multi\nline",,,,\n'
        "arr,,,,\n"
        "eu-residency,,,2,\n"
    )
    with pytest.raises(OkrFileError) as caught:
        parse_key_results_csv(text, acme, file="krs.csv")
    found = {(p.line, p.field, p.message) for p in caught.value.problems}
    assert found >= {
        (1, "notes", "unknown column; expected some of: " + ", ".join(
            ["objective", "key", "title", "owner", "start", "target", "current", "unit",
             "direction", "milestone"])),
        (2, "current", "expected a number, got 'ten'"),
        (3, "objective", "unknown objective 'activaton' (did you mean 'activation'?)"),
        (3, "title", "required for a new key result"),
        (6, "key", "key result 'arr' is already on line 2"),
    }, found  # fmt: skip
    assert any(p.line == 4 and p.field == "key" for p in caught.value.problems)
    assert any(p.line == 7 and p.field == "current" for p in caught.value.problems)
    assert str(caught.value).splitlines()[0].startswith("krs.csv:1: notes: unknown column")


# --- scale ----------------------------------------------------------------------------------


def generated_yaml(people: int) -> str:
    """An organisation of `people` people in teams of 50, each team with one objective."""
    zones = ("Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
    teams = people // 50
    out = [
        "organisation: {key: big, name: Big Co}",
        "holidays: {us: [2026-11-26, 2026-12-25]}",
        "cycles: [{key: 2026-Q4, start: 2026-10-01, end: 2026-12-31}]",
        "teams:",
        "  - {key: root, name: Root, timezone: UTC}",
    ]
    out += [f"  - {{key: t{t}, name: Team {t}, parent: root, timezone: {zones[t % 4]}}}"
            for t in range(teams)]  # fmt: skip
    out.append("people:")
    for p in range(people):
        role = "lead" if p % 50 == 0 else "member"
        out += [
            f"  - email: person{p}@big.example",
            f"    name: Person {p}",
            "    holidays: us",
            "    working_days: [mon, tue, wed, thu, fri]",
            f"    teams: [{{team: t{p // 50}, role: {role}}}]",
            "    time_off: [{start: 2026-11-30, end: 2026-12-04}]",
        ]
    out += ["objectives:", "  - {key: top, title: Grow, team: root}"]
    for t in range(teams):
        out += [f"  - key: o{t}", f"    title: Objective {t}", f"    team: t{t}",
                "    parent: top", "    key_results:"]  # fmt: skip
        for k in range(3):
            out += [
                f"      - key: kr{t}-{k}",
                f"        title: Metric {k} from 10 to 20",
                f"        owner: person{t * 50 + k}@big.example",
                "        metric: {start: 10, target: 20, current: 12, unit: '%'}",
            ]
    out += ["rhythms: [{team: root, kind: weekly, time: '10:00', digest: ['console:#all']}]"]
    return "\n".join(out) + "\n"


def test_ten_thousand_people_load(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(generated_yaml(10_000), encoding="utf-8")
    calls: list[tuple[int, int]] = []
    started = time.perf_counter()
    org = load_organisation(path, progress=lambda done, total: calls.append((done, total)))
    elapsed = time.perf_counter() - started
    assert len(org.people) == 10_000
    assert len(org.key_results) == 600
    assert calls[-1] == (calls[-1][1], calls[-1][1])
    assert len(calls) <= 202
    print(f"\n10,000 people ({path.stat().st_size / 1e6:.1f} MB) loaded in {elapsed:.2f} s")


def test_a_large_file_is_read_from_the_tree_pyyaml_composes() -> None:
    text = generated_yaml(6_000)  # 1.3 MB
    pyyaml = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    assert_same_tree(tree.compose(text), yaml.compose(text, Loader=pyyaml))
    org = parse_organisation(text)
    assert (len(org.people), len(org.teams), len(org.key_results)) == (6_000, 121, 360)
    ana = org.person["person4321@big.example"]
    assert ana.memberships == (Membership("t86", Role.MEMBER),)
    assert ana.timezone == "Asia/Kolkata"  # from her team
    assert ana.time_off == (DateRange(date(2026, 11, 30), date(2026, 12, 4)),)
    assert org.key_result["kr86-2"].owner == "person4302@big.example"


def assert_same_tree(ours: tree.Node | None, theirs: yaml.Node) -> None:
    """The compact tree holds what PyYAML's node tree (the loader's before) does: the same
    values, empty values, pairs and lines."""
    assert ours is not None
    pending: list[tuple[tree.Node, yaml.Node]] = [(ours, theirs)]
    while pending:
        mine, node = pending.pop()
        assert mine.line == node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            assert isinstance(mine, tree.Scalar)
            assert mine.value == node.value
            assert isinstance(mine, tree.Null) == (node.tag == "tag:yaml.org,2002:null")
        elif isinstance(node, yaml.SequenceNode):
            assert isinstance(mine, tree.Sequence)
            assert len(mine.items) == len(node.value)
            pending += zip(mine.items, node.value, strict=True)
        else:
            assert isinstance(mine, tree.Mapping)
            pairs = list(mine.pairs())
            assert [(key, line) for key, line, _, _ in pairs] == [
                (key.value, key.start_mark.line + 1) for key, _ in node.value
            ]
            values = [tree.node_of(value, line) for _, _, value, line in pairs]
            pending += zip(values, [value for _, value in node.value], strict=True)


def test_problems_in_a_large_file_are_all_listed_with_their_lines(tmp_path: Path) -> None:
    mistakes = [  # (written, becomes: "# <n>" marks the line of the problem, field, message)
        ("    name: Person 1234\n", "    name: Person 1234\n    nmae: x  # 0\n",
         "people[1234].nmae", "unknown field 'nmae' (did you mean 'name'?)"),
        ("owner: person2950@big.example\n", "owner: persn2950@big.example  # 1\n",
         "objectives[60].key_results[0].owner",
         "unknown person 'persn2950@big.example' (did you mean 'person2950@big.example'?)"),
        ("current: 12, unit: '%'}\n      - key: kr99-1", "current: lots, unit: '%'}  # 2\n"
         "      - key: kr99-1", "objectives[100].key_results[0].metric.current",
         "expected a number, got 'lots'"),
        ("  - key: o110\n", "  - key: o109  # 3\n", "objectives[111].key",
         "duplicate objective 'o109' (first on line"),
    ]  # fmt: skip
    text = generated_yaml(6_000)
    for written, becomes, _, _ in mistakes:
        assert text.count(written) == 1, written
        text = text.replace(written, becomes)
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OkrFileError) as caught:
        load_organisation(path)
    found = caught.value.problems
    assert len(found) == len(mistakes), found
    for n, (problem, (_, _, field, message)) in enumerate(zip(found, mistakes, strict=True)):
        assert (problem.file, problem.line) == (str(path), line_of(text, f"# {n}"))
        assert problem.field == field
        assert problem.message.startswith(message)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as sparse:  # takes no room on disk
        sparse.truncate(MAX_FILE_BYTES + 1)

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", no_reading)
    with pytest.raises(OkrFileError) as caught:
        load_organisation(path)
    assert str(caught.value) == (
        f"{path}: the file is 64.0 MB; an OKR file may be at most 64 MB (10,000 people take "
        "about 6 MB): is it the right file?"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_file_without_a_size_is_read_no_further_than_the_limit() -> None:
    with pytest.raises(OkrFileError, match="the file is more than 64 MB; an OKR file may be"):
        load_organisation(Path("/dev/zero"))  # endless, and its size is 0


BILLION_LAUGHS = """\
organisation: {key: acme, name: Acme}
people: &lol9 [*lol8, *lol8, *lol8, *lol8, *lol8, *lol8, *lol8, *lol8, *lol8, *lol8]
"""


def billion_laughs() -> str:
    """Each anchor ten times the one before: 10 ** 9 values once expanded."""
    lines = ["lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 10)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n" + BILLION_LAUGHS


def test_an_alias_bomb_is_refused_at_once() -> None:
    text = billion_laughs()
    (problem,) = problems(text)
    assert problem.line == line_of(text, "lol5: &lol5")  # its aliases: 111,111 values each
    assert problem.message == (
        "its aliases stand for more than 1,000,000 values, far more than the file writes out: "
        'refused as an alias bomb ("billion laughs")'
    )
    merges = "m0: &m0 {a: 1, b: 2}\n" + "".join(
        f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 10)}]}}\n" for i in range(1, 9)
    )
    assert "alias bomb" in problems(merges)[0].message


def test_an_alias_inside_the_value_it_names_is_refused() -> None:
    text = SKELETON.replace("teams: [{team: platform, role: lead}]", "teams: &t [platform, *t]")
    (problem,) = problems(text)
    assert (problem.line, problem.message) == (
        line_of(text, "&t [platform, *t]"),
        "alias *t is inside the value it names: it would never end",
    )


def test_a_file_with_too_many_values_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "MAX_VALUES", 1_000)
    (problem,) = problems(SKELETON + "extra: [" + "0, " * 1_000 + "0]\n")
    assert problem.message.startswith("more than 1,000 values: far more than any organisation")


def test_merged_mappings_the_first_listed_wins() -> None:
    text = SKELETON.replace(
        "  - {key: platform, name: Platform, parent: acme}",
        "  - &a {key: platform, name: Platform, parent: acme}\n"
        "  - &b {key: mobile, name: Mobile, parent: platform, timezone: UTC}\n"
        "  - {<<: [*a, *b], key: web}\n"
        "  - <<: *b\n"
        "    <<: {name: Data}\n"
        "    key: data",
    )
    org = parse_organisation(text)
    assert org.team["web"] == replace(org.team["platform"], key="web", timezone="UTC")
    assert org.team["data"] == replace(org.team["mobile"], key="data", name="Data")
    broken = SKELETON.replace("{key: platform, name: Platform, parent: acme}", "{<<: 5}")
    assert (problems(broken)[0].field, problems(broken)[0].message) == (
        "teams[1]",
        "invalid merge key: expected a mapping or list of mappings for merging, but found scalar",
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("organisation: *nowhere\n", 1, "invalid YAML: found undefined alias"),
        ("a: &x 1\nb: &x 2\n", 2,
         "invalid YAML: found duplicate anchor; first occurrence second occurrence"),
        ("organisation: {}\n---\nagain: {}\n", 2,
         "invalid YAML: expected a single document in the stream but found another document"),
    ],
)  # fmt: skip
def test_composing_errors_read_as_before(text: str, line: int, message: str) -> None:
    (problem,) = problems(text)
    assert (problem.line, problem.message) == (line, message)


def test_pyyaml_without_libyaml_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    text = SKELETON.replace("target: 300", "target: ten")
    org, found = parse_organisation(SKELETON), problems(text)
    monkeypatch.setattr(tree, "_Parser", yaml.SafeLoader)  # PyYAML's own, pure Python parser
    assert (parse_organisation(SKELETON), problems(text)) == (org, found)
    assert problems("organisation: [\n")[0].message.startswith("invalid YAML")


# --- the organisation's locale --------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "read"), [("de-DE", "de_DE"), ("fr", "fr"), ("en_IN", "en_IN")]
)
def test_a_locale_is_read_in_babel_s_spelling_and_round_trips(written: str, read: str) -> None:
    text = SKELETON.replace("name: Acme}", f"name: Acme, locale: {written}}}", 1)
    org = parse_organisation(text)
    assert org.locale == read
    assert parse_organisation(dump_organisation(org)) == org


def test_without_a_locale_numbers_are_english() -> None:
    assert parse_organisation(SKELETON).locale == "en"
    assert "locale" not in dump_organisation(parse_organisation(SKELETON))


def test_an_unknown_locale_is_refused_where_it_is_written() -> None:
    text = SKELETON.replace("name: Acme}", "name: Acme, locale: klingon}", 1)
    [problem] = problems(text)
    assert problem.line == 1
    assert "'klingon' is not a locale" in problem.message
