"""Prometheus metrics: what `GET /metrics` serves, in the text format, with prometheus-client.

One `Metrics` per runtime, with a registry of its own (never the library's global one), so any
number of apps in one process (tests, benchmarks) count apart. It is fed from four places:

- the core, through its observer port (`CoreMetrics`, for `rhythm.observe.Observer`): ticks,
  each prompt's delivery, check-ins stored;
- the chat router (`sending`): every message on its way to a platform, by platform;
- the platforms' clients (`calls(platform)`): 429s and retries, by Web API method;
- the aiohttp app (`http_middleware`): requests by route pattern and status, with latency;

and reads the database pool when scraped (`PoolCollector`).

Labels say platform, method, route, status, source or organisation key: never a person, so no
name or email reaches a time series database.
"""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import event
from sqlalchemy.pool import Pool, QueuePool

from bot import logs
from rhythm.observe import CheckInSource, PromptOutcome
from rhythm.okr import Person
from rhythm.ports import DeliveryError

if TYPE_CHECKING:
    from rhythm.ticking import TickReport

# The text format prometheus-client writes (0.0.4), whatever its newest default is called.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"  # the route of a request no route took (a 404, a scanner's probe)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A tick is 0.1 s when nothing is due and minutes for a fan-out of thousands at Slack's pace.
TICK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# Slack wants an acknowledgement within 3 s: the buckets around it are the ones that matter.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CallCounts(Protocol):
    """What a platform's client tells about its calls (bot/slack/webapi.py, bot/teams)."""

    def rate_limited(self, method: str) -> None:
        """The platform answered 429 to a call of `method`."""

    def retried(self, method: str) -> None:
        """A call of `method` is tried again (after a 429 or a transient failure)."""


