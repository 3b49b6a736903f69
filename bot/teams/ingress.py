"""What POST /api/messages accepts: a Bot Framework activity that botbuilder can handle.

botbuilder trusts what comes in. A body that is not JSON, an activity without a conversation,
a `from` that is a string, a timestamp that is not a date, `attachments` that are not a list
of objects: each one raises deep inside CloudAdapter or a handler, and the request ends as a
500 with a traceback. `parse_activity` refuses them first, with a reason for the log and the
sender; what it lets through is what botbuilder (CloudAdapter and ActivityHandler) can serve.

The shapes were found by sending hypothesis-generated activities to the real adapter
(tests/bot/teams/test_ingress.py keeps doing so):
- the body: no JSON content type (KeyError when the header is missing), a charset Python does
  not know, bytes that are not UTF-8, text that is not JSON, JSON that is not an object;
- fields msrest cannot deserialize: `from`/`recipient`/`conversation` that are not objects,
  timestamps that are not ISO 8601, lists (`attachments`, `entities`, `membersAdded`, ...)
  that are not lists of objects, a list where an object is declared and the reverse;
- fields msrest accepts but the reply path cannot use: no `conversation` or no conversation
  id (AttributeError / msrest ValidationError), no `serviceUrl` (botbuilder then calls
  api.botframework.com), a `serviceUrl` requests cannot parse (MissingSchema, InvalidURL);
- strings Python holds but cannot encode (lone UTF-16 surrogates, JSON's "\\ud800"), which
  fail when a reply is sent or stored; NaN and Infinity, which are not JSON;
- what CloudAdapter cannot answer: deliveryMode "expectReplies" (it serialises the replies
  twice and crashes), an `adaptiveCard/action` invoke whose value ActivityHandler rejects (its
  error response holds an Exception that msrest cannot serialise), a `signin/tokenExchange`
  invoke (ActivityHandler calls a method only TeamsActivityHandler has).
"""

from __future__ import annotations

import codecs
import ipaddress
import json
import math
import re
from collections.abc import Mapping
from email.parser import HeaderParser
from email.policy import HTTP
from typing import Any

# msrest 0.7 raises azure-core's DeserializationError (msrest.exceptions re-exports it).
from azure.core.exceptions import DeserializationError
from botbuilder.schema import Activity, DeliveryModes, SignInConstants
from botbuilder.schema.teams import TeamsChannelData

# Teams' activities nest a few levels (an Adaptive Card's data in `value`); a limit keeps
# deeply nested input away from every recursive walk after this one (msrest, json, the bot).
MAX_DEPTH = 64

ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
TIMESTAMP_FIELDS = ("timestamp", "localTimestamp", "expiration")
LIST_OF_OBJECTS_FIELDS = (
    "attachments",
    "entities",
    "membersAdded",
    "membersRemoved",
    "reactionsAdded",
    "reactionsRemoved",
    "textHighlights",
)
ACCOUNT_LIST_FIELDS = ("membersAdded", "membersRemoved")

VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")

# What Teams and the Agents Playground send ("https://smba.trafficmanager.net/emea/",
# "http://localhost:56150/_connector"): a host name, an IPv4 or a bracketed IPv6 address, a port,
# a path of RFC 3986 characters without braces; no user, query or fragment.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
SERVICE_URL = re.compile(
    rf"https?://(?:{_LABEL}(?:\.{_LABEL})*|\[(?P<ip6>[0-9A-Fa-f:.]+)\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?",
    re.IGNORECASE,
)

# msrest's declaration of every Activity field: JSON key -> msrest type ("str", "iso-8601",
# "[Attachment]", "ChannelAccount", "object", ...).
_FIELD_TYPES: dict[str, str] = {
    attribute["key"]: attribute["type"] for attribute in Activity._attribute_map.values()
}


class MalformedActivity(ValueError):
    """A request body botbuilder cannot handle; `reason` names what is wrong (never the input
    itself, which may be anything), `status` is the HTTP answer."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedMediaType(MalformedActivity):
    """Not JSON by its Content-Type (botbuilder answers 415 too), or in a charset other than
    UTF-8."""

    status = 415


def parse_activity(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The activity in this request body, checked as far as botbuilder relies on it."""
    _check_media_type(content_type)
    activity = _json_object(body)
    _check_type(activity)
    _check_strings(activity)
    _check_accounts(activity)
    _check_service_url(activity.get("serviceUrl"))
    _check_timestamps(activity)
    _check_lists_of_objects(activity)
    _check_channel_data(activity.get("channelData"))
    _check_answerable(activity)
    _check_schema(activity)
    return activity


