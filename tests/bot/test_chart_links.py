"""Chart links end to end: published by the core (rhythm.chart_links), served by `/charts/`
of real aiohttp servers on both backends, any replica serving any chart; and PUBLIC_URL."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from bot.app import runtime
from bot.cli import app as cli
from bot.server import CHART_LINKS, create_app, serving
from bot.settings import Settings
from rhythm.chart_links import ChartLinks, data_uri, is_chart_id
from rhythm.errors import ChartLinkRefused, DrumbeatError
from rhythm.ports import FixedClock
from rhythm.sections import Image
from storage.store import SqlStore
from tests.bot.test_server import free_port
from tests.storage.builders import acme

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
CHART = Image(png=PNG, alt="Growth: 52% → 58%", name="growth-2026-W48.png", width=800,
              height=400)  # fmt: skip


# ---- the core service ----------------------------------------------------------------------


@pytest.fixture
async def links(store: SqlStore) -> ChartLinks:
    await store.save_organisation(acme())
    return ChartLinks(store=store, clock=FixedClock(NOW), public_url="https://okr.example.com/")


Parts = tuple[str, str, str]
Tamper = Callable[[str, str, str], Parts]


def parts(link: str) -> Parts:
    url = urlsplit(link)
    query = parse_qs(url.query)
    chart_id = url.path.removeprefix("/charts/").removesuffix(".png")
    return chart_id, query["expires"][0], query["signature"][0]


async def test_a_published_link_opens_to_the_png(links: ChartLinks) -> None:
    link = await links.publish("acme", CHART)

    assert link is not None
    assert link.startswith("https://okr.example.com/charts/")
    chart_id, expires, signature = parts(link)
    assert is_chart_id(chart_id)
    assert int(expires) == int((NOW + timedelta(days=30)).timestamp())
    assert len(signature) == 64
    assert await links.open(chart_id, expires, signature) == PNG
    assert len(links.placeholder() or "") == len(link)  # what cards are measured with


async def test_each_publication_has_its_own_unguessable_id(links: ChartLinks) -> None:
    ids = {parts(await links.publish("acme", CHART) or "")[0] for _ in range(5)}
    assert len(ids) == 5
    assert all(len(i) >= 22 for i in ids)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda i, e, s: (i, e, s[:-1] + ("0" if s[-1] != "0" else "1")),  # signature
        lambda i, e, s: (i, str(int(e) + 3600), s),  # a later expiry, same signature
        lambda i, e, s: (i[::-1], e, s),  # another chart
        lambda i, e, s: (i, e, ""),
        lambda i, e, s: (i, "", s),
        lambda i, e, s: (i, "-1", s),
        lambda i, e, s: (i, e, "é" * 64),
        lambda i, e, s: (i, "9" * 40, s),
    ],
    ids=[
        "signature",
        "expiry",
        "other-id",
        "no-signature",
        "no-expiry",
        "negative",
        "non-ascii",
        "huge",
    ],
)
async def test_a_tampered_link_is_refused(links: ChartLinks, tamper: Tamper) -> None:
    link = await links.publish("acme", CHART)
    with pytest.raises(ChartLinkRefused) as refused:
        await links.open(*tamper(*parts(link or "")))
    assert isinstance(refused.value, DrumbeatError)  # the one error family


async def test_a_link_expires_with_the_clock(store: SqlStore) -> None:
    await store.save_organisation(acme())
    clock = FixedClock(NOW)
    links = ChartLinks(store=store, clock=clock, public_url="https://okr.example.com",
                       lifetime=timedelta(hours=2))  # fmt: skip
    chart = parts(await links.publish("acme", CHART) or "")
    clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert await links.open(*chart) == PNG
    assert links.seconds_left(chart[1]) == 1
    clock.advance(timedelta(seconds=1))
    with pytest.raises(ChartLinkRefused):
        await links.open(*chart)


async def test_a_pruned_chart_is_refused_and_pruning_is_hourly(store: SqlStore) -> None:
    await store.save_organisation(acme())
    clock = FixedClock(NOW)
    links = ChartLinks(store=store, clock=clock, public_url="https://okr.example.com",
                       lifetime=timedelta(minutes=10))  # fmt: skip
    first = parts(await links.publish("acme", CHART) or "")  # prunes (nothing) first
    clock.advance(timedelta(minutes=30))
    await links.publish("acme", CHART)  # within the hour: no pruning
    assert await store.chart_png(first[0], now=NOW) == PNG
    clock.advance(timedelta(minutes=31))
    await links.publish("acme", CHART)  # an hour on: the first two expired and go
    assert await store.chart_png(first[0], now=NOW) is None


async def test_without_a_public_url_nothing_is_published(store: SqlStore) -> None:
    links = ChartLinks(store=store, clock=FixedClock(NOW), public_url=None)
    assert await links.publish("acme", CHART) is None
    assert links.placeholder() is None


def test_a_data_uri_carries_the_png() -> None:
    uri = data_uri(CHART)
    assert uri.startswith("data:image/png;base64,iVBORw0KGgo")
    assert base64.b64decode(uri.split(",", 1)[1]) == PNG


# ---- the route, over real HTTP ------------------------------------------------------------


@dataclass
class Server:
    url: str
    links: ChartLinks

    async def get(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        async with aiohttp.ClientSession() as http, http.get(self.url + path) as answer:
            return answer.status, await answer.read(), dict(answer.headers)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def servers(database_url: str, clock: FixedClock) -> AsyncIterator[list[Server]]:
    """Two replicas on one database, each with its own store, engine and port."""
    async with AsyncExitStack() as stack:
        started = []
        for n in range(2):
            port = free_port()
            settings = Settings(
                database_url=database_url, port=port, public_url=f"http://127.0.0.1:{port}",
                _env_file=None,
            )  # fmt: skip
            rt = await stack.enter_async_context(runtime(settings, clock=clock))
            if n == 0:
                await rt.store.save_organisation(acme())
            app = create_app(rt, tick=False)
            await stack.enter_async_context(serving(app, "127.0.0.1", port))
            started.append(Server(f"http://127.0.0.1:{port}", app[CHART_LINKS]))
        yield started


def path_of(link: str | None) -> str:
    assert link is not None
    url = urlsplit(link)
    return f"{url.path}?{url.query}"


async def test_a_published_link_serves_the_exact_png(servers: list[Server]) -> None:
    one, _ = servers
    link = await one.links.publish("acme", CHART)
    assert link is not None
    assert link.startswith(one.url)

    status, body, headers = await one.get(path_of(link))

    assert status == 200
    assert body == PNG
    assert headers["Content-Type"] == "image/png"
    assert headers["Cache-Control"] == f"private, max-age={30 * 24 * 3600}"


async def test_another_replica_serves_the_chart_too(servers: list[Server]) -> None:
    one, two = servers
    link = await one.links.publish("acme", CHART)

    status, body, _ = await two.get(path_of(link))

    assert (status, body) == (200, PNG)


async def test_a_tampered_signature_is_forbidden(servers: list[Server]) -> None:
    one, two = servers
    path = path_of(await one.links.publish("acme", CHART))
    tampered = path[:-1] + ("0" if path[-1] != "0" else "1")
    for server in servers:
        status, body, _ = await server.get(tampered)
        assert status == 403
        assert PNG not in body
    assert (await two.get(path.split("&")[0]))[0] == 403  # no signature at all


async def test_an_expired_link_is_forbidden(servers: list[Server], clock: FixedClock) -> None:
    one, _ = servers
    path = path_of(await one.links.publish("acme", CHART))
    clock.advance(timedelta(days=30) - timedelta(seconds=10))
    status, _, headers = await one.get(path)
    assert status == 200
    assert headers["Cache-Control"] == "private, max-age=10"  # never cached past the expiry
    clock.advance(timedelta(seconds=10))
    assert (await one.get(path))[0] == 403


@pytest.mark.parametrize(
    "path",
    [
        "/charts/",
        "/charts/short.png",
        "/charts/abcdefghijklmnopqrstuv",  # no .png
        "/charts/abcdefghijklmnopqrstuv.gif",
        "/charts/abcdefghijklmnop%2F..%2Fqrstuv.png",
        "/charts/" + "a" * 65 + ".png",
    ],
)
async def test_what_is_no_charts_path_is_not_found(servers: list[Server], path: str) -> None:
    assert (await servers[0].get(path))[0] == 404


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?expires=1&signature=00",
        "?expires=%FF%FE&signature=%00",
        "?expires=99999999999999999999999999&signature=" + "f" * 64,
        "?expires=1e9&signature=" + "f" * 64,
        "?expires=１２３&signature=" + "f" * 64,  # full-width digits
        "?signature=" + "é" * 64 + "&expires=1&expires=2",
    ],
)
async def test_odd_queries_are_forbidden_never_an_error(servers: list[Server], query: str) -> None:
    status, _, _ = await servers[0].get("/charts/abcdefghijklmnopqrstuv.png" + query)
    assert status == 403


# ---- PUBLIC_URL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["ftp://okr.example.com", "okr.example.com", "https://", "https://h/?a=1"]
)
def test_public_url_must_be_an_http_address(url: str) -> None:
    with pytest.raises(ValidationError, match="PUBLIC_URL must be"):
        Settings(public_url=url, _env_file=None)


def test_public_url_is_kept_without_its_trailing_slash() -> None:
    settings = Settings(public_url="https://okr.example.com/drumbeat/", _env_file=None)
    assert settings.public_base_url == "https://okr.example.com/drumbeat"
    assert Settings(_env_file=None).public_base_url is None


def test_local_mode_links_to_this_machine() -> None:
    """`drumbeat local`: the Playground in a browser here loads the charts from the bot."""
    local = Settings(_env_file=None).model_copy(update={"teams_local": True, "port": 4000})
    assert local.public_base_url == "http://localhost:4000"
    real = Settings(teams_local=True, microsoft_app_id="app", _env_file=None)
    assert real.public_base_url is None


def test_the_slack_manifest_defaults_to_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://okr.example.com")
    result = CliRunner().invoke(cli, ["manifest", "slack"])
    assert result.exit_code == 0, result.output
    assert "https://okr.example.com/slack/events" in result.output
    monkeypatch.delenv("PUBLIC_URL")
    assert CliRunner().invoke(cli, ["manifest", "slack"]).exit_code == 2
