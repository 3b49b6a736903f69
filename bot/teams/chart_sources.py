"""Where a report's charts come from in Teams: inline, or from a signed link.

Teams fetches an Adaptive Card's `Image` from its `url`: a data URI travels inside the card,
so it counts toward Teams' message size (`CARD_BUDGET` per card, bot/teams/cards/packing.py);
a link costs a hundred bytes but needs a server Teams can reach (PUBLIC_URL, served by
`/charts/`, see rhythm.chart_links). Each chart is inlined while the report still needs no
more cards than it would with links, smallest chart first; the others are published as
links. With neither (no PUBLIC_URL, too big to inline) the card shows the chart's alt text,
and the log says why, once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.teams.cards.elements import Element
from bot.teams.cards.report import report_cards
from rhythm.chart_links import ChartLinks, data_uri
from rhythm.sections import Image, Report

log = logging.getLogger(__name__)


class ChartSources:
    """Resolves the images of reports to Teams image sources (see the module)."""

    def __init__(self, *, links: ChartLinks | None = None) -> None:
        self.links = links
        self._told = False

    async def cards(self, org: str, report: Report) -> list[Element]:
        """`report` as Adaptive Cards, its charts inline or linked."""
        return report_cards(report, await self.resolve(org, report))

    async def resolve(self, org: str, report: Report) -> dict[str, str]:
        """{image name: data URI or https link} for the images that can be shown."""
        images = _distinct(report.images)
        if not images:
            return {}
        placeholder = self.links.placeholder() if self.links is not None else None
        linked = {i.name: placeholder for i in images if placeholder is not None}
        cards = len(report_cards(report, linked))
        inline: dict[str, str] = {}
        for image in sorted(images, key=lambda i: len(i.png)):
            trial = {**linked, **inline, image.name: data_uri(image)}
            try:
                fits = len(report_cards(report, trial)) <= cards
            except ValueError:  # the image alone is more than a card can carry
                fits = False
            if fits:
                inline[image.name] = trial[image.name]
        sources = dict(inline)
        for image in images:
            if image.name in sources:
                continue
            link = await self.links.publish(org, image) if self.links is not None else None
            if link is not None:
                sources[image.name] = link
            else:
                self._tell(image)
        return sources

    def _tell(self, image: Image) -> None:
        if self._told:
            return
        self._told = True
        log.info(
            "Teams: the chart %s (%d KB) is too big to travel inside a card, and without "
            "PUBLIC_URL there is no link to show it from: its alt text is shown instead. Set "
            "PUBLIC_URL to this server's https address to show charts. (Said once.)",
            image.name, len(image.png) // 1024,
        )  # fmt: skip


def _distinct(images: Sequence[Image]) -> list[Image]:
    """One image per name (the sources are keyed by name)."""
    seen: dict[str, Image] = {}
    for image in images:
        seen.setdefault(image.name, image)
    return list(seen.values())
