"""What Slack sends to the request URL, parsed into small typed values.

`bot/slack/http.py` runs `decode_body` and `parse` on every request whose signature checked
out, so that a payload nobody can handle is answered 400 at once instead of failing after its
acknowledgement; the listeners call `parse_body` on bolt's already-decoded `body`.

The shapes are Slack's: liberal where Slack legitimately varies (optional fields, `team` an
object, an id or null in org-wide installs, `team_id` at the top or inside `user` and `view`),
strict where the code reading a payload would crash. That code includes bolt's own context
extraction, which reads `team`, `user`, `enterprise`, `channel`, `authorizations`, `event`
and `response_urls` of every payload before any listener runs (slack_bolt.request.internals).

Every parser raises `MalformedPayload(reason)` and nothing else; its reason is one short line
for the log and never repeats more than a few characters of what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

Payload = Mapping[str, Any]
# What one input of a submitted modal holds: text, a number or a single choice as a string,
# a multiple choice as a tuple of strings, None when empty.
InputValue = str | tuple[str, ...] | None


class MalformedPayload(ValueError):
    """A verified request that no listener could handle. `field` is the block id of an input of
    the submitted modal to show the problem on (Slack then keeps the modal open)."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True, slots=True, kw_only=True)
class SlashCommand:
    team_id: str | None
    enterprise_id: str | None
    user_id: str
    command: str
    text: str
    channel_id: str | None
    trigger_id: str
    response_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockAction:
    """A click (or a choice) in a message or a view. Slack sends one action per payload in
    practice; bolt routes on the first, so these are the first action's fields."""

    team_id: str | None
    enterprise_id: str | None
    user_id: str
    action_id: str
    block_id: str | None
    value: str | None  # a button's `value`, or a select's `selected_option.value`
    trigger_id: str
    response_url: str | None  # None in the App Home and in modals
    container_type: str | None  # "message", "view", "message_attachment"
    message_ts: str | None  # the message clicked in
    channel_id: str | None
    view_id: str | None  # the view clicked in (App Home, modal)


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockSuggestion:
    """What a person typed so far in an external select of a modal: Slack waits (three
    seconds at most) for the options to show."""

    team_id: str | None
    enterprise_id: str | None
    user_id: str
    action_id: str
    block_id: str  # the input's block id: our form's field id
    value: str  # what was typed; "" when Slack asks before anything is
    view_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewSubmission:
    team_id: str | None
    enterprise_id: str | None
    user_id: str
    view_id: str | None
    callback_id: str
    private_metadata: str
    # block_id -> action_id -> what the input holds
    values: Mapping[str, Mapping[str, InputValue]]
    input_block_ids: tuple[str, ...]  # the view's input blocks, in order (for field errors)
    trigger_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCallback:
    team_id: str | None
    enterprise_id: str | None
    event_id: str
    event_type: str
    event_time: int | None
    user_id: str | None  # the event's user (required for app_home_opened)
    channel_id: str | None
    tab: str | None  # app_home_opened: "home" or "messages"
    # tokens_revoked: the users whose tokens and the bot users whose tokens were revoked
    revoked_token_users: tuple[str, ...] = field(default=())
    revoked_bot_users: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlVerification:
    challenge: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SslCheck:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class AppRateLimited:
    """Slack stopped sending this workspace's events for a minute (over 30,000 an hour)."""

    team_id: str | None
    minute_rate_limited: int | None


Inbound = (
    SlashCommand
    | BlockAction
    | BlockSuggestion
    | ViewSubmission
    | EventCallback
    | UrlVerification
    | SslCheck
    | AppRateLimited
)

# ---- the request body --------------------------------------------------------------------


