"""What chat platforms teach us, applied over the file's tree; admins, leads and chat ids."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rhythm.okr import Membership, Organisation, Person, Role, Team
from rhythm.profiles import ChatProfile, inherited_timezone, with_profiles

CEO = "ceo@acme.test"  # leads the company (a top-level team)
OPS = "ops@acme.test"  # leads operations (the other top-level team)
PM = "pm@acme.test"  # leads product, under the company
ANNA = "anna@acme.test"  # product member, Paris like her team
KENJI = "kenji@acme.test"  # platform member, Tokyo while his team is in Kolkata
NOBODY = "nobody@acme.test"  # in no team


def member(email: str, team: str, timezone: str, *, lead: bool = False, **kw: object) -> Person:
    role = Role.LEAD if lead else Role.MEMBER
    return Person(email, email.split("@")[0].title(), timezone,
                  memberships=(Membership(team, role),), **kw)  # type: ignore[arg-type]  # fmt: skip


def org(*, admins: tuple[str, ...] = ()) -> Organisation:
    return Organisation(
        key="acme",
        name="Acme",
        teams=(
            Team("company", "Company", None, "Europe/Paris"),
            Team("product", "Product", "company", "Europe/Paris"),
            Team("platform", "Platform", "product", "Asia/Kolkata"),
            Team("ops", "Operations", None, "America/New_York"),
        ),
        people=(
            member(CEO, "company", "Europe/Paris", lead=True, slack_user_id="U-CEO"),
            member(OPS, "ops", "America/New_York", lead=True, teams_user_id="AAD-OPS-1"),
            member(PM, "product", "Europe/Paris", lead=True),
            member(ANNA, "product", "Europe/Paris", teams_user_id="aad-anna"),
            member(KENJI, "platform", "Asia/Tokyo"),
            Person(NOBODY, "Nobody"),
        ),
        admins=admins,
    )


# ---- with_profiles -----------------------------------------------------------------------


def test_no_profiles_leave_the_tree_as_it_is() -> None:
    tree = org()
    assert with_profiles(tree, []) is tree


def test_linked_ids_fill_the_ids_the_file_left_out() -> None:
    tree = with_profiles(org(), [
        ChatProfile(PM, slack_user_id="U-PM", teams_user_id="aad-pm"),
        ChatProfile(CEO, slack_user_id="U-OTHER", teams_user_id="aad-ceo"),
    ])  # fmt: skip

    assert (tree.person[PM].slack_user_id, tree.person[PM].teams_user_id) == ("U-PM", "aad-pm")
    assert tree.person[CEO].slack_user_id == "U-CEO"  # the file's id wins
    assert tree.person[CEO].teams_user_id == "aad-ceo"
    assert tree.person[ANNA] == org().person[ANNA]  # no profile: untouched


def test_a_chat_timezone_fills_only_an_inherited_timezone() -> None:
    tree = with_profiles(org(), [
        ChatProfile(ANNA, chat_timezone="America/Chicago"),
        ChatProfile(KENJI, chat_timezone="Europe/Berlin"),
        ChatProfile(NOBODY, chat_timezone="Australia/Sydney"),  # no team: UTC was inherited
    ])  # fmt: skip

    assert tree.person[ANNA].timezone == "America/Chicago"
    assert tree.person[KENJI].timezone == "Asia/Tokyo"  # the file chose it
    assert tree.person[NOBODY].timezone == "Australia/Sydney"


def test_a_chosen_timezone_wins_over_chat_and_file() -> None:
    tree = with_profiles(org(), [
        ChatProfile(ANNA, chat_timezone="America/Chicago", chosen_timezone="Asia/Kolkata"),
        ChatProfile(KENJI, chosen_timezone="Europe/Lisbon"),
        ChatProfile(PM, chat_timezone="America/Denver", chosen_timezone=None),
    ])  # fmt: skip

    assert tree.person[ANNA].timezone == "Asia/Kolkata"
    assert tree.person[KENJI].timezone == "Europe/Lisbon"
    assert tree.person[PM].timezone == "America/Denver"


def test_profiles_change_nothing_else_and_ignore_strangers() -> None:
    before = org()
    tree = with_profiles(before, [
        ChatProfile(ANNA, slack_user_id="U-ANNA", chosen_timezone="Asia/Kolkata"),
        ChatProfile("left@acme.test", slack_user_id="U-LEFT"),
    ])  # fmt: skip

    assert tree.person[ANNA] == replace(
        before.person[ANNA], slack_user_id="U-ANNA", timezone="Asia/Kolkata"
    )
    assert [p.email for p in tree.people] == [p.email for p in before.people]
    assert "left@acme.test" not in tree.person
    assert tree.person_by_chat_id("slack", "U-LEFT") is None
    assert (tree.teams, tree.admins) == (before.teams, before.admins)


def test_the_new_tree_indexes_the_linked_ids() -> None:
    before = org()
    assert before.person_by_chat_id("slack", "U-PM") is None  # fills before's caches

    tree = with_profiles(before, [ChatProfile(PM, slack_user_id="U-PM")])

    assert tree.person_by_chat_id("slack", "U-PM") == PM
    assert before.person_by_chat_id("slack", "U-PM") is None


def test_inherited_timezone_is_the_first_team_s_or_utc() -> None:
    tree = org()
    assert inherited_timezone(tree, tree.person[KENJI]) == "Asia/Kolkata"
    assert inherited_timezone(tree, tree.person[NOBODY]) == "UTC"
    gone = replace(tree.person[ANNA], memberships=(Membership("dissolved"),))
    assert inherited_timezone(tree, gone) == "UTC"


# ---- admins and leads --------------------------------------------------------------------


def test_admins_default_to_the_leads_of_the_top_level_teams() -> None:
    tree = org()
    assert [p.email for p in tree.admin_people] == [CEO, OPS]
    assert tree.is_admin(CEO)
    assert tree.is_admin(OPS)
    assert not tree.is_admin(PM)  # a lead, but not of a top-level team
    assert not tree.is_admin("stranger@else.test")


def test_listed_admins_replace_the_default_and_unknown_ones_are_skipped() -> None:
    tree = org(admins=(KENJI, "gone@acme.test", ANNA))
    assert [p.email for p in tree.admin_people] == [KENJI, ANNA]
    assert tree.is_admin(KENJI)
    assert not tree.is_admin(CEO)
    assert not tree.is_admin("gone@acme.test")


def test_a_lead_of_two_top_level_teams_is_one_admin() -> None:
    tree = org()
    both = replace(
        tree.person[CEO],
        memberships=(Membership("company", Role.LEAD), Membership("ops", Role.LEAD)),
    )
    tree = replace(tree, people=tuple(both if p.email == CEO else p for p in tree.people))
    assert [p.email for p in tree.admin_people] == [CEO, OPS]


def test_leads_or_admin_is_a_lead_of_the_team_or_above_or_an_admin() -> None:
    tree = org(admins=(ANNA,))  # so that the company's lead is not an admin

    assert tree.leads_or_admin(KENJI, "platform") is False  # a member
    assert tree.leads_or_admin(PM, "platform") is True  # leads the team above
    assert tree.leads_or_admin(CEO, "platform") is True  # leads the top of the tree
    assert tree.leads_or_admin(PM, "product") is True
    assert tree.leads_or_admin(PM, "company") is False  # leads a team below, not above
    assert tree.leads_or_admin(OPS, "platform") is False  # leads another branch
    assert tree.leads_or_admin(ANNA, "ops") is True  # an admin, anywhere
    assert tree.leads_or_admin(ANNA, "platform") is True
    assert tree.leads_or_admin("stranger@else.test", "product") is False
    assert tree.leads_or_admin(PM, "no-such-team") is False


# ---- chat ids ----------------------------------------------------------------------------


def test_person_by_chat_id() -> None:
    tree = org()
    assert tree.person_by_chat_id("slack", "U-CEO") == CEO
    assert tree.person_by_chat_id("slack", "u-ceo") is None  # Slack ids are exact
    assert tree.person_by_chat_id("teams", "U-CEO") is None  # another platform's id
    assert tree.person_by_chat_id("console", "U-CEO") is None


@pytest.mark.parametrize(
    ("user_id", "email"),
    [("aad-ops-1", OPS), ("AAD-OPS-1", OPS), ("AAD-ANNA", ANNA), ("aad-anna", ANNA)],
)
def test_teams_ids_match_whatever_their_case(user_id: str, email: str) -> None:
    assert org().person_by_chat_id("teams", user_id) == email
