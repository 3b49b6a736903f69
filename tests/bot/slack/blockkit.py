"""What Slack would reject in a Block Kit payload, as a list of readable problems.

Used by every Slack test and by the fake Slack Web API (chat.postMessage, chat.update,
views.*): an empty list means the payload passes. Two layers:

1. slack_sdk's own models: every block goes through `Block.parse(...).validate_json()` and a
   view through `View(**view).validate_json()`. Their `to_dict()` must give back exactly what
   was sent, which catches attributes slack_sdk does not know (a typo) or silently converts
   (a number where Slack wants a string).
2. The limits slack_sdk leaves out: 50 blocks per message and 100 per view, unique block ids,
   the text object rules (never empty), header text in plain_text, number inputs with string
   values inside their own bounds, a select's options (in groups or not, 100 at most) with
   its initial option among them, an external select's query length, the
   cumulative text of a message (Slack answers `msg_blocks_too_long` near 12,000 characters,
   slackapi/bolt-js#2509), modal title/submit/close of 24 characters, private_metadata of 3000.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 12_000
ID_LIMIT = 255
KNOWN_BLOCKS = {"section", "divider", "image", "actions", "context", "input", "header",
                "rich_text", "file", "video", "markdown"}  # fmt: skip
TEXT_TYPES = {"plain_text", "mrkdwn"}


def _walk(value: object, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict inside `value` with its path."""
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def _differences(sent: object, parsed: object, path: str) -> list[str]:
    """Where slack_sdk's reading of a payload differs from the payload itself."""
    if isinstance(sent, dict) and isinstance(parsed, dict):
        out = [f"{path}.{k}: unknown to slack_sdk (dropped)" for k in sent if k not in parsed]
        out += [f"{path}.{k}: added by slack_sdk" for k in parsed if k not in sent]
        for key in sent.keys() & parsed.keys():
            out += _differences(sent[key], parsed[key], f"{path}.{key}")
        return out
    if isinstance(sent, list) and isinstance(parsed, list) and len(sent) == len(parsed):
        return [p for i, (a, b) in enumerate(zip(sent, parsed, strict=True))
                for p in _differences(a, b, f"{path}[{i}]")]  # fmt: skip
    if sent != parsed or type(sent) is not type(parsed):
        return [f"{path}: sent {sent!r}, slack_sdk reads {parsed!r}"]
    return []