def decode_body(raw: bytes) -> str:
    """Slack's bodies are UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedPayload(f"the body is not UTF-8 (byte {error.start})") from error


def parse(content_type: str, body: str) -> Inbound:
    """A request body as Slack sends it: Events API callbacks as JSON, slash commands and
    interactivity as a form (interactivity's JSON in its `payload` field)."""
    return parse_body(read_body(content_type, body))


def read_body(content_type: str, body: str) -> Payload:
    """The body as bolt reads it (slack_bolt.request.internals.parse_body), refusing what bolt
    would read differently from us or fail to read."""
    if content_type == JSON:
        return _json_object(body, "the JSON body")
    if content_type != FORM:
        raise MalformedPayload(f"unsupported content type {_shown(content_type)}")
    if body.startswith("{"):  # bolt would read it as JSON whatever its content type says
        raise MalformedPayload("a form body that starts with '{'")
    # bolt keeps blank values (`text=` of a bare `/okr`) and the last of repeated fields
    form = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in form:
        return _json_object(form["payload"], "the form's payload")
    if not form:
        raise MalformedPayload("an empty form")
    return form


def _json_object(text: str, what: str) -> Payload:
    try:
        data = json.loads(text)
    except RecursionError as error:  # nested deeper than the interpreter's stack
        raise MalformedPayload(f"{what} is nested too deeply") from error
    except ValueError as error:
        raise MalformedPayload(f"{what} is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise MalformedPayload(f"{what} is {_kind(data)}, not an object")
    return data


# ---- payloads ----------------------------------------------------------------------------


def parse_body(body: Payload) -> Inbound:
    """A decoded payload (a form's fields, or JSON), dispatched the way bolt dispatches it."""
    if not isinstance(body, Mapping):
        raise MalformedPayload(f"the payload is {_kind(body)}, not an object")
    check_envelope(body)
    if body.get("ssl_check") == "1":  # bolt answers these before anything else
        return SslCheck()
    if "command" in body:  # slash commands have no `type`; bolt matches on `command`
        return _slash_command(body)
    kind = body.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise MalformedPayload(f"unsupported payload type {_shown(kind)}")
    return parser(body)


def _slash_command(body: Payload) -> SlashCommand:
    where = "slash command"
    return SlashCommand(
        team_id=team_id_of(body),
        enterprise_id=enterprise_id_of(body),
        user_id=_text(body, "user_id", where),
        command=_text(body, "command", where),
        text=_optional_str(body, "text", where) or "",
        channel_id=_optional_str(body, "channel_id", where),
        trigger_id=_text(body, "trigger_id", where),
        response_url=_url(body, "response_url", where),
    )


def _block_actions(body: Payload) -> BlockAction:
    where = "block_actions"
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise MalformedPayload(f"{where}: `actions` is not a non-empty list")
    for index, action in enumerate(actions):
        _check_action(action, f"{where}: actions[{index}]")
    first: Payload = actions[0]
    container = _optional_object(body, "container", where) or {}
    message = _optional_object(body, "message", where) or {}
    view = _optional_object(body, "view", where) or {}
    return BlockAction(
        team_id=team_id_of(body),
        enterprise_id=enterprise_id_of(body),
        user_id=_user_id(body, where),
        action_id=first["action_id"],
        block_id=first.get("block_id"),
        value=_action_value(first),
        trigger_id=_text(body, "trigger_id", where),
        response_url=_optional_url(body, "response_url", where),
        container_type=_optional_str(container, "type", f"{where}: container"),
        message_ts=_optional_str(container, "message_ts", f"{where}: container")
        or _optional_str(message, "ts", f"{where}: message"),
        channel_id=_optional_str(container, "channel_id", f"{where}: container")
        or _holder_id(body.get("channel")),
        view_id=_optional_str(container, "view_id", f"{where}: container")
        or _optional_str(view, "id", f"{where}: view"),
    )


def _check_action(action: Any, where: str) -> None:
    if not isinstance(action, dict):
        raise MalformedPayload(f"{where} is not an object")
    _text(action, "action_id", where)
    _optional_str(action, "block_id", where)
    _optional_str(action, "value", where)
    _option_value(action.get("selected_option"), f"{where}.selected_option")


def _action_value(action: Payload) -> str | None:
    value: str | None = action.get("value")
    if value is None:
        value = _option_value(action.get("selected_option"), "selected_option")
    return value


def _block_suggestion(body: Payload) -> BlockSuggestion:
    where = "block_suggestion"
    view = _optional_object(body, "view", where) or {}
    container = _optional_object(body, "container", where) or {}
    return BlockSuggestion(
        team_id=team_id_of(body),
        enterprise_id=enterprise_id_of(body),
        user_id=_user_id(body, where),
        action_id=_text(body, "action_id", where),
        block_id=_text(body, "block_id", where),
        value=_optional_str(body, "value", where) or "",
        view_id=_optional_str(view, "id", f"{where}: view")
        or _optional_str(container, "view_id", f"{where}: container"),
    )


def _view_submission(body: Payload) -> ViewSubmission:
    where = "view_submission"
    view = _object(body, "view", where)
    # bolt reads the type of every submitted view (a retired "workflow_step" has a step to run)
    if _text(view, "type", f"{where}: view") != "modal":
        raise MalformedPayload(f"{where}: a {_shown(view['type'])} view, not a modal")
    inputs = _input_block_ids(view)
    metadata = _optional_str(view, "private_metadata", f"{where}: view") or ""
    return ViewSubmission(
        team_id=team_id_of(body),
        enterprise_id=enterprise_id_of(body),
        user_id=_user_id(body, where),
        view_id=_optional_str(view, "id", f"{where}: view"),
        callback_id=_string(view, "callback_id", f"{where}: view"),
        private_metadata=metadata,
        values=_state_values(view, inputs),
        input_block_ids=inputs,
        trigger_id=_optional_str(body, "trigger_id", where),
    )


def _input_block_ids(view: Payload) -> tuple[str, ...]:
    where = "view_submission: view.blocks"
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list):
        raise MalformedPayload(f"{where} is not a list")
    ids = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise MalformedPayload(f"{where}[{index}] is not an object")
        if block.get("type") == "input":
            ids.append(_text(block, "block_id", f"{where}[{index}]"))
    return tuple(ids)


def _state_values(view: Payload, inputs: tuple[str, ...]) -> dict[str, dict[str, InputValue]]:
    """`view.state.values`: block_id -> action_id -> the element's state. A problem in one
    input's state is shown on that input (else on the first), so the modal stays open."""
    where = "view_submission: view.state"
    first_input = inputs[0] if inputs else None
    state = view.get("state")
    if not isinstance(state, dict) or not isinstance(state.get("values"), dict):
        raise MalformedPayload(f"{where} has no `values` object", field=first_input)
    values: dict[str, dict[str, InputValue]] = {}
    for block_id, actions in state["values"].items():
        on = block_id if block_id in inputs else first_input
        if not isinstance(actions, dict):
            raise MalformedPayload(f"{where}.values[{_shown(block_id)}] is not an object", field=on)
        values[block_id] = {}
        for action_id, element in actions.items():
            at = f"{where}.values[{_shown(block_id)}][{_shown(action_id)}]"
            if not isinstance(element, dict):
                raise MalformedPayload(f"{at} is not an object", field=on)
            values[block_id][action_id] = _input_value(element, at, on)
    return values


_ONE_CHOICE = ("selected_date", "selected_time", "selected_user", "selected_conversation",
               "selected_channel")  # fmt: skip
_MANY_CHOICES = ("selected_users", "selected_conversations", "selected_channels")


def _input_value(element: Payload, where: str, on: str | None) -> InputValue:
    """What Slack reports for each kind of input element; an element we do not read (rich
    text, files) holds nothing for our forms."""
    try:
        if "value" in element:  # text, number, email, url inputs
            return _scalar(element["value"], where)
        if "selected_option" in element:  # static select, radio buttons
            return _option_value(element["selected_option"], f"{where}.selected_option")
        if "selected_options" in element:  # multi-select, checkboxes
            return _option_values(element["selected_options"], f"{where}.selected_options")
        for key in _ONE_CHOICE:
            if key in element:
                return _optional_str(element, key, where)
        if "selected_date_time" in element:
            stamp = element["selected_date_time"]
            return None if stamp is None else str(_integer(stamp, f"{where}.selected_date_time"))
        for key in _MANY_CHOICES:
            if key in element:
                return _strings(element[key], f"{where}.{key}")
    except MalformedPayload as problem:
        raise MalformedPayload(problem.reason, field=on) from None
    return None


def _scalar(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise MalformedPayload(f"{where}.value is {_kind(value)}")


def _option_value(option: Any, where: str) -> str | None:
    if option is None:
        return None
    if not isinstance(option, dict):
        raise MalformedPayload(f"{where} is not an object")
    return _text(option, "value", where)


def _option_values(options: Any, where: str) -> tuple[str, ...]:
    if not isinstance(options, list):
        raise MalformedPayload(f"{where} is not a list")
    chosen = (_option_value(o, f"{where}[{i}]") for i, o in enumerate(options))
    return tuple(value for value in chosen if value is not None)


def _strings(items: Any, where: str) -> tuple[str, ...]:
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise MalformedPayload(f"{where} is not a list of strings")
    return tuple(items)


def _event_callback(body: Payload) -> EventCallback:
    where = "event_callback"
    event = _object(body, "event", where)
    event_type = _text(event, "type", f"{where}: event")
    users, bots = _revoked(event) if event_type == "tokens_revoked" else ((), ())
    if event_type == "app_home_opened":
        _text(event, "user", f"{where}: app_home_opened")
    stamp = body.get("event_time")
    return EventCallback(
        team_id=team_id_of(body),
        enterprise_id=enterprise_id_of(body),
        event_id=_text(body, "event_id", where),
        event_type=event_type,
        event_time=None if stamp is None else _integer(stamp, f"{where}: event_time"),
        user_id=_holder_id(event.get("user")),
        channel_id=_holder_id(event.get("channel")),
        tab=_optional_str(event, "tab", f"{where}: event"),
        revoked_token_users=users,
        revoked_bot_users=bots,
    )


def _revoked(event: Payload) -> tuple[tuple[str, ...], tuple[str, ...]]:
    where = "event_callback: tokens_revoked"
    tokens = _object(event, "tokens", where)
    return (
        _strings(tokens.get("oauth", []), f"{where}.tokens.oauth"),
        _strings(tokens.get("bot", []), f"{where}.tokens.bot"),
    )


def _url_verification(body: Payload) -> UrlVerification:
    return UrlVerification(challenge=_text(body, "challenge", "url_verification"))


def _app_rate_limited(body: Payload) -> AppRateLimited:
    minute = body.get("minute_rate_limited")
    return AppRateLimited(
        team_id=team_id_of(body),
        minute_rate_limited=None if minute is None else _integer(minute, "minute_rate_limited"),
    )


_PARSERS: dict[str, Callable[[Payload], Inbound]] = {
    "block_actions": _block_actions,
    "block_suggestion": _block_suggestion,
    "view_submission": _view_submission,
    "event_callback": _event_callback,
    "url_verification": _url_verification,
    "app_rate_limited": _app_rate_limited,
}

# ---- the envelope: what bolt reads of every payload ---------------------------------------

# An id as a string, an object holding it in `id`, or null (`team` in org-wide installs).
_ID_HOLDERS = ("team", "user", "enterprise", "channel")
_OPTIONAL_STRINGS = ("team_id", "user_id", "enterprise_id", "channel_id", "app_installed_team_id",
                     "response_url", "function_execution_id", "bot_access_token")  # fmt: skip
# Objects bolt looks into for the ids above (an event's message, a reaction's item...).
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread", "view")
_MAX_NESTING = 6  # bolt follows these recursively; Slack nests three at most
_ABSENT = object()


def check_envelope(body: Payload, where: str = "payload", depth: int = 0) -> None:
    """The ids bolt extracts from every payload have the types it expects, so that building
    its context cannot fail."""
    if depth > _MAX_NESTING:
        raise MalformedPayload(f"{where} is nested too deeply")
    for key in _ID_HOLDERS:
        _holder(body.get(key), f"{where}.{key}")
    for key in _OPTIONAL_STRINGS:
        _optional_str(body, key, where)
    if isinstance(body.get("team"), dict):
        _optional_str(body["team"], "enterprise_id", f"{where}.team")
    if isinstance(body.get("user"), dict):
        _optional_str(body["user"], "team_id", f"{where}.user")
    _authorizations(body.get("authorizations"), where, depth)
    _response_urls(body.get("response_urls", _ABSENT), where)
    if depth == 0 and "event" in body and not isinstance(body["event"], dict):
        raise MalformedPayload(f"{where}.event is not an object")  # bolt reads its bot_id
    for key in _NESTED:
        if isinstance(body.get(key), dict):
            check_envelope(body[key], f"{where}.{key}", depth + 1)


def _holder(value: Any, where: str) -> None:
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} is {_kind(value)}, not an id or an object")
    _optional_str(value, "id", where)


def _authorizations(value: Any, where: str, depth: int) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise MalformedPayload(f"{where}.authorizations is not a list")
    for index, authorization in enumerate(value):
        at = f"{where}.authorizations[{index}]"
        if not isinstance(authorization, dict):
            raise MalformedPayload(f"{at} is not an object")
        check_envelope(authorization, at, depth + 1)


def _response_urls(value: Any, where: str) -> None:
    if value is _ABSENT:
        return
    if not isinstance(value, list):  # present, bolt takes its length: null will not do
        raise MalformedPayload(f"{where}.response_urls is not a list")
    if len(value) > 1:
        # Only modals with several response_url_enabled selects get more than one (ours have
        # none), and bolt fails on them while it builds the request (it logs before it has
        # a logger).
        raise MalformedPayload(f"{where}.response_urls has more than one")
    for index, entry in enumerate(value):
        at = f"{where}.response_urls[{index}]"
        if not isinstance(entry, dict):
            raise MalformedPayload(f"{at} is not an object")
        _optional_url(entry, "response_url", at)


def team_id_of(body: Payload) -> str | None:
    """The workspace, where bolt finds it (slack_bolt.request.internals.extract_team_id)."""
    view = body.get("view")
    if isinstance(view, dict) and isinstance(view.get("app_installed_team_id"), str):
        return str(view["app_installed_team_id"])
    if (team := _holder_id(body.get("team"))) is not None:
        return team
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list) and authorizations:
        return team_id_of(authorizations[0])
    for holder in (body, body.get("event"), body.get("user"), view):
        if isinstance(holder, dict) and isinstance(holder.get("team_id"), str):
            return str(holder["team_id"])
    return None


