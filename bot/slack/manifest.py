"""The Slack app manifest: `manifests/slack/manifest.json` with the deployment's URLs.

Paste the output of `manifest_json(url)` into "Create an app > From an app manifest" (or send it
to `apps.manifest.create`). The manifest targets `_metadata.major_version` 1, the schema of
classic apps with their own server (version 2 is for apps hosted on Slack's platform).

HTTP mode (the default): slash commands, interactivity, the options of external selects
(`message_menu_options_url`: "Blocked by" in an organisation with over 100 teams and key
results) and events all go to `<url>/slack/events` (bolt tells them apart by payload) and
OAuth installs come back to `<url>/slack/oauth_redirect`. Socket Mode: Slack delivers
commands, interactivity, options and events over the app-level websocket, so the manifest has
no request URLs; the OAuth redirect stays when a URL is given (installing still goes through a
browser).

Bot scopes, and why each is needed (nothing more is asked for):

- `chat:write`: send check-in prompts and reminders by DM, post digests, update a prompt
  once it is answered.
- `chat:write.public`: post a digest in a public channel the bot was never invited to, so an
  admin only writes `slack:#eng-okrs` in the OKR file.
- `commands`: the `/okr` slash command.
- `im:write`: open the DM with a person (`conversations.open`) before the first prompt.
- `users:read`: read a person's Slack profile (`users.info`: timezone, deactivated accounts).
- `users:read.email`: link the OKR file's people, listed by email, to Slack users
  (`users.lookupByEmail`) when the file gives no `slack_id`.
- `im:history`: after a crash or a timeout mid-send, read the bot's own DM with that person
  (`conversations.history`, back to when the send began) for the prompt whose metadata names
  it, so a prompt that did arrive is not sent twice. The bot reads nothing else there.
- `channels:read`, `groups:read`: resolve digest channels given by name (`#eng-okrs`) to ids
  (`conversations.list`), public and private.
- `files:write`: share a report's charts as PNG images (`files.getUploadURLExternal`,
  `files.completeUploadExternal`): a digest's in its thread, `/okr chart` and the "Trend"
  button's in the person's DM with the bot. The bot reads no file; a chart is shared only
  where the bot is a member (invite it to a digest channel it posts in through
  `chat:write.public`), and without the scope the text is posted without its charts.

Not asked for: message events (commands go through `/okr` and the buttons; the Messages tab
is read-only so nobody writes into a void), `member_joined_channel` (a digest channel needs no
set-up when the bot joins it). A workspace installed without `im:history` still works: a
prompt in doubt is then sent again.

Bot events: `app_home_opened` (publish the Home tab), `app_uninstalled` and `tokens_revoked`
(forget the installation's tokens).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from bot.resources import resource

MANIFEST_PATH = resource("manifests", "slack", "manifest.json")
PLACEHOLDER_URL = "https://drumbeat.example.com"
EVENTS_PATH = "/slack/events"
OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"


def manifest_template() -> dict[str, Any]:
    """The manifest as stored, with the placeholder host in every URL."""
    manifest: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    return manifest


def _base(url: str | None) -> str:
    base = (url or PLACEHOLDER_URL).rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"expected the public base URL, like https://okr.example.com: {url!r}")
    return base


def slack_manifest(url: str | None = None, *, socket_mode: bool = False) -> dict[str, Any]:
    """The manifest for a deployment reachable at `url` (its public base URL; None keeps the
    placeholder), in HTTP mode or in Socket Mode."""
    manifest = manifest_template()
    features, settings, oauth = manifest["features"], manifest["settings"], manifest["oauth_config"]
    base = _base(url)
    settings["socket_mode_enabled"] = socket_mode
    if socket_mode:
        for command in features["slash_commands"]:
            command.pop("url", None)
        settings["interactivity"].pop("request_url", None)
        settings["interactivity"].pop("message_menu_options_url", None)
        settings["event_subscriptions"].pop("request_url", None)
    else:
        for command in features["slash_commands"]:
            command["url"] = base + EVENTS_PATH
        settings["interactivity"]["request_url"] = base + EVENTS_PATH
        settings["interactivity"]["message_menu_options_url"] = base + EVENTS_PATH
        settings["event_subscriptions"]["request_url"] = base + EVENTS_PATH
    if socket_mode and url is None:
        oauth.pop("redirect_urls", None)
    else:
        oauth["redirect_urls"] = [base + OAUTH_REDIRECT_PATH]
    return manifest


def manifest_json(url: str | None = None, socket_mode: bool = False) -> str:
    """`slack_manifest` pretty-printed, as Slack's manifest editor shows it."""
    return json.dumps(slack_manifest(url, socket_mode=socket_mode), indent=2, ensure_ascii=False)