# ---- the body ---------------------------------------------------------------------------------


def _check_media_type(content_type: str | None) -> None:
    # CloudAdapter's own test, as it is written: a substring of the raw header.
    if content_type is None or "application/json" not in content_type:
        raise UnsupportedMediaType("the Content-Type must be application/json")
    charset = _charset(content_type)
    # aiohttp decodes the body with this charset for botbuilder (UTF-8 when it is empty): an
    # unknown one is a LookupError there, another one would have botbuilder read other text.
    if charset and not _is_utf8(charset):
        raise UnsupportedMediaType("the charset must be utf-8")


def _charset(content_type: str) -> object:
    """The charset parameter as aiohttp reads it (aiohttp.helpers.parse_content_type)."""
    try:
        message = HeaderParser(policy=HTTP).parsestr(f"Content-Type: {content_type}")
        return dict(message.get_params((), header="content-type")[1:]).get("charset")
    except (IndexError, ValueError) as error:  # the standard library's parser on odd params
        raise UnsupportedMediaType("the Content-Type header cannot be read") from error


def _is_utf8(charset: object) -> bool:
    if not isinstance(charset, str):
        return False
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedActivity("the body is not UTF-8") from error
    try:
        value = json.loads(text, parse_constant=_not_json, parse_float=_finite_float)
    except RecursionError as error:
        raise MalformedActivity(f"the body nests deeper than {MAX_DEPTH} levels") from error
    except ValueError as error:  # JSONDecodeError, and an integer of more than 4300 digits
        raise MalformedActivity("the body is not JSON") from error
    if not isinstance(value, dict):
        raise MalformedActivity("the body is not a JSON object")
    if _depth(value) > MAX_DEPTH:
        raise MalformedActivity(f"the body nests deeper than {MAX_DEPTH} levels")
    if not _encodable(value):
        raise MalformedActivity("the body holds text that is not Unicode (a lone surrogate)")
    return value


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")


def _finite_float(number: str) -> float:
    value = float(number)
    if math.isinf(value):  # 1e400 overflows to infinity, which a reply cannot carry as JSON
        raise ValueError("a number out of range")
    return value