def enterprise_id_of(body: Payload) -> str | None:
    """The Enterprise Grid organisation, where bolt finds it (extract_enterprise_id)."""
    if (enterprise := _holder_id(body.get("enterprise"))) is not None:
        return enterprise
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list) and authorizations:
        return enterprise_id_of(authorizations[0])
    for holder in (body, body.get("team"), body.get("event")):
        if isinstance(holder, dict) and isinstance(holder.get("enterprise_id"), str):
            return str(holder["enterprise_id"])
    return None


# ---- fields ------------------------------------------------------------------------------


def _holder_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _user_id(body: Payload, where: str) -> str:
    user = _object(body, "user", where)
    return _text(user, "id", f"{where}: user")


def _object(data: Payload, key: str, where: str) -> Payload:
    value = data.get(key)
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where}: `{key}` is not an object")
    return value


def _optional_object(data: Payload, key: str, where: str) -> Payload | None:
    value = data.get(key)
    if value is not None and not isinstance(value, dict):
        raise MalformedPayload(f"{where}: `{key}` is not an object")
    return value


def _text(data: Payload, key: str, where: str) -> str:
    """A required, non-empty string."""
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{where}: `{key}` is not a non-empty string")
    return value


def _string(data: Payload, key: str, where: str) -> str:
    """A required string, empty or not."""
    value = data.get(key)
    if not isinstance(value, str):
        raise MalformedPayload(f"{where}: `{key}` is not a string")
    return value


def _optional_str(data: Payload, key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedPayload(f"{where}: `{key}` is {_kind(value)}, not a string")
    return value


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedPayload(f"{where} is not an integer")
    return value


def _url(data: Payload, key: str, where: str) -> str:
    url = _optional_url(data, key, where)
    if url is None:
        raise MalformedPayload(f"{where}: no `{key}`")
    return url


def _optional_url(data: Payload, key: str, where: str) -> str | None:
    """A URL the listeners will post to (a response URL): http(s) with a host."""
    url = _optional_str(data, key, where)
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError as error:  # an invalid IPv6 host, say
        raise MalformedPayload(f"{where}: `{key}` is not a URL") from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MalformedPayload(f"{where}: `{key}` is not an http(s) URL")
    return url


def _kind(value: Any) -> str:
    """A decoded JSON value's kind, as JSON names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _shown(value: Any, limit: int = 40) -> str:
    """A value in a log line: its repr, cut."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