class Metrics:
    def __init__(self, *, pool: Pool | None = None) -> None:
        # No `_created` series beside each counter: nobody graphs when a counter was made,
        # and it would read as "drumbeat_prompts_created_created".
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.prompts_created = Counter(
            "drumbeat_prompts_created", "Prompts written by the tick (one per person, rhythm "
            "and period).", ["org"], registry=r,
        )  # fmt: skip
        self.prompts = {
            PromptOutcome.SENT: Counter(
                "drumbeat_prompts_sent", "Prompts the platform confirmed.",
                ["org", "platform"], registry=r,
            ),
            PromptOutcome.FAILED: Counter(
                "drumbeat_prompts_failed", "Prompts that failed for good (not retried).",
                ["org", "platform"], registry=r,
            ),
            PromptOutcome.RETRIED: Counter(
                "drumbeat_prompts_retried", "Prompt sends that failed for now and will be "
                "retried after a backoff.", ["org", "platform"], registry=r,
            ),
        }  # fmt: skip
        self.in_flight = Gauge(
            "drumbeat_messages_in_flight", "Messages on their way to a chat platform (sent, "
            "not yet answered).", ["platform"], registry=r,
        )  # fmt: skip
        self.messages = Counter(
            "drumbeat_chat_messages", "Messages handed to a chat platform (prompts, "
            "reminders, digests, notes, updates), by outcome: ok, retry (failed for now), "
            "failed (for good) or error (a bug).", ["platform", "method", "status"], registry=r,
        )  # fmt: skip
        self.rate_limited = Counter(
            "drumbeat_rate_limited", "429 answers from a chat platform's API.",
            ["platform", "method"], registry=r,
        )  # fmt: skip
        self.retries = Counter(
            "drumbeat_platform_retries", "Calls to a chat platform's API tried again (after a "
            "429 or a transient failure).", ["platform", "method"], registry=r,
        )  # fmt: skip
        self.tick_seconds = Histogram(
            "drumbeat_tick_duration_seconds", "How long an organisation's tick took.",
            ["org"], buckets=TICK_BUCKETS, registry=r,
        )  # fmt: skip
        self.last_tick = Gauge(
            "drumbeat_tick_last_success_timestamp_seconds",
            "When an organisation's last successful tick ended (unix time).", ["org"], registry=r,
        )  # fmt: skip
        self.tick_failures = Counter(
            "drumbeat_tick_failures", "Organisation ticks that failed (see the log).",
            ["org"], registry=r,
        )  # fmt: skip
        self.checkins = Counter(
            "drumbeat_checkins_stored", "Check-ins stored, by source: prompt, spontaneous, "
            "revision (an edit).", ["org", "source"], registry=r,
        )  # fmt: skip
        self.http_requests = Counter(
            "drumbeat_http_requests", "HTTP requests served, by route pattern and status.",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.http_seconds = Histogram(
            "drumbeat_http_request_duration_seconds", "How long HTTP requests took to answer.",
            ["method", "route"], buckets=HTTP_BUCKETS, registry=r,
        )  # fmt: skip
        if pool is not None:
            r.register(PoolCollector(pool))

    # ---- the parts that feed it ---------------------------------------------------------------

    def observer(self, platform_of: Callable[[Person], str]) -> CoreMetrics:
        """The core's observer; `platform_of` says where a person's messages go (the router)."""
        return CoreMetrics(self, platform_of)

    def calls(self, platform: str) -> PlatformCalls:
        return PlatformCalls(self, platform)

    @contextlib.contextmanager
    def sending(self, platform: str, method: str) -> Iterator[None]:
        """One message to `platform` while the block runs (a gateway's `method`)."""
        gauge = self.in_flight.labels(platform)
        gauge.inc()
        status = "error"  # anything but a delivery's own failure is a bug
        try:
            yield
            status = "ok"
        except DeliveryError as error:
            status = "failed" if error.permanent else "retry"
            raise
        finally:
            gauge.dec()
            self.messages.labels(platform, method, status).inc()

    @property
    def http_middleware(self) -> Middleware:
        @web.middleware
        async def measured(request: web.Request, handler: Handler) -> web.StreamResponse:
            began = time.perf_counter()
            status = 500  # what aiohttp answers for an exception that is not an HTTP one
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as error:
                status = error.status
                raise
            finally:
                method = request.method if request.method in HTTP_METHODS else "other"
                route = route_of(request)
                self.http_requests.labels(method, route, str(status)).inc()
                self.http_seconds.labels(method, route).observe(time.perf_counter() - began)

        return measured

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def route_of(request: web.Request) -> str:
    """The pattern of the route that took the request (`/charts/{name}`), never its path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


class CoreMetrics:
    """`rhythm.observe.Observer` for the metrics; it also names the organisation in the logs
    of the tick under way."""

    def __init__(self, metrics: Metrics, platform_of: Callable[[Person], str]) -> None:
        self.metrics = metrics
        self.platform_of = platform_of

    def tick_started(self, org: str) -> None:
        logs.set_organisation(org)

    def tick_done(self, org: str, seconds: float, report: TickReport) -> None:
        m = self.metrics
        m.tick_seconds.labels(org).observe(seconds)
        m.last_tick.labels(org).set(time.time())
        if report.created:
            m.prompts_created.labels(org).inc(report.created)
        logs.set_organisation(None)

    def tick_failed(self, org: str, seconds: float) -> None:
        self.metrics.tick_seconds.labels(org).observe(seconds)
        self.metrics.tick_failures.labels(org).inc()
        logs.set_organisation(None)

    def prompt_delivered(self, org: str, person: Person | None, outcome: PromptOutcome) -> None:
        counter = self.metrics.prompts.get(outcome)
        if counter is not None:  # a prompt waiting for a chat account is neither
            counter.labels(org, self.platform_of(person) if person else "unknown").inc()

    def checkin_stored(self, org: str, source: CheckInSource) -> None:
        self.metrics.checkins.labels(org, source.value).inc()


class PlatformCalls:
    """`CallCounts` of one platform."""

    def __init__(self, metrics: Metrics, platform: str) -> None:
        self.metrics = metrics
        self.platform = platform

    def rate_limited(self, method: str) -> None:
        self.metrics.rate_limited.labels(self.platform, method).inc()

    def retried(self, method: str) -> None:
        self.metrics.retries.labels(self.platform, method).inc()


class PoolCollector:
    """The database connections in use, read from the pool when scraped. A queue pool (every
    PostgreSQL engine, and SQLite files) says so itself, with its size; pools that keep no
    count (NullPool, StaticPool) are counted here, as connections are checked out and in."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.out = 0
        if not isinstance(pool, QueuePool):
            event.listen(pool, "checkout", self._checked_out)
            event.listen(pool, "checkin", self._checked_in)

    def _checked_out(self, *_: object) -> None:
        self.out += 1

    def _checked_in(self, *_: object) -> None:
        self.out = max(0, self.out - 1)

    def collect(self) -> Iterable[Metric]:
        queue = self.pool if isinstance(self.pool, QueuePool) else None
        yield GaugeMetricFamily(
            "drumbeat_db_connections_in_use",
            "Database connections checked out of the pool.",
            value=queue.checkedout() if queue is not None else self.out,
        )
        if queue is not None:
            yield GaugeMetricFamily(
                "drumbeat_db_pool_size", "Connections the pool keeps open.", value=queue.size()
            )


# ---- the endpoint -------------------------------------------------------------------------


def authorised(request: web.Request, token: str | None) -> bool:
    """No token configured, or `Authorization: Bearer <token>`, compared in constant time."""
    if not token:
        return True
    given = request.headers.get("Authorization", "")
    scheme, _, credentials = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


def endpoint(metrics: Metrics, *, token: str | None) -> Handler:
    """GET /metrics: the registry in Prometheus' text format; 401 without the token, when
    METRICS_TOKEN is set."""

    async def serve_metrics(request: web.Request) -> web.Response:
        if not authorised(request, token):
            raise web.HTTPUnauthorized(
                text="GET /metrics wants Authorization: Bearer <METRICS_TOKEN>\n",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    return serve_metrics
