"""`SlackGateway`: the core's `ChatGateway` on Slack's Web API.

A direct message goes to the person's Slack id (chat.postMessage to a user id opens the app's
DM with them); a channel post to the channel the OKR file or `subscribe` named. A message
longer than Slack allows in one post (`message_chunks`) continues in the thread of its first
post. A reference is "channel:ts", what chat.update needs.

Updating a prompt once it is answered happens in the background: it is called while Slack
waits for the acknowledgement of a view submission, and chat.update's tier could make it wait
past Slack's three seconds. Its failures are logged, as the core does with them anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.slack.blocks import fallback_text, message_chunks
from bot.slack.identity import SlackRecipients
from bot.slack.webapi import SlackError, SlackWebApi, Workspace
from bot.slack.workspaces import Workspaces
from rhythm.messages import Message
from rhythm.okr import Person

log = logging.getLogger(__name__)


def make_ref(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def parse_ref(ref: str) -> tuple[str, str]:
    channel, sep, ts = ref.partition(":")
    if not (sep and channel and ts):
        raise SlackError("chat.update", f"not a Slack message reference: {ref!r}", permanent=True)
    return channel, ts


class SlackGateway:
    def __init__(
        self, *, api: SlackWebApi, workspaces: Workspaces, recipients: SlackRecipients
    ) -> None:
        self.api = api
        self.workspaces = workspaces
        self.recipients = recipients
        self._background: set[asyncio.Task[None]] = set()

    async def send_direct(self, org: str, person: Person, message: Message) -> str:
        workspace = await self.workspaces.for_org(org)
        user_id = await self.recipients.user_id(workspace, org, person)
        return await self.post(workspace, user_id, message)

    async def update_direct(self, org: str, person: Person, ref: str, message: Message) -> None:
        self._spawn(self._update(org, ref, message))

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        workspace = await self.workspaces.for_org(org)
        thread_ts = parse_ref(thread)[1] if thread else None
        return await self.post(workspace, channel, message, thread_ts=thread_ts)

    async def post(
        self, workspace: Workspace, channel: str, message: Message, *, thread_ts: str | None = None
    ) -> str:
        """Post `message` to `channel` (a user id for a DM); returns the first post's ref."""
        chunks = message_chunks(message)
        text = fallback_text(message)
        first = await self.api.call(
            workspace, "chat.postMessage", **_post_params(channel, text, chunks[0], thread_ts)
        )
        ts = str(first["ts"])
        for chunk in chunks[1:]:
            try:
                await self.api.call(
                    workspace, "chat.postMessage",
                    **_post_params(channel, text, chunk, thread_ts or ts),
                )  # fmt: skip
            except SlackError as error:
                # The message is out: failing now would make the core send it again.
                log.warning("part of a message to %s was not posted: %s", channel, error)
        return make_ref(str(first.get("channel") or channel), ts)

    async def _update(self, org: str, ref: str, message: Message) -> None:
        try:
            channel, ts = parse_ref(ref)
            workspace = await self.workspaces.for_org(org)
            await self.api.call(
                workspace, "chat.update", channel=channel, ts=ts,
                text=fallback_text(message), blocks=message_chunks(message)[0],
            )  # fmt: skip
        except SlackError as error:  # the check-in is stored; a stale message is harmless
            log.warning("could not update Slack message %s: %s", ref, error)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for the updates under way (tests, and shutdown before closing the session)."""
        while self._background:
            await asyncio.gather(*list(self._background))

    async def aclose(self) -> None:
        await self.drain()
        await self.api.aclose()


def _post_params(
    channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "channel": channel,
        "text": text,
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }
    if thread_ts:
        params["thread_ts"] = thread_ts
    return params