def _depth(value: object) -> int:
    """How many arrays and objects deep `value` nests, without recursion."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            pending.extend((child, depth + 1) for child in children)
    return deepest


def _encodable(value: object) -> bool:
    # JSON escapes can spell lone surrogates ("\ud800"); Python holds them, but no reply,
    # log file or database can encode them.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ---- the fields botbuilder relies on ------------------------------------------------------------


def _check_type(activity: Mapping[str, Any]) -> None:
    kind = activity.get("type")
    if not isinstance(kind, str) or not kind:
        raise MalformedActivity("`type` must be a non-empty string")


def _check_strings(activity: Mapping[str, Any]) -> None:
    # msrest turns 5 into "5" and True into "True": a field declared a string must be one.
    for key, declared in _FIELD_TYPES.items():
        value = activity.get(key)
        if declared == "str" and value is not None and not isinstance(value, str):
            raise MalformedActivity(f"`{key}` must be a string")


def _check_accounts(activity: Mapping[str, Any]) -> None:
    # Every reply goes to conversation.id, from the recipient, to the sender.
    for key in ("conversation", "from", "recipient"):
        _check_account(activity.get(key), f"`{key}`")
    # A reply carries it in an HTTP header too (x-ms-conversation-id), where http.client
    # refuses what is not Latin-1 and requests refuses spaces and line breaks. Teams' ids are
    # ASCII ("a:1fX...", "19:...@thread.tacv2;messageid=...").
    if not VISIBLE_ASCII.fullmatch(activity["conversation"]["id"]):
        raise MalformedActivity("`conversation.id` must be visible ASCII characters")


def _check_account(account: object, name: str) -> None:
    if not isinstance(account, dict):
        raise MalformedActivity(f"{name} must be an object")
    account_id = account.get("id")
    if not isinstance(account_id, str) or not account_id:
        raise MalformedActivity(f"{name} must have a non-empty string `id`")


def _check_service_url(service_url: object) -> None:
    """An http(s) URL that msrest and requests can send replies to. Without one botbuilder
    sends them to api.botframework.com; msrest uses it as a str.format template (braces
    raise), requests refuses hosts it cannot parse and IDNA-encodes non-ASCII ones."""
    if not isinstance(service_url, str):
        raise MalformedActivity("`serviceUrl` must be a string")
    url = SERVICE_URL.fullmatch(service_url)
    if url is None or not _valid_port(url["port"]) or not _valid_ip6(url["ip6"]):
        raise MalformedActivity("`serviceUrl` must be an http(s) URL with a host")


def _valid_port(port: str | None) -> bool:
    return port is None or 0 < int(port) < 65536


def _valid_ip6(address: str | None) -> bool:
    if address is None:
        return True
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def _check_timestamps(activity: Mapping[str, Any]) -> None:
    for key in TIMESTAMP_FIELDS:
        value = activity.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise MalformedActivity(f"`{key}` must be an ISO 8601 string")
        try:
            Activity().deserialize({key: value})
        except DeserializationError as error:
            raise MalformedActivity(f"`{key}` must be an ISO 8601 string") from error


def _check_lists_of_objects(activity: Mapping[str, Any]) -> None:
    for key in LIST_OF_OBJECTS_FIELDS:
        value = activity.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise MalformedActivity(f"`{key}` must be a list of objects")
    for key in ACCOUNT_LIST_FIELDS:
        for account in activity.get(key) or []:
            _check_account(account, f"each of `{key}`")


def _check_channel_data(channel_data: object) -> None:
    # botbuilder's Teams helpers (TeamsInfo, teams_get_channel_data) deserialise it as
    # TeamsChannelData whenever they are asked about the team, the tenant or a meeting.
    if channel_data is None:
        return
    if not isinstance(channel_data, dict):
        raise MalformedActivity("`channelData` must be an object")
    try:
        TeamsChannelData().deserialize(channel_data)
    except DeserializationError as error:
        raise MalformedActivity("`channelData` is not Teams channel data") from error


def _check_answerable(activity: Mapping[str, Any]) -> None:
    """What CloudAdapter and ActivityHandler cannot answer without crashing."""
    if activity.get("deliveryMode") == DeliveryModes.expect_replies.value:
        raise MalformedActivity("deliveryMode expectReplies is not supported")
    if activity["type"] != "invoke":
        return
    name = activity.get("name")
    if name == SignInConstants.token_exchange_operation_name:
        raise MalformedActivity("this bot does not sign people in (signin/tokenExchange)")
    if name == ADAPTIVE_CARD_ACTION:
        _check_adaptive_card_action(activity.get("value"))


def _check_adaptive_card_action(value: object) -> None:
    # ActivityHandler's own checks of an Action.Execute, the same way: it answers each failure
    # with a response it cannot serialise, or (an action that is no object) an AttributeError.
    # AdaptiveCardInvokeValue(**value) is a TypeError for a key "self" (its one positional
    # parameter); it is not called here, as msrest logs a warning for each unknown key.
    if not isinstance(value, dict) or "self" in value:
        raise MalformedActivity("an adaptiveCard/action invoke needs an object `value`")
    action = value.get("action")
    if not isinstance(action, dict) or action.get("type") != "Action.Execute":
        raise MalformedActivity("an adaptiveCard/action invoke needs an Action.Execute `action`")


def _check_schema(activity: Mapping[str, Any]) -> None:
    """Every field as msrest reads it, named when it fails; then the whole activity, as
    CloudAdapter deserialises it."""
    for key, declared in _FIELD_TYPES.items():
        value = activity.get(key)
        if value is None:
            continue
        try:
            Activity().deserialize({key: value})
        except DeserializationError as error:
            raise MalformedActivity(f"`{key}` is not a valid {declared}") from error
    try:
        Activity().deserialize(dict(activity))
    except DeserializationError as error:
        raise MalformedActivity("the body is not a Bot Framework activity") from error
