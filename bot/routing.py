"""Routes each message to the chat platform where its person or channel lives."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from rhythm.messages import Message
from rhythm.okr import Person
from rhythm.ports import ChatGateway, DeliveryError, Leaving

if TYPE_CHECKING:
    from bot.metrics import Metrics


class ChatRouter:
    """One `ChatGateway` over several: a person goes to Slack when they have a Slack id, to
    Teams when they have a Teams id, else to the fallback; a channel is "platform:address".
    Each message is counted in `metrics` by its platform, as it leaves and as it comes back."""

    def __init__(
        self,
        *,
        gateways: Mapping[str, ChatGateway],
        fallback: str,
        metrics: Metrics | None = None,
    ) -> None:
        if fallback not in gateways:
            raise ValueError(f"fallback gateway {fallback!r} is not configured")
        self.gateways = dict(gateways)
        self.fallback = fallback
        self.metrics = metrics

    def _sending(self, platform: str, method: str) -> AbstractContextManager[None]:
        if self.metrics is None:
            return contextlib.nullcontext()
        return self.metrics.sending(platform, method)

    def platform_of(self, person: Person) -> str:
        if person.slack_user_id and "slack" in self.gateways:
            return "slack"
        if person.teams_user_id and "teams" in self.gateways:
            return "teams"
        return self.fallback

    async def send_direct(
        self,
        org: str,
        person: Person,
        message: Message,
        *,
        tag: str | None = None,
        leaving: Leaving | None = None,
    ) -> str:
        platform = self.platform_of(person)
        with self._sending(platform, "send_direct"):
            ref = await self.gateways[platform].send_direct(
                org, person, message, tag=tag, leaving=leaving
            )
        return f"{platform}|{ref}"

    async def find_direct(
        self, org: str, person: Person, tag: str, *, since: datetime
    ) -> str | None:
        platform = self.platform_of(person)
        ref = await self.gateways[platform].find_direct(org, person, tag, since=since)
        return f"{platform}|{ref}" if ref is not None else None

    async def update_direct(self, org: str, person: Person, ref: str, message: Message) -> None:
        platform, _, inner = ref.partition("|")
        gateway = self.gateways.get(platform)
        if gateway is None:
            raise DeliveryError(f"{platform} is not configured", permanent=True)
        with self._sending(platform, "update_direct"):
            await gateway.update_direct(org, person, inner, message)

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        platform, sep, address = channel.partition(":")
        gateway = self.gateways.get(platform) if sep else None
        if gateway is None:
            raise DeliveryError(
                f"channel {channel!r}: {platform or 'no platform'} is not configured "
                f"(known: {', '.join(sorted(self.gateways))})",
                permanent=True,
            )
        with self._sending(platform, "post_channel"):
            return await gateway.post_channel(org, address, message, thread=thread)
