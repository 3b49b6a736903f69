"""Charts into Slack: the external upload sequence (files.upload is retired).

For each image, `files.getUploadURLExternal` (its file name, its length in bytes and its alt
text, which screen readers say) answers with a signed `upload_url` on Slack's file host and a
file id; the PNG bytes are POSTed there. One `files.completeUploadExternal` then shares every
file that went up, with its title, in one message of the conversation (`channel_id`), as a
reply in a thread when `thread_ts` is given.

Everything goes through `SlackWebApi`: the same throttles (both methods are Tier 4), 429
Retry-After waits, retries of what may be repeated, and faults as `SlackError`s. Sharing is
never repeated when its outcome is unknown: the charts would show twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.slack.webapi import SlackError, SlackWebApi, Workspace, dig, unexpected
from rhythm.sections import Image

log = logging.getLogger(__name__)

GET_UPLOAD_URL = "files.getUploadURLExternal"
COMPLETE_UPLOAD = "files.completeUploadExternal"
ALT_TEXT_LIMIT = 1000  # getUploadURLExternal refuses more with alt_txt_too_large
TITLE_LIMIT = 250  # a file title as Slack's clients show it whole


@dataclass(frozen=True, slots=True)
class Shared:
    """A file Slack took and shared: its id and title."""

    id: str
    title: str


def alt_text(image: Image) -> str:
    """The image's alt text within Slack's limit (its name when it has none)."""
    text = " ".join(image.alt.split()) or image.name
    return text if len(text) <= ALT_TEXT_LIMIT else text[: ALT_TEXT_LIMIT - 1] + "…"


def file_title(image: Image) -> str:
    text = " ".join((image.title or image.name).split())
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


async def reserve(api: SlackWebApi, workspace: Workspace, image: Image) -> tuple[str, str]:
    """files.getUploadURLExternal for `image`: its file id and the URL for its bytes."""
    if not image.png:
        raise ValueError(f"an image without bytes: {image.name!r}")  # the core's bug
    answer = await api.call(
        workspace, GET_UPLOAD_URL,
        filename=image.name, length=len(image.png), alt_txt=alt_text(image),
    )  # fmt: skip
    file_id, url = dig(answer, "file_id"), dig(answer, "upload_url")
    if not (isinstance(file_id, str) and file_id and isinstance(url, str) and url):
        raise unexpected(GET_UPLOAD_URL)
    return file_id, url


async def upload_images(
    api: SlackWebApi,
    workspace: Workspace,
    images: Sequence[Image],
    *,
    channel: str,
    thread_ts: str | None = None,
) -> list[Shared]:
    """Upload `images` and share them in `channel` (in the thread of `thread_ts`, a parent
    message's ts, when given), as one message. An image whose bytes could not go up is left
    out (logged); a failure to share them all raises the `SlackError`."""
    ready: list[Shared] = []
    for image in images:
        try:
            file_id, url = await reserve(api, workspace, image)
            await api.upload(workspace, url, image.png)
        except SlackError as error:  # retried as far as it may be: the others still go up
            hint = "; reinstall the Slack app to grant files:write" if (
                error.code == "missing_scope"
            ) else ""  # fmt: skip
            log.warning("chart %s not uploaded for %s: %s%s", image.name, channel, error, hint)
            continue
        ready.append(Shared(file_id, file_title(image)))
    if not ready:
        return []
    answer = await api.call(
        workspace, COMPLETE_UPLOAD,
        files=[{"id": f.id, "title": f.title} for f in ready],
        channel_id=channel, thread_ts=thread_ts or None,  # None: left out
    )  # fmt: skip
    files = dig(answer, "files")
    if not isinstance(files, list):
        raise unexpected(COMPLETE_UPLOAD)
    return ready
