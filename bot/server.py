"""The aiohttp server of `drumbeat serve`: health probes, chart links, the chat endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web

from bot import metrics
from bot.api.app import api_app
from bot.api.routes import PREFIX as API_PREFIX
from bot.app import Runtime
from bot.logs import request_ids
from bot.scheduler import start_scheduler, tick_soon
from rhythm.chart_links import ChartLinks, is_chart_id
from rhythm.errors import ChartLinkRefused

log = logging.getLogger(__name__)

RUNTIME = web.AppKey("runtime", Runtime)
CHART_LINKS = web.AppKey("chart_links", ChartLinks)
STOP_GRACE = 5.0  # seconds the sends under way get to finish on SIGTERM
REQUEST_GRACE = 3.0  # seconds the requests under way get (Slack gives up after 3 anyway)


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving requests."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers; load balancers stop routing here otherwise."""
    runtime = request.app[RUNTIME]
    if await runtime.store.ping():
        return web.json_response({"status": "ok", "database": "ok"})
    return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)


async def chart(request: web.Request) -> web.Response:
    """GET /charts/{id}.png?expires=...&signature=...: a chart a link was published for
    (rhythm.chart_links), from the database, so any replica serves any chart. 404 for what is
    no chart's path, 403 for a wrong signature, an expired link or an unknown chart."""
    name = request.match_info["name"]
    chart_id = name.removesuffix(".png")
    if chart_id == name or not is_chart_id(chart_id):
        raise web.HTTPNotFound()
    links = request.app[CHART_LINKS]
    expires = request.query.get("expires", "")
    try:
        png = await links.open(chart_id, expires, request.query.get("signature", ""))
    except ChartLinkRefused as refusal:
        return web.Response(status=403, text=refusal.message)
    headers = {
        "Cache-Control": f"private, max-age={links.seconds_left(expires)}",
        "X-Content-Type-Options": "nosniff",
    }
    return web.Response(body=png, content_type="image/png", headers=headers)


def create_app(runtime: Runtime, *, tick: bool = True) -> web.Application:
    # Outermost first: the request's id is set before it is measured, and on every answer.
    app = web.Application(middlewares=[request_ids, runtime.metrics.http_middleware])
    app[RUNTIME] = runtime
    app[CHART_LINKS] = runtime.chart_links
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get(
        "/metrics", metrics.endpoint(runtime.metrics, token=runtime.settings.metrics_token)
    )
    app.router.add_get("/charts/{name}", chart)
    app.add_subapp(API_PREFIX, api_app(runtime.drumbeat))  # beside /api/messages, not over it
    attach_platforms(app, runtime)
    if tick:
        app.cleanup_ctx.append(_scheduler)
    return app


def attach_platforms(app: web.Application, runtime: Runtime) -> None:
    """The chat platforms' endpoints: POST /slack/events, POST /api/messages."""
    gateways = runtime.chat.gateways
    if "slack" in gateways:
        from bot.slack.gateway import SlackGateway
        from bot.slack.plugin import attach_slack

        assert isinstance(gateways["slack"], SlackGateway)
        attach_slack(
            app, settings=runtime.settings, drumbeat=runtime.drumbeat, gateway=gateways["slack"]
        )
    if "teams" in gateways:
        from bot.teams.gateway import TeamsGateway
        from bot.teams.plugin import attach_teams

        assert isinstance(gateways["teams"], TeamsGateway)
        attach_teams(
            app, settings=runtime.settings, drumbeat=runtime.drumbeat, gateway=gateways["teams"]
        )


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    """The tick while the app runs. On the way out no tick starts any more, the sends under way
    get a few seconds to finish, and every claim still held is given back, so the other
    replicas (or the next start) pick those prompts up at once."""
    runtime = app[RUNTIME]
    # Claims under this worker's name are an earlier run's (a crash, with a WORKER_ID that
    # stays the same across restarts): they need not wait for their lease to run out.
    if recovered := await runtime.drumbeat.ticker.release_own_claims():
        log.info("took back %d prompts this worker held when it stopped last", recovered)
    scheduler = start_scheduler(runtime.drumbeat, seconds=runtime.settings.tick_seconds)
    wake = functools.partial(tick_soon, scheduler)
    runtime.drumbeat.people.on_prompts_due.append(wake)
    yield
    runtime.drumbeat.people.on_prompts_due.remove(wake)
    # Paused, not shut down, while the sends finish: APScheduler's shutdown cancels the tick
    # under way at once, whatever `wait` says, and there would be no grace at all.
    scheduler.pause()
    released = await runtime.drumbeat.ticker.stop(grace=STOP_GRACE)
    scheduler.shutdown(wait=False)
    if released:
        log.info("gave back %d prompts for another replica to send", released)


async def serve(runtime: Runtime) -> None:
    """Serve until SIGINT, SIGTERM or SIGHUP, then stop the scheduler and close connections."""
    host = runtime.settings.host
    if runtime.settings.teams_local and not runtime.settings.microsoft_app_id:
        # Local mode checks no tokens: never offer it beyond this machine.
        log.warning(
            "TEAMS_LOCAL is on: Teams requests are not authenticated; listening on 127.0.0.1 only"
        )
        host = "127.0.0.1"
    async with serving(create_app(runtime), host, runtime.settings.port):
        # Everything loaded so far (libraries, the organisation) lives as long as the
        # process: keep the collector from rescanning it (100 ms ack-latency outliers).
        gc.collect()
        gc.freeze()
        log.info("Drumbeat listening on http://%s:%s", host, runtime.settings.port)
        await until_stopped()
        log.info("Stopping")


@contextlib.asynccontextmanager
async def serving(app: web.Application, host: str, port: int) -> AsyncIterator[None]:
    """`app` listening on host:port for the duration of the block."""
    runner = web.AppRunner(app, shutdown_timeout=REQUEST_GRACE)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield
    finally:
        await runner.cleanup()


async def until_stopped() -> None:
    """Wait for SIGINT (Ctrl-C), SIGTERM, or SIGHUP (its terminal closed: without a handler
    the process would die on the spot, leaving its claims to expire and, under `drumbeat
    local`, the Playground running in its own session on the port)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in signals:
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
