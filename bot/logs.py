"""The server's logs: human-readable (Rich) or one JSON object per line, never with a secret.

- `LOG_FORMAT=json` (`JsonFormatter`): time (ISO 8601, UTC), level, logger, message, the
  exception's traceback when there is one, and what the record happened within, when known:
  the HTTP request (`request_id`), the tick (`tick_id`) and the organisation (`org`). Loki,
  Elasticsearch and CloudWatch read that as it is.
- The context comes from contextvars: `request_ids` (an aiohttp middleware) sets the request's
  id, `ticking` the tick's, `set_organisation` the organisation's (the core's observer does, in
  bot/metrics.py). Tasks started meanwhile inherit them.
- `Redact`, a filter on the handler (so it sees every record, whichever logger it comes from,
  in both formats), masks Slack tokens, bearer tokens, passwords in URLs and the configured
  secrets in the message, its arguments and its traceback.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from aiohttp import web

from bot.settings import Settings

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
TICK_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("tick_id", default=None)
ORGANISATION: contextvars.ContextVar[str | None] = contextvars.ContextVar("org", default=None)
CONTEXT = {"request_id": REQUEST_ID, "tick_id": TICK_ID, "org": ORGANISATION}

REQUEST_ID_HEADER = "X-Request-Id"
# What a caller's (a load balancer's, a proxy's) request id may be to be kept: short, and
# nothing a log line or a header could be forged with.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
MASK = "***"
# A configured secret shorter than this is masked only where a pattern finds it (in a URL):
# masking every "abc" of every line would garble the logs and protect nothing.
SHORTEST_SECRET = 6

SLACK_TOKEN = re.compile(r"\b(xox[a-z]|xapp|xoxe\.xox[a-z])-[A-Za-z0-9-]+")
BEARER = re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@", re.IGNORECASE)


def new_id() -> str:
    return secrets.token_hex(8)


# ---- redaction ----------------------------------------------------------------------------


class Redactor:
    """Masks what looks like a token, and the given secret values, wherever they appear."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first: a secret that contains another is masked whole.
        values = {s for s in secrets if s and len(s) >= SHORTEST_SECRET}
        self.secrets = sorted(values, key=len, reverse=True)

    @classmethod
    def for_settings(cls, settings: Settings) -> Redactor:
        password = urlsplit(settings.database_url).password
        return cls(
            [
                settings.slack_bot_token,
                settings.slack_app_token,
                settings.slack_signing_secret,
                settings.slack_client_secret,
                settings.microsoft_app_password,
                settings.metrics_token,
                password,
                unquote(password) if password else None,
            ]
        )

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = SLACK_TOKEN.sub(lambda m: f"{m.group(1)}-{MASK}", text)
        text = BEARER.sub(lambda m: f"{m.group(1)}{MASK}", text)
        return URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", text)


class Redact(logging.Filter):
    """Masks secrets in a record before any formatter sees it: its message with the arguments
    formatted in, its traceback (formatted here, then masked) and its stack."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.redactor(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


class Context(logging.Filter):
    """Copies the request, tick and organisation of the moment onto the record, in the task
    that logs it (a formatter may run later, or elsewhere)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: see the module's docstring."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        for name in CONTEXT:
            if (value := getattr(record, name, None)) is not None:
                entry[name] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


def guard(handler: logging.Handler, settings: Settings) -> logging.Handler:
    """`handler` with the context and the masking of `settings`' secrets, and the formatter
    of LOG_FORMAT (for text, the message alone: a RichHandler adds the time and level)."""
    handler.addFilter(Context())
    handler.addFilter(Redact(Redactor.for_settings(settings)))
    json_lines = settings.log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter("%(message)s"))
    return handler


def json_handler(settings: Settings) -> logging.Handler:
    """One JSON object per line on stderr."""
    return guard(logging.StreamHandler(), settings)


# ---- context ------------------------------------------------------------------------------


@contextlib.contextmanager
def ticking() -> Iterator[str]:
    """The tick under way: its records carry a fresh `tick_id` (and the tasks it starts)."""
    tick = new_id()
    token = TICK_ID.set(tick)
    try:
        yield tick
    finally:
        TICK_ID.reset(token)


def set_organisation(org: str | None) -> None:
    """The organisation the current task works for from now on (None: none in particular).
    Set, not reset: the tick's task is the scheduler's own and ends with the tick."""
    ORGANISATION.set(org)
    if org is not None and TICK_ID.get() is None:
        TICK_ID.set(new_id())  # a tick outside the scheduler (`drumbeat rhythm tick`)


def request_id_of(request: web.Request) -> str:
    """The caller's X-Request-Id when it is a sane one, else a fresh one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if SANE_REQUEST_ID.fullmatch(given) else new_id()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request's records carry its id, and so does its response (X-Request-Id).

    The id is set, not reset: aiohttp handles each request in a task of its own (for the very
    purpose of contextvars, aiohttp#3406), and its access log line, written in that task after
    the response, carries the id too."""
    request_id = request_id_of(request)
    REQUEST_ID.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as error:  # a response too: it gets the header on its way out
        error.headers[REQUEST_ID_HEADER] = request_id
        raise
    if not response.prepared:  # a streamed response (a websocket) sent its headers already
        response.headers[REQUEST_ID_HEADER] = request_id
    return response
