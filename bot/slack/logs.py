"""Logging for slack_sdk and slack_bolt without their tokens.

slack_sdk writes whole request and response bodies at DEBUG, and `oauth.v2.access` answers with
the workspace's bot token in its body; bolt copies its base logger's level and filters into the
loggers it makes for its middleware. So every Slack client and the bolt app get `slack_logger()`:
a logger whose own level is never below INFO (slack_sdk decides whether to format a body from
the logger's own level, not the effective one) and whose filter masks anything shaped like a
token that other log lines could still carry (a URL with `token=`, an error quoting a header).
"""

from __future__ import annotations

import logging
import re

TOKEN = re.compile(r"\b(xox[abeoprs]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]+")
LOGGER_NAME = "bot.slack.sdk"


def redact(text: str) -> str:
    return TOKEN.sub(lambda m: f"{m.group(1)}-…", text)


class RedactTokens(logging.Filter):
    """Masks Slack tokens in a record's message (after formatting its arguments in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class DropClientGivenNoise(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment whenever it is given no token, and then
    warns that the client it was given (which carries that very token, and our base URL)
    wins: an operator would chase a warning about nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def slack_logger(level: int = logging.INFO) -> logging.Logger:
    """The logger to hand to slack_sdk clients, OAuth stores and the bolt app."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(max(level, logging.INFO))
    for kind in (RedactTokens, DropClientGivenNoise):
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
    return logger


def quiet_library_loggers() -> None:
    """slack_sdk's and slack_bolt's module loggers (used where no logger can be passed in) drop
    DEBUG records too: their children have no level of their own, so this one decides. So does
    aiosqlite's, which logs every statement with its parameters at DEBUG, the bot tokens that
    the installation store writes included."""
    for name in ("slack_sdk", "slack_bolt", "aiosqlite"):
        library = logging.getLogger(name)
        if library.level < logging.INFO:
            library.setLevel(logging.INFO)