def text_size(value: object) -> int:
    if isinstance(value, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else text_size(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return sum(text_size(v) for v in value)
    return 0


def _text_problems(
    obj: Mapping[str, Any], where: str, limit: int, *, plain: bool = False
) -> list[str]:
    if not isinstance(obj, Mapping):
        return [f"{where}: not a text object"]
    problems = []
    if obj.get("type") not in ({"plain_text"} if plain else TEXT_TYPES):
        problems.append(f"{where}: text type {obj.get('type')!r} not allowed here")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: text must be a non-empty string")
    elif len(text) > limit:
        problems.append(f"{where}: text has {len(text)} characters, at most {limit}")
    return problems


def _number(raw: object, decimal: bool) -> Decimal | None:
    if not isinstance(raw, str):
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if not value.is_finite() or "e" in raw.lower():
        return None
    return value if decimal or value == value.to_integral() else None


def _option_problems(option: Any, where: str) -> list[str]:
    if not isinstance(option, Mapping):
        return [f"{where}: not an option object"]
    problems = _text_problems(option.get("text", {}), f"{where}.text", 75, plain=True)
    if not isinstance(option.get("value"), str) or not 1 <= len(option["value"]) <= 150:
        problems.append(f"{where}.value: 1 to 150 characters")
    return problems


def _menu_options(menu: Mapping[str, Any]) -> list[Any]:
    """Every option of a menu, in its groups or not."""
    if "option_groups" in menu:
        groups = menu["option_groups"] if isinstance(menu["option_groups"], list) else []
        return [o for g in groups if isinstance(g, Mapping) for o in g.get("options") or []]
    return list(menu.get("options") or [])


def menu_problems(menu: Mapping[str, Any], where: str, *, least: int = 1) -> list[str]:
    """A static select's options, or an answer to a block_suggestion: `options` or
    `option_groups` (not both), at most 100 groups of at most 100 options, and at most 100
    options in all (how the Block Kit reference reads; the stricter reading is the safe one),
    each option valid and every value used once."""
    problems: list[str] = []
    if ("options" in menu) == ("option_groups" in menu):
        return [f"{where}: `options` or `option_groups`, exactly one of them"]
    if "option_groups" in menu:
        groups = menu["option_groups"]
        if not isinstance(groups, list) or not least <= len(groups) <= 100:
            problems.append(f"{where}.option_groups: {least} to 100 groups")
            groups = []
        for i, group in enumerate(groups):
            at = f"{where}.option_groups[{i}]"
            if not isinstance(group, Mapping):
                problems.append(f"{at}: not an option group")
                continue
            problems += _text_problems(group.get("label", {}), f"{at}.label", 75, plain=True)
            if not 1 <= len(group.get("options") or []) <= 100:
                problems.append(f"{at}.options: 1 to 100 options")
    options = _menu_options(menu)
    if not least <= len(options) <= 100:
        problems.append(f"{where}.options: {least} to 100 options, not {len(options)}")
    for i, option in enumerate(options):
        problems += _option_problems(option, f"{where}.options[{i}]")
    values = [o.get("value") for o in options if isinstance(o, Mapping)]
    if len(set(map(str, values))) != len(values):
        problems.append(f"{where}.options: duplicate values")
    return problems


def _element_problems(element: Mapping[str, Any], where: str) -> list[str]:
    kind = element.get("type")
    problems: list[str] = []
    if kind == "button":
        problems += _text_problems(element.get("text", {}), f"{where}.text", 75, plain=True)
        if "value" in element and not (isinstance(element["value"], str)
                                       and 1 <= len(element["value"]) <= 2000):  # fmt: skip
            problems.append(f"{where}.value: 1 to 2000 characters (leave it out when empty)")
    elif kind == "number_input":
        decimal = element.get("is_decimal_allowed")
        if not isinstance(decimal, bool):
            problems.append(f"{where}.is_decimal_allowed: required, a boolean")
        values = {}
        for key in ("min_value", "max_value", "initial_value"):
            if key in element:
                values[key] = _number(element[key], bool(decimal))
                if values[key] is None:
                    problems.append(f"{where}.{key}: {element[key]!r} is not a number string"
                                    + ("" if decimal else " without decimals"))  # fmt: skip
        lo, hi, initial = (values.get(k) for k in ("min_value", "max_value", "initial_value"))
        if lo is not None and hi is not None and lo > hi:
            problems.append(f"{where}: min_value above max_value")
        if initial is not None and (
            (lo is not None and initial < lo) or (hi is not None and initial > hi)
        ):
            problems.append(f"{where}.initial_value: outside min_value..max_value")
    elif kind == "plain_text_input":
        limit = element.get("max_length", 3000)
        if not isinstance(limit, int) or not 1 <= limit <= 3000:
            problems.append(f"{where}.max_length: 1 to 3000")
            limit = 3000
        initial = element.get("initial_value")
        if initial is not None and (not isinstance(initial, str) or len(initial) > limit):
            problems.append(f"{where}.initial_value: a string of at most max_length characters")
    elif kind == "static_select":
        problems += menu_problems(element, where)
        options = _menu_options(element)
        if "initial_option" in element and element["initial_option"] not in options:
            problems.append(f"{where}.initial_option: not one of the options")
    elif kind == "external_select":
        least = element.get("min_query_length", 3)
        if isinstance(least, bool) or not isinstance(least, int) or least < 0:
            problems.append(f"{where}.min_query_length: a whole number, 0 or more")
        if "options" in element or "option_groups" in element:
            problems.append(f"{where}: an external select's options come from the app")
        if "initial_option" in element:
            problems += _option_problems(element["initial_option"], f"{where}.initial_option")
    if "placeholder" in element:
        problems += _text_problems(element["placeholder"], f"{where}.placeholder", 150, plain=True)
    return problems


def _layout_problems(block: Mapping[str, Any], where: str) -> list[str]:
    kind = block["type"]
    problems: list[str] = []
    if kind == "header":
        problems += _text_problems(block.get("text", {}), f"{where}.text", 150, plain=True)
    elif kind == "section":
        if "text" in block:
            problems += _text_problems(block["text"], f"{where}.text", 3000)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                problems.append(f"{where}.fields: 1 to 10 fields")
            for i, f in enumerate(fields or []):
                problems += _text_problems(f, f"{where}.fields[{i}]", 2000)
        if "text" not in block and "fields" not in block:
            problems.append(f"{where}: a section needs text or fields")
    elif kind == "context":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 10:
            problems.append(f"{where}.elements: 1 to 10 elements")
        for i, e in enumerate(elements):
            if e.get("type") in TEXT_TYPES:
                problems += _text_problems(e, f"{where}.elements[{i}]", 3000)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 25:
            problems.append(f"{where}.elements: 1 to 25 elements")
        for i, e in enumerate(elements):
            problems += _element_problems(e, f"{where}.elements[{i}]")
    elif kind == "input":
        problems += _text_problems(block.get("label", {}), f"{where}.label", 2000, plain=True)
        if "hint" in block:
            problems += _text_problems(block["hint"], f"{where}.hint", 2000, plain=True)
        if "optional" in block and not isinstance(block["optional"], bool):
            problems.append(f"{where}.optional: a boolean")
        if not isinstance(block.get("element"), Mapping):
            problems.append(f"{where}.element: required")
        else:
            problems += _element_problems(block["element"], f"{where}.element")
    return problems


def _id_problems(block: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    action_ids = []
    for path, obj in _walk(block, where):
        if "action_id" in obj:
            action_id = obj["action_id"]
            if not isinstance(action_id, str) or not 1 <= len(action_id) <= ID_LIMIT:
                problems.append(f"{path}.action_id: 1 to {ID_LIMIT} characters")
            action_ids.append(action_id)
    if len(set(map(str, action_ids))) != len(action_ids):
        problems.append(f"{where}: action_ids repeat within the block")
    return problems


def block_problems(
    blocks: list[dict[str, Any]],
    *,
    max_blocks: int = MESSAGE_BLOCKS,
    max_text: int | None = MESSAGE_TEXT,
) -> list[str]:
    """Everything Slack would reject in a message's `blocks` (the defaults are a message's
    limits; views pass their own)."""
    if not isinstance(blocks, list):
        return [f"blocks must be a list, not {type(blocks).__name__}"]
    problems = []
    if not blocks:
        problems.append("no blocks")
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks, at most {max_blocks}")
    seen: set[str] = set()
    for i, raw in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(raw, dict) or raw.get("type") not in KNOWN_BLOCKS:
            kind = raw.get("type") if isinstance(raw, dict) else raw
            problems.append(f"{where}: unknown block {kind!r}")
            continue
        where = f"blocks[{i}]({raw['type']})"
        block_id = raw.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 1 <= len(block_id) <= ID_LIMIT:
                problems.append(f"{where}.block_id: 1 to {ID_LIMIT} characters")
            elif block_id in seen:
                problems.append(f"{where}.block_id {block_id!r} is used twice")
            seen.add(str(block_id))
        try:
            parsed = Block.parse(raw)
            if parsed is None:
                raise TypeError("not a block")
            parsed.validate_json()
            # to_dict() validates the nested elements too, which validate_json() does not
            problems += _differences(raw, parsed.to_dict(), where)
        except SlackObjectFormationError as error:
            problems.append(f"{where}: {error}")
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            problems.append(f"{where}: slack_sdk cannot read it ({error!r})")
        problems += _layout_problems(raw, where)
        problems += _id_problems(raw, where)
    if max_text is not None and text_size(blocks) > max_text:
        problems.append(f"{text_size(blocks)} characters of text, Slack allows about {max_text}")
    return problems


def view_problems(view: dict[str, Any]) -> list[str]:
    """Everything Slack would reject in a modal or Home tab view (views.open/push/update,
    views.publish, response_action update/push)."""
    if not isinstance(view, dict):
        return [f"a view must be an object, not {type(view).__name__}"]
    problems = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append(f"type {kind!r}: modal or home")
    blocks = view.get("blocks")
    problems += block_problems(blocks, max_blocks=VIEW_BLOCKS, max_text=None)  # type: ignore[arg-type]
    try:
        parsed = View(**view)
        parsed.validate_json()
        read = {k: v for k, v in parsed.to_dict().items() if k != "blocks"}
        problems += _differences({k: v for k, v in view.items() if k != "blocks"}, read, "view")
    except SlackObjectFormationError as error:
        problems.append(f"view: {error}")
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        problems.append(f"view: slack_sdk cannot read it ({error!r})")
    for key in ("title", "submit", "close"):
        if key in view:
            problems += _text_problems(view[key], f"view.{key}", 24, plain=True)
    if kind == "modal":
        if "title" not in view:
            problems.append("view.title: a modal needs a title")
        has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks or [])
        if has_inputs and "submit" not in view:
            problems.append("view.submit: a modal with inputs needs a submit button")
    if kind == "home":
        problems += [f"view.{k}: not allowed in a Home tab" for k in ("title", "submit", "close")
                     if k in view]  # fmt: skip
    metadata = view.get("private_metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) > 3000):
        problems.append("view.private_metadata: a string of at most 3000 characters")
    for key in ("callback_id", "external_id"):
        if key in view and (not isinstance(view[key], str) or len(view[key]) > ID_LIMIT):
            problems.append(f"view.{key}: at most {ID_LIMIT} characters")
    try:
        json.dumps(view)
    except (TypeError, ValueError) as error:
        problems.append(f"view: not JSON ({error})")
    return problems


def message_problems(payload: Mapping[str, Any]) -> list[str]:
    """Everything Slack would reject in a chat.postMessage / chat.update / chat.postEphemeral
    call: a channel, a `text` or `blocks` (blocks may come JSON-encoded, as in a form post),
    text within 40,000 characters, and valid blocks."""
    problems = []
    if not payload.get("channel"):
        problems.append("channel: required")
    blocks = payload.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError as error:
            return [*problems, f"blocks: not JSON ({error})"]
    text = payload.get("text")
    if text is not None and not isinstance(text, str):
        problems.append("text: a string")
    elif text and len(text) > 40_000:
        problems.append(f"text has {len(text)} characters, at most 40000")
    if not text and not blocks:
        problems.append("text or blocks: one is required (no_text)")
    if blocks is not None:
        problems += block_problems(blocks)
    return problems
