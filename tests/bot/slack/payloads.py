"""Real-shaped Slack payloads (as Slack sends them to a request URL) for the app's tests:
slash commands, block_actions from a message or the App Home, view_submission of a modal
with its `state.values`, block_suggestion from an external select of a modal, and Events API
callbacks."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from typing import Any

from bot.slack.modal import ACTION_ID

APP_ID = "A0001"
VERIFICATION_TOKEN = "legacy-verification-token"
_ids = itertools.count(1)


def user_block(user_id: str, team: str) -> dict[str, Any]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team}


def slash_command(
    text: str,
    *,
    user_id: str,
    team: str,
    response_url: str,
    trigger_id: str,
    channel_id: str = "C0GENERAL",
    channel_name: str = "general",
) -> dict[str, str]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team,
        "team_domain": "acme",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": "/okr",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def button(action_id: str, value: str | None, block_id: str = "prompt_actions") -> dict[str, Any]:
    action = {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": action_id, "emoji": True},
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    return action


def message_action(
    action: dict[str, Any],
    *,
    user_id: str,
    team: str,
    trigger_id: str,
    response_url: str,
    channel: str,
    message_ts: str,
) -> dict[str, Any]:
    """A button clicked in a message (the prompt DM)."""
    return {
        "type": "block_actions",
        "user": user_block(user_id, team),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": team, "domain": "acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "ts": message_ts, "text": "prompt", "bot_id": "BDRUM"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def home_action(
    action: dict[str, Any], *, user_id: str, team: str, trigger_id: str, view_id: str = "VHOME"
) -> dict[str, Any]:
    """A button clicked in the App Home tab: no response_url, a view container."""
    return {
        "type": "block_actions",
        "user": user_block(user_id, team),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": trigger_id,
        "team": {"id": team, "domain": "acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {
            "id": view_id,
            "type": "home",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "team_id": team,
        },
        "actions": [action],
    }


SELECTS = ("static_select", "external_select")


def menu_options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every option of a static select, in its groups or not."""
    if "option_groups" in element:
        return [o for group in element["option_groups"] for o in group["options"]]
    return list(element.get("options", []))


def _chosen(element: Mapping[str, Any], value: str | None) -> dict[str, Any] | None:
    """The selected option Slack reports for `value`: one of the menu's, else one made up
    (an external select's options come from the app; a forged or stale payload's from
    anywhere)."""
    if value is None:
        return None
    known = next((o for o in menu_options(element) if o["value"] == value), None)
    return known or {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}


def state_values(view: Mapping[str, Any], answers: Mapping[str, str | None]) -> dict[str, Any]:
    """`view.state.values` for a modal whose inputs hold `answers` (by block id); an input
    without an answer holds its initial value, as it would in Slack."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        block_id = block["block_id"]
        element = block["element"]
        kind = element["type"]
        if kind in SELECTS:
            chosen = answers.get(block_id, (element.get("initial_option") or {}).get("value"))
            values[block_id] = {
                ACTION_ID: {"type": kind, "selected_option": _chosen(element, chosen)}
            }
        else:
            value = answers.get(block_id, element.get("initial_value"))
            values[block_id] = {ACTION_ID: {"type": kind, "value": value}}
    return values


def valid_answers(view: Mapping[str, Any]) -> dict[str, str | None]:
    """What a person could submit in Slack: every required input filled (its prefill, else
    a value inside its bounds), optional ones left as they are."""
    answers: dict[str, str | None] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input" or block.get("optional"):
            continue
        element = block["element"]
        if element["type"] == "static_select":
            chosen = element.get("initial_option") or menu_options(element)[0]
            answers[block["block_id"]] = chosen["value"]
        elif element["type"] == "number_input":
            value = element.get("initial_value") or element.get("min_value") or "1"
            if "max_value" in element and float(value) > float(element["max_value"]):
                value = element["max_value"]
            answers[block["block_id"]] = value
        else:
            answers[block["block_id"]] = element.get("initial_value") or "Steady progress"
    return answers


def view_submission(
    view: Mapping[str, Any],
    answers: Mapping[str, str | None],
    *,
    user_id: str,
    team: str,
    trigger_id: str,
    view_id: str | None = None,
) -> dict[str, Any]:
    """The submission of `view` (as the app sent it to views.open) filled with `answers`."""
    view_id = view_id or str(view.get("id") or f"V{next(_ids):08d}")
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": "acme"},
        "user": user_block(user_id, team),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": {
            **{k: v for k, v in view.items() if k != "state"},
            "id": view_id,
            "team_id": team,
            "state": {"values": state_values(view, answers)},
            "hash": f"{time.time():.6f}.fake",
            "root_view_id": view_id,
            "app_id": APP_ID,
            "bot_id": "BDRUM",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def block_suggestion(
    view: Mapping[str, Any], block_id: str, typed: str, *, user_id: str, team: str
) -> dict[str, Any]:
    """What Slack sends while a person types `typed` in the external select `block_id` of the
    modal `view` (as the app opened it)."""
    view_id = str(view.get("id") or f"V{next(_ids):08d}")
    return {
        "type": "block_suggestion",
        "user": user_block(user_id, team),
        "container": {"type": "view", "view_id": view_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "action_id": ACTION_ID,
        "block_id": block_id,
        "value": typed,
        "team": {"id": team, "domain": "acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {
            **{k: v for k, v in view.items() if k != "state"},
            "id": view_id,
            "team_id": team,
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.fake",
            "app_id": APP_ID,
            "bot_id": "BDRUM",
        },
    }


def event_callback(
    event: Mapping[str, Any], *, team: str, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team,
        "api_app_id": APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team,
                "user_id": "UBOTDRUM",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def app_home_opened(user_id: str) -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D" + user_id[1:],
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
