"""Several workspaces with OAuth: the install flow against the local Slack API (state, cookie,
oauth.v2.access), installations kept in our database by slack_sdk's stores (whose tables
migration 0003 creates exactly), and each workspace seeing only its own organisation."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, select, text
from sqlalchemy.engine import Connection

from bot.okrfile import load_organisation
from bot.slack.oauth import installation_store
from bot.slack.webapi import SlackError
from rhythm.okr import Organisation, Team
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.store import SqlStore
from tests.bot.slack import payloads
from tests.bot.slack.test_app_http import responses, text_of
from tests.bot.slack.world import (
    ACME,
    OWNER,
    PROMPT_TIME,
    SECRET,
    SlackWorld,
    eventually,
    slack_users,
    slack_world,
)
from tests.databases import Backend
from tests.peers.slack_api import FakeSlack, FakeTeam, FakeUser
from tests.rhythm.orgs import owners_org, person, rhythm

ACME_TEAM = FakeTeam("T0ACME", "Acme", "xoxb-0001-acme-installed-secret", "UBOTACME", "BACME")
GLOBEX_TEAM = FakeTeam(
    "T0GLOBEX", "Globex", "xoxb-0002-globex-installed-secret", "UBOTGLBX", "BGLBX"
)
GINA = "gina@globex.test"


def slack_metadata() -> MetaData:
    """The tables slack_sdk's stores declare, with their default names."""
    metadata = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    return metadata


def slack_differences(conn: Connection) -> list[object]:
    metadata = slack_metadata()
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "include_name": lambda name, kind, parent: kind != "table" or name in metadata.tables,
        },
    )
    return list(compare_metadata(context, metadata))


async def test_the_migration_creates_slack_sdks_tables_exactly(backend: Backend, tmp_path: Path):
    url = await backend.new_database(tmp_path, migrated=False)
    try:
        await upgrade(url)
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                assert await conn.run_sync(slack_differences) == []
                await conn.execute(text("DROP INDEX slack_bots_idx"))
                assert [d[0] for d in await conn.run_sync(slack_differences)] == ["add_index"]  # type: ignore[index]
        finally:
            await engine.dispose()
    finally:
        await backend.drop_database(url)


def globex() -> Organisation:
    org = owners_org(
        [person(GINA, tz="Europe/Paris", lead=True), person("hal@globex.test", tz="Europe/Paris")],
        rhythm(channels=("console:#globex",)),
        teams=[Team("eng", "Globex Engineering", None, "Europe/Paris")],
    )
    return replace(org, key="globex", name="Globex")


@pytest.fixture
async def world(store: SqlStore) -> AsyncIterator[SlackWorld]:
    acme = load_organisation(ACME)
    other = globex()
    await store.save_organisation(other)
    users = slack_users(acme, ACME_TEAM.id) + [
        FakeUser(f"U0G{n}", p.email, team=GLOBEX_TEAM.id, name=p.name)
        for n, p in enumerate(other.people)
    ]
    fake = FakeSlack(teams=[ACME_TEAM, GLOBEX_TEAM], users=users, channels=["C0OKRS"])
    async with slack_world(
        store, org=acme, fake=fake, slack_bot_token=None,
        slack_client_id=fake.client_id, slack_client_secret=fake.client_secret,
    ) as built:  # fmt: skip
        yield built


async def install(world: SlackWorld, team: FakeTeam) -> tuple[int, str]:
    """Slack's install flow as a browser goes through it: the install page sets the state
    cookie and links to Slack; Slack sends the browser back with a code and that state."""
    base = world.slack.url.removesuffix("/slack/events")
    async with aiohttp.ClientSession() as browser:
        page = await browser.get(f"{base}/slack/install")
        html = await page.text()
        assert page.status == 200
        link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', html)
        assert link is not None
        query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
        state = query["state"][0]
        assert query["client_id"] == [world.fake.client_id]
        assert "chat:write" in query["scope"][0]
        cookie = page.headers["Set-Cookie"].split(";")[0]  # Secure: the jar keeps it from http
        code = world.fake.oauth_code(team)
        back = await browser.get(
            f"{base}/slack/oauth_redirect", params={"code": code, "state": state},
            headers={"Cookie": cookie},
        )  # fmt: skip
        return back.status, await back.text()


async def bot_tokens(store: SqlStore) -> dict[str, str]:
    bots = installation_store(store.engine, client_id="1111.2222").bots
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(bots.c.team_id, bots.c.bot_token))
        return {team: token for team, token in rows.all()}


