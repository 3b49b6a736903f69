"""`SlackGateway`: the core's `ChatGateway` on Slack's Web API.

A direct message goes to the person's Slack id (chat.postMessage to a user id opens the app's
DM with them); a channel post to the channel the OKR file or `subscribe` named. A message
longer than Slack allows in one post (`message_chunks`) continues in the thread of its first
post. A reference is "channel:ts", what chat.update needs.

A tagged message (a prompt, a note from the outbox: whatever tag the core gives) carries its
tag in Slack message metadata, so that a send whose outcome nobody knows (a crash, an answer
that never came) can be found in the DM's history (conversations.history with
include_all_metadata, scope im:history) instead of repeated.

A report's images (its charts) are not in the message: once the message is posted they are
uploaded (`bot.slack.uploads`) and shared in the post's thread in a channel (or in the thread a
reply is in), right under the message in a direct message. The reference returned is the
message's. A chart that cannot be shared is logged and given up: the text is out already, and
failing the send would make the core post it again.

Updating a prompt once it is answered happens in the background: it is called while Slack
waits for the acknowledgement of a view submission, and chat.update's tier could make it wait
past Slack's three seconds. Its failures are logged, as the core does with them anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.background import Background
from bot.slack.blocks import fallback_text, message_chunks
from bot.slack.identity import SlackRecipients
from bot.slack.uploads import upload_images
from bot.slack.webapi import SlackError, SlackWebApi, Workspace, dig
from bot.slack.workspaces import Workspaces
from rhythm import markup
from rhythm.messages import Message
from rhythm.okr import Person
from rhythm.ports import Leaving
from rhythm.sections import Report

log = logging.getLogger(__name__)

EVENT_TYPE = "drumbeat_message"  # the metadata event type of a tagged message
HISTORY_PAGE = 100
NO_HISTORY = frozenset({"missing_scope", "not_allowed_token_type"})  # no im:history granted
HISTORY_PAGES = 5  # a DM with more than 500 messages since the send began: give up looking


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
        self._background = Background("updating a Slack message")
        # (workspace, user) -> the id of their DM with the app, as Slack's answers said: it
        # never changes, and knowing it saves a conversations.open (Tier 3) per lookup.
        self._dm_channels: dict[tuple[str, str], str] = {}

    async def send_direct(
        self,
        org: str,
        person: Person,
        message: Message,
        *,
        tag: str | None = None,
        leaving: Leaving | None = None,
    ) -> str:
        workspace = await self.workspaces.for_org(org)
        user_id = await self.recipients.user_id(workspace, org, person)
        ref = await self.post(workspace, user_id, message, tag=tag, leaving=leaving)
        channel = parse_ref(ref)[0]
        if channel.startswith("D"):
            self._dm_channels[workspace.key, user_id] = channel
        return ref

    async def find_direct(
        self, org: str, person: Person, tag: str, *, since: datetime
    ) -> str | None:
        """The person's DM with the app, newest first back to `since`, for the message that
        carries `tag` in its metadata."""
        workspace = await self.workspaces.for_org(org)
        user_id = await self.recipients.user_id(workspace, org, person)
        channel = await self._dm_channel(workspace, user_id)
        cursor: str | None = None
        oldest = f"{since.timestamp():.6f}"
        for _ in range(HISTORY_PAGES):
            try:
                page = await self.api.call(
                    workspace, "conversations.history", channel=channel, oldest=oldest,
                    include_all_metadata=True, limit=HISTORY_PAGE, cursor=cursor,
                )  # fmt: skip
            except SlackError as error:
                if error.code not in NO_HISTORY:
                    raise
                # Installed before Drumbeat asked for im:history: it cannot look, so it sends
                # again (the person may see this one prompt twice) rather than never.
                log.warning(
                    "cannot read %s's DM to find %s (%s): sending again; reinstall the Slack "
                    "app to grant im:history", person.name, tag, error.code,
                )  # fmt: skip
                return None
            messages = dig(page, "messages")
            for found in messages if isinstance(messages, list) else ():
                if isinstance(found, Mapping) and _tag_of(found) == tag:
                    return make_ref(channel, str(found.get("ts")))
            cursor = dig(page, "response_metadata", "next_cursor") or None
            if not (page.get("has_more") and isinstance(cursor, str)):
                return None
        log.warning("gave up looking for %s in %s's DM: too many messages", tag, person.name)
        return None

    async def _dm_channel(self, workspace: Workspace, user_id: str) -> str:
        known = self._dm_channels.get((workspace.key, user_id))
        if known is not None:
            return known
        opened = await self.api.call(workspace, "conversations.open", users=user_id)
        channel = dig(opened, "channel", "id")
        if not isinstance(channel, str) or not channel:
            raise SlackError("conversations.open", "no_channel_in_answer", permanent=False)
        self._dm_channels[workspace.key, user_id] = channel
        return channel

    async def update_direct(self, org: str, person: Person, ref: str, message: Message) -> None:
        self._background.spawn(self._update(org, ref, message))

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        workspace = await self.workspaces.for_org(org)
        thread_ts = parse_ref(thread)[1] if thread else None
        return await self.post(workspace, channel, message, thread_ts=thread_ts)

    async def post(
        self,
        workspace: Workspace,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        tag: str | None = None,
        leaving: Leaving | None = None,
    ) -> str:
        """Post `message` to `channel` (a user id for a DM); returns the first post's ref."""
        chunks = message_chunks(message)
        text = fallback_text(message)
        params = _post_params(channel, text, chunks[0], thread_ts)
        if tag is not None:
            params["metadata"] = {"event_type": EVENT_TYPE, "event_payload": {"tag": tag}}
        first = await self.api.call(workspace, "chat.postMessage", leaving=leaving, **params)
        ts = first.get("ts")
        if not isinstance(ts, str) or not ts:
            # Posted, as far as Slack said ok, but with nothing to refer to: record it as sent
            # rather than send it again.
            log.warning("Slack's answer to a post to %s has no ts", channel)
            ts = "0"
        for chunk in chunks[1:]:
            try:
                await self.api.call(
                    workspace, "chat.postMessage",
                    **_post_params(channel, text, chunk, thread_ts or ts),
                )  # fmt: skip
            except SlackError as error:
                # The message is out: failing now would make the core send it again.
                log.warning("part of a message to %s was not posted: %s", channel, error)
        posted_in = str(first.get("channel") or channel)
        if isinstance(message, Report) and message.images:
            thread = thread_ts or _thread_of(posted_in, ts)
            await self._share_images(workspace, message, posted_in, thread)
        return make_ref(posted_in, ts)

    async def _share_images(
        self, workspace: Workspace, report: Report, channel: str, thread_ts: str | None
    ) -> None:
        """A report's charts, once its text is posted, in `thread_ts` (None: at the top of
        the conversation). A failure is logged and goes no further: the text is out, and
        failing now would make it be sent again."""
        try:
            await upload_images(
                self.api, workspace, report.images, channel=channel, thread_ts=thread_ts
            )
        except SlackError as error:
            hint = (
                "; invite the app to the channel to share charts there"
                if error.code == "not_in_channel"
                else ""
            )
            log.warning(
                "the charts of %r were not shared in %s: %s%s",
                markup.plain(report.title),
                channel,
                error,
                hint,
            )

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

    async def drain(self) -> None:
        """Wait for the updates under way (tests, and shutdown before closing the session)."""
        await self._background.drain()

    async def aclose(self) -> None:
        await self.drain()
        await self.api.aclose()


def _thread_of(channel: str, ts: str) -> str | None:
    """Where a post's charts go: into the post's thread in a channel (a digest's details stay
    under it), right under it in a direct message (a thread there only hides them); nowhere
    known when Slack gave no ts ("0")."""
    if channel.startswith("D") or ts == "0":
        return None
    return ts


def _tag_of(found: Mapping[str, Any]) -> object:
    if dig(found, "metadata", "event_type") != EVENT_TYPE:
        return None
    return dig(found, "metadata", "event_payload", "tag")


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
