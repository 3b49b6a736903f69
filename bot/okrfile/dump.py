"""`dump_organisation`: an `Organisation` as an OKR file that loads back to an equal one.

Values equal to what the loader would infer (default working days, a timezone inherited from
the team, a direction implied by start and target...) are left out, so the output reads like a
hand-written file.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

from bot.okrfile.loader import FORMAT_VERSION
from bot.okrfile.objectives import implied_direction
from bot.okrfile.people import DEFAULT_TIMEZONE, inherited_timezone
from bot.okrfile.rhythms import default_key
from bot.okrfile.values import WEEKDAYS, format_clock, format_duration
from rhythm.cadences import Rhythm, RhythmKind
from rhythm.okr import (
    MONDAY_TO_FRIDAY,
    DateRange,
    Initiative,
    InitiativeStatus,
    KeyResult,
    Metric,
    Objective,
    Organisation,
    Person,
    Role,
    Team,
)
from rhythm.present import DEFAULT_LOCALE

HEADER = "# Drumbeat OKR file. Format reference: docs/okr-file-format.md\n"
_PERSON_DEFAULTS = Person(email="", name="")

Data = dict[str, Any]


FLOW_WIDTH = 76  # collections shorter than this on one line are written inline


class _Inline(dict[str, Any]):
    """A mapping written on one line: {key: platform, name: Platform}."""


class _InlineList(list[Any]):
    """A list written on one line: [mon, tue, wed]."""


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as people write YAML by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_inline(dumper: yaml.SafeDumper, data: _Inline) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


def _represent_inline_list(dumper: yaml.SafeDumper, data: _InlineList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(_Inline, _represent_inline)
_Dumper.add_representer(_InlineList, _represent_inline_list)


def _inline_width(value: Any) -> int | None:
    """The rough length of `value` written on one line; None when it holds a block."""
    if isinstance(value, _Inline):
        parts = [_inline_width(v) for v in value.values()]
        overhead = sum(len(str(k)) + 4 for k in value)
    elif isinstance(value, _InlineList):
        parts = [_inline_width(v) for v in value]
        overhead = 2 * len(value)
    elif isinstance(value, dict | list):
        return None
    else:
        return len(str(value))
    widths = [w for w in parts if w is not None]
    return overhead + sum(widths) + 2 if len(widths) == len(parts) else None


def _styled(value: Any) -> Any:
    """`value` with each collection short enough to fit on one line marked to be inline."""
    inline: _Inline | _InlineList
    if isinstance(value, dict):
        inline = _Inline({k: _styled(v) for k, v in value.items()})
    elif isinstance(value, list):
        inline = _InlineList(_styled(v) for v in value)
    else:
        return value
    width = _inline_width(inline)
    if width is not None and width <= FLOW_WIDTH:
        return inline
    return dict(inline) if isinstance(inline, dict) else list(inline)


def _styled_section(section: Any) -> Any:
    """A top-level section stays a block: its entries are what the reader scans for."""
    if isinstance(section, dict):
        return {name: _styled(value) for name, value in section.items()}
    if isinstance(section, list):
        return [_styled(item) for item in section]
    return section


class _Clock(str):
    """A time of day, quoted so that no YAML 1.1 reader takes 10:30 for the number 630."""


def _represent_clock(dumper: yaml.SafeDumper, data: _Clock) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style='"')


_Dumper.add_representer(_Clock, _represent_clock)


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _team(team: Team, zones: dict[str, str]) -> Data:
    data: Data = {"key": team.key, "name": team.name}
    if team.parent is not None:
        data["parent"] = team.parent
    inherited = zones.get(team.parent, DEFAULT_TIMEZONE) if team.parent else DEFAULT_TIMEZONE
    if team.timezone != inherited:
        data["timezone"] = team.timezone
    return data


def _leave(leave: DateRange) -> date | Data:
    return leave.start if leave.start == leave.end else {"start": leave.start, "end": leave.end}


def _person(person: Person, zones: dict[str, str]) -> Data:
    data: Data = {"email": person.email, "name": person.name}
    if person.timezone != inherited_timezone(person.memberships, zones):
        data["timezone"] = person.timezone
    if person.working_days != MONDAY_TO_FRIDAY:
        data["working_days"] = [WEEKDAYS[day] for day in sorted(person.working_days)]
    if person.holiday_calendar is not None:
        data["holidays"] = person.holiday_calendar
    if person.time_off:
        data["time_off"] = [_leave(leave) for leave in person.time_off]
    if person.memberships:
        data["teams"] = [
            m.team if m.role is Role.MEMBER else {"team": m.team, "role": m.role.value}
            for m in person.memberships
        ]
    if person.slack_user_id is not None:
        data["slack_id"] = person.slack_user_id
    if person.teams_user_id is not None:
        data["teams_id"] = person.teams_user_id
    quiet = (person.quiet_start, person.quiet_end)
    if quiet != (_PERSON_DEFAULTS.quiet_start, _PERSON_DEFAULTS.quiet_end):
        data["quiet_hours"] = _Clock(f"{format_clock(quiet[0])}-{format_clock(quiet[1])}")
    return data


def _metric(metric: Metric) -> Data:
    data: Data = {
        "start": _number(metric.start),
        "target": _number(metric.target),
        "current": _number(metric.current),
    }
    if metric.unit:
        data["unit"] = metric.unit
    if metric.direction is not implied_direction(metric.start, metric.target):
        data["direction"] = metric.direction.value
    return data


def _initiative(initiative: Initiative) -> Data:
    data: Data = {"key": initiative.key, "title": initiative.title}
    if initiative.owner is not None:
        data["owner"] = initiative.owner
    if initiative.status is not InitiativeStatus.NOT_STARTED:
        data["status"] = initiative.status.value
    return data


def _key_result(kr: KeyResult, org: Organisation) -> Data:
    data: Data = {"key": kr.key, "title": kr.title}
    if kr.owner is not None:
        data["owner"] = kr.owner
    if kr.metric is not None and kr.metric.milestone:
        data["milestone"] = True
        if kr.metric.current >= 1:
            data["done"] = True
    elif kr.metric is not None:
        data["metric"] = _metric(kr.metric)
    initiatives = org.initiatives_of(kr.key)
    if initiatives:
        data["initiatives"] = [_initiative(i) for i in initiatives]
    return data


def _objective(objective: Objective, org: Organisation) -> Data:
    data: Data = {"key": objective.key, "title": objective.title, "cycle": objective.cycle}
    if objective.owner_team is not None:
        data["team"] = objective.owner_team
    if objective.owner_person is not None:
        data["owner"] = objective.owner_person
    if objective.parent is not None:
        data["parent"] = objective.parent
    krs = org.key_results_in(objective.key)
    if krs:
        data["key_results"] = [_key_result(kr, org) for kr in krs]
    return data


def _rhythm(rhythm: Rhythm) -> Data:
    defaults = Rhythm(rhythm.key, rhythm.team, rhythm.kind, rhythm.local_time)
    data: Data = {}
    if rhythm.key != default_key(rhythm.team, rhythm.kind):
        data["key"] = rhythm.key
    data.update(
        team=rhythm.team, kind=rhythm.kind.value, time=_Clock(format_clock(rhythm.local_time))
    )
    if rhythm.kind is RhythmKind.WEEKLY:
        data["weekday"] = WEEKDAYS[rhythm.weekday]
    if rhythm.kind is RhythmKind.MONTHLY:
        data["day_of_month"] = rhythm.day_of_month
    if rhythm.kind is RhythmKind.END_OF_CYCLE:
        data["days_before_end"] = rhythm.days_before_end
    if rhythm.reminder_after != defaults.reminder_after:
        data["reminder_after"] = format_duration(rhythm.reminder_after)
    if rhythm.max_reminders != defaults.max_reminders:
        data["max_reminders"] = rhythm.max_reminders
    if rhythm.deadline_after is not None:
        data["deadline"] = format_duration(rhythm.deadline_after)
    if rhythm.lead_time != defaults.lead_time:
        data["lead_time"] = format_duration(rhythm.lead_time)
    if rhythm.digest_channels:
        data["digest"] = list(rhythm.digest_channels)
    return data


def _unreachable(org: Organisation) -> list[str]:
    """Items the nested format has no place for: they point at nothing."""
    lost = [f"key result {k.key!r}" for k in org.key_results if k.objective not in org.objective]
    lost += [f"initiative {i.key!r}" for i in org.initiatives if i.key_result not in org.key_result]
    return lost


def organisation_data(org: Organisation) -> Data:
    """The plain data (dicts, lists, strings, numbers, dates) of the OKR file of `org`."""
    lost = _unreachable(org)
    if lost:
        raise ValueError(f"cannot write {', '.join(lost)}: not linked to anything that exists")
    zones = {t.key: t.timezone for t in org.teams}
    data: Data = {
        "version": FORMAT_VERSION,
        "organisation": {"key": org.key, "name": org.name}
        | ({"admins": list(org.admins)} if org.admins else {})
        | ({"locale": org.locale} if org.locale != DEFAULT_LOCALE else {})
        | ({"nudges_per_week": org.nudges_per_week} if org.nudges_per_week != 3 else {}),
    }
    if org.holidays:
        data["holidays"] = {name: sorted(days) for name, days in org.holidays.items()}
    sections: Data = {
        "cycles": [{"key": c.key, "start": c.start, "end": c.end} for c in org.cycles],
        "teams": [_team(t, zones) for t in org.teams],
        "people": [_person(p, zones) for p in org.people],
        "objectives": [_objective(o, org) for o in org.objectives],
        "rhythms": [_rhythm(r) for r in org.rhythms],
    }
    data.update((name, items) for name, items in sections.items() if items)
    return {name: _styled_section(section) for name, section in data.items()}


def dump_organisation(org: Organisation) -> str:
    """`org` as the text of an OKR file, a blank line before each section."""
    text = yaml.dump(
        organisation_data(org),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    lines = text.splitlines()
    spaced = [f"\n{line}" if i and line[:1].isalpha() else line for i, line in enumerate(lines)]
    return HEADER + "\n".join(spaced) + "\n"
