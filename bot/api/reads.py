"""What the API reads, through the core: its objects in, the API's models out.

The tree comes from the organisation cache (checked against the database on every use), what
moves (values, confidences, check-ins, participation) from the store's ports and the digest
use case, read fresh per request, as every other adapter sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http import HTTPStatus

from bot.api import models
from bot.api.problems import ApiError
from rhythm.digest import scope_people
from rhythm.errors import UnknownKeyResult, UnknownTeam
from rhythm.forms import KrUpdate
from rhythm.okr import KeyResult, Organisation, Role
from rhythm.okr import Metric as OkrMetric
from rhythm.ports import StoredCheckIn
from rhythm.records import KrState
from rhythm.service import Drumbeat

# The periods participation is counted for: the calendar math of the core is for these years.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _not_found(what: str) -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, what)


def find_team(org: Organisation, team: str) -> str:
    found = org.find_team(team)
    if found is None:
        raise UnknownTeam(team, (t.key for t in org.teams))
    return found.key


def find_person(org: Organisation, email: str) -> str:
    key = email.strip().lower()
    if key not in org.person:
        raise _not_found(f"No person {email[:80]} in {org.name}.")
    return key


def find_key_result(org: Organisation, key: str) -> KeyResult:
    found = org.key_result.get(key)
    if found is None:
        raise UnknownKeyResult(key, org)
    return found


# ---- the tree -----------------------------------------------------------------------------


def _metric(metric: OkrMetric | None) -> models.Metric | None:
    if metric is None:
        return None
    return models.Metric(
        start=metric.start,
        target=metric.target,
        unit=metric.unit,
        direction=metric.direction,
        milestone=metric.milestone,
    )


def teams_in_order(org: Organisation) -> list[str]:
    """Parents before children; a team whose parent is unknown comes last, not never."""
    ordered = [key for root in org.root_teams() for key in org.subtree(root)]
    seen = set(ordered)
    return ordered + [t.key for t in org.teams if t.key not in seen]


async def tree(drumbeat: Drumbeat, org_key: str) -> models.OrganisationTree:
    org = await drumbeat.orgs.get(org_key)
    return models.OrganisationTree(
        key=org.key,
        name=org.name,
        teams=[
            models.Team(key=t.key, name=t.name, parent=t.parent, timezone=t.timezone)
            for t in (org.team[key] for key in teams_in_order(org))
        ],
        people=[
            models.Person(
                email=p.email,
                name=p.name,
                timezone=p.timezone,
                teams=[
                    models.Membership(team=m.team, lead=m.role is Role.LEAD) for m in p.memberships
                ],
            )
            for p in org.people
        ],
        cycles=[models.Cycle(key=c.key, start=c.start, end=c.end) for c in org.cycles],
        objectives=[
            models.Objective(
                key=o.key,
                title=o.title,
                cycle=o.cycle,
                team=org.objective_team(o),
                owner=o.owner_person,
                parent=o.parent,
            )
            for o in org.objectives
        ],
        key_results=[
            models.KeyResultNode(
                key=kr.key,
                objective=kr.objective,
                title=kr.title,
                owner=kr.owner,
                metric=_metric(kr.metric),
            )
            for kr in org.key_results
        ],
    )


# ---- key results --------------------------------------------------------------------------


async def _states(
    drumbeat: Drumbeat, org: str, key_results: Sequence[KeyResult]
) -> dict[str, KrState]:
    """Where each key result stands: the owners' latest answers, and the current value of
    those nobody owns."""
    owners = sorted({kr.owner for kr in key_results if kr.owner})
    owned = await drumbeat.store.kr_states_many(org, owners) if owners else {}
    states = {key: state for by_key in owned.values() for key, state in by_key.items()}
    rest = [kr.key for kr in key_results if kr.key not in states]
    if rest:
        values = await drumbeat.store.current_values(org, rest)
        states.update((key, KrState(value)) for key, value in values.items())
    return states


def _key_result(org: Organisation, kr: KeyResult, state: KrState | None) -> models.KeyResult:
    objective = org.objective[kr.objective]
    value = state.value if state else None
    return models.KeyResult(
        key=kr.key,
        objective=kr.objective,
        cycle=objective.cycle,
        team=org.objective_team(objective),
        title=kr.title,
        owner=kr.owner,
        metric=_metric(kr.metric),
        value=value,
        confidence=state.confidence if state else None,
        status=state.status if state else None,
        progress=kr.progress(value),
    )


async def key_results(
    drumbeat: Drumbeat, org_key: str, query: models.KeyResultsQuery
) -> models.KeyResultList:
    org = await drumbeat.orgs.get(org_key)
    chosen = list(org.key_results)
    if query.team is not None:
        teams = set(org.subtree(find_team(org, query.team)))
        chosen = [kr for kr in chosen if org.objective_team(org.objective[kr.objective]) in teams]
    if query.owner is not None:
        owner = find_person(org, query.owner)
        chosen = [kr for kr in chosen if kr.owner == owner]
    if query.cycle is not None:
        if query.cycle not in org.cycle:
            raise _not_found(f"No cycle “{query.cycle[:80]}” in {org.name}.")
        chosen = [kr for kr in chosen if org.objective[kr.objective].cycle == query.cycle]
    states = await _states(drumbeat, org.key, chosen)
    return models.KeyResultList(items=[_key_result(org, kr, states.get(kr.key)) for kr in chosen])


async def key_result(drumbeat: Drumbeat, org_key: str, key: str) -> models.KeyResult:
    org = await drumbeat.orgs.get(org_key)
    kr = find_key_result(org, key)
    states = await _states(drumbeat, org.key, [kr])
    return _key_result(org, kr, states.get(kr.key))


# ---- check-ins ----------------------------------------------------------------------------


def _answer(update: KrUpdate) -> models.KrAnswer:
    return models.KrAnswer(
        key_result=update.key_result,
        value=update.value,
        confidence=update.confidence,
        status=update.status,
        moved=update.moved,
        blockers=update.blockers,
        blocked_by_team=update.blocked_by_team,
        blocked_by_kr=update.blocked_by_kr,
        next_step=update.next_step,
        final_score=update.final_score,
        decision=update.decision,
    )


def _checkin(stored: StoredCheckIn) -> models.CheckIn:
    draft = stored.draft
    return models.CheckIn(
        id=stored.id,
        person=stored.person,
        kind=stored.kind,
        period=stored.period,
        revision=stored.revision,
        submitted_at=stored.submitted_at,
        prompted=stored.prompt_id is not None,
        key_results=[_answer(u) for u in draft.kr_updates],
        initiatives=[
            models.InitiativeAnswer(initiative=key, status=status)
            for key, status in draft.initiatives
        ],
        notes=dict(draft.notes),
        blocked_by_team=draft.blocked_by_team,
        blocked_by_kr=draft.blocked_by_kr,
    )


async def checkins(
    drumbeat: Drumbeat, org_key: str, query: models.CheckInsQuery, *, next_url: Callable[[int], str]
) -> models.CheckInPage:
    """A page of check-ins, oldest first; `next_url(last_id)` is the link to the next one."""
    org = await drumbeat.orgs.get(org_key)
    people: set[str] | None = None
    if query.team is not None:
        people = set(scope_people(org, find_team(org, query.team)))
    if query.person is not None:
        person = find_person(org, query.person)
        people = {person} & people if people is not None else {person}
    key_results = None
    if query.key_result is not None:
        key_results = [find_key_result(org, query.key_result).key]
    if people is not None and not people:  # a person outside the team: nobody
        return models.CheckInPage(items=[], next=None)
    page = await drumbeat.store.checkins_page(
        org.key,
        since=query.since,
        until=query.until,
        people=sorted(people) if people is not None else None,
        key_results=key_results,
        after=query.after,
        limit=query.limit + 1,  # one more tells whether there is a next page
    )
    shown = page[: query.limit]
    more = len(page) > query.limit
    return models.CheckInPage(
        items=[_checkin(c) for c in shown], next=next_url(shown[-1].id) if more else None
    )


# ---- participation ------------------------------------------------------------------------


async def participation(
    drumbeat: Drumbeat, org_key: str, team: str, query: models.ParticipationQuery
) -> models.Participation:
    """As the team's digest for the period containing `query.at` counts it, now."""
    at: datetime | None = query.at
    if at is not None and not EARLIEST <= at < LATEST:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            f"No period of {at:%Y-%m-%d} can be counted: give a moment from "
            f"{EARLIEST.year} to {LATEST.year - 1}.",
        )
    digest = await drumbeat.digests.digest(org_key, team, kind=query.kind, period_at=at)
    p = digest.participation
    return models.Participation(
        team=digest.team,
        team_name=digest.team_name,
        kind=digest.kind,
        period=digest.period,
        checked_in=p.checked_in,
        expected=p.expected,
        rate=p.rate,
        on_time=p.on_time,
        late=p.late,
        spontaneous=p.spontaneous,
        missing=list(p.missing),
        pending=list(p.pending),
        not_linked=list(p.not_linked),
        unreachable=list(p.unreachable),
        on_leave=list(p.on_leave),
    )