async def test_an_install_is_stored_and_linked_to_the_workspaces_organisation(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    # Two organisations: a new workspace waits for an admin to link it.
    status, page = await install(world, GLOBEX_TEAM)
    assert status == 200
    assert "not connected" in page
    assert await bot_tokens(world.store) == {GLOBEX_TEAM.id: GLOBEX_TEAM.bot_token}
    await world.store.link_workspace("slack", GLOBEX_TEAM.id, "globex")
    await world.store.link_workspace("slack", ACME_TEAM.id, "acme")
    status, page = await install(world, ACME_TEAM)
    assert status == 200
    assert "not linked" not in page
    assert set(await bot_tokens(world.store)) == {ACME_TEAM.id, GLOBEX_TEAM.id}

    # Each workspace's people see their own organisation only.
    gina = world.fake.users["U0G0"]
    await world.slack.command(status_command(world, gina.id, GLOBEX_TEAM.id, "status"))
    [reply] = await eventually(lambda: responses(world))
    assert "Globex Engineering" in text_of(reply)
    world.fake.responses.clear()
    await world.slack.command(status_command(world, gina.id, GLOBEX_TEAM.id, "status growth"))
    [reply] = await eventually(lambda: responses(world))
    assert "No team “growth”" in text_of(reply)
    world.fake.responses.clear()
    await world.slack.command(status_command(world, world.user(OWNER).id, ACME_TEAM.id, "status"))
    [reply] = await eventually(lambda: responses(world))
    assert "Growth" in text_of(reply)

    # Each organisation's prompts go out with its own workspace's token.
    await world.tick(PROMPT_TIME)
    sent = world.fake.calls_to("chat.postMessage", ok=True)
    assert {c.team for c in sent} == {ACME_TEAM.id, GLOBEX_TEAM.id}
    for call in sent:
        assert world.fake.users[call.params["channel"]].team == call.team

    # No token or secret was logged on the way.
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in (ACME_TEAM.bot_token, GLOBEX_TEAM.bot_token, world.fake.client_secret, SECRET):
        assert secret not in logged


STRANGER_TEAM = FakeTeam("T0EVIL", "Evil", "xoxb-0003-evil-installed-secret", "UBOTEVIL", "BEVIL")


async def test_a_stranger_workspace_sees_nothing_until_an_admin_links_it(store: SqlStore):
    """One organisation in the database, and anybody may complete the install of a
    distributed app: the stranger's workspace joins nothing, not even for someone whose
    Slack profile has a member's email."""
    acme = load_organisation(ACME)
    impostor = FakeUser("U0EVIL", OWNER, team=STRANGER_TEAM.id, name="Not Lucas")
    users = [*slack_users(acme, ACME_TEAM.id), impostor]
    fake = FakeSlack(teams=[ACME_TEAM, STRANGER_TEAM], users=users, channels=["C0OKRS"])
    async with slack_world(
        store, org=acme, fake=fake, slack_bot_token=None,
        slack_client_id=fake.client_id, slack_client_secret=fake.client_secret,
    ) as world:  # fmt: skip
        await world.store.link_workspace("slack", ACME_TEAM.id, "acme")
        await install(world, ACME_TEAM)

        status, page = await install(world, STRANGER_TEAM)

        assert status == 200
        assert "not connected" in page
        assert await world.store.workspace_org("slack", STRANGER_TEAM.id) is None
        for command in ("status", "tree", "mine", "status growth"):
            world.fake.responses.clear()
            await world.slack.command(status_command(world, "U0EVIL", STRANGER_TEAM.id, command))
            [reply] = await eventually(lambda: responses(world))
            shown = text_of(reply)
            assert "not connected to Drumbeat yet" in shown, command
            for secret in ("Growth", "Onboarding", "Acme", "Lucas Bernard"):
                assert secret not in shown, (command, secret)
        # The admins heard of it once (Claire, through Acme's own workspace).
        told = [c for c in world.fake.calls_to("chat.postMessage", ok=True)
                if "wants to use Drumbeat" in c.params.get("text", "")]  # fmt: skip
        assert len(told) == 1
        assert told[0].team == ACME_TEAM.id
        assert "T0EVIL" in str(told[0].params["blocks"])
        assert await world.store.profiles_since("acme", 0) == []  # nobody was linked


async def test_a_workspace_that_never_installed_is_told_to_reinstall(world: SlackWorld):
    response = await world.slack.command(
        status_command(world, world.user(OWNER).id, ACME_TEAM.id, "status")
    )
    assert response.status == 200
    [reply] = await eventually(lambda: responses(world))
    assert "reinstall" in text_of(reply)
    assert world.fake.calls_to("auth.test") == []


async def test_an_uninstalled_workspace_is_forgotten(world: SlackWorld):
    await world.store.link_workspace("slack", ACME_TEAM.id, "acme")
    await install(world, ACME_TEAM)
    await world.tick(PROMPT_TIME)
    assert world.fake.calls_to("chat.postMessage", ok=True)
    event = payloads.event_callback(
        {"type": "app_uninstalled", "event_ts": "1.1"}, team=ACME_TEAM.id
    )
    assert (await world.slack.event(event)).status == 200

    async def refused() -> SlackError | None:
        """The listener runs after the acknowledgement: the tokens go, then the cache."""
        try:
            await world.gateway.workspaces.for_org("acme")
        except SlackError as error:
            return error
        return None

    error = None
    for _ in range(500):
        if not await bot_tokens(world.store) and (error := await refused()) is not None:
            break
        await asyncio.sleep(0.01)
    assert await bot_tokens(world.store) == {}
    assert error is not None
    assert error.permanent


def status_command(world: SlackWorld, user_id: str, team: str, text_: str) -> dict[str, str]:
    return payloads.slash_command(
        text_, user_id=user_id, team=team, response_url=world.fake.response_url(),
        trigger_id=world.fake.trigger(),
    )  # fmt: skip
