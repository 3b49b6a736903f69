"""The rules Microsoft Teams applies to the Adaptive Cards a bot sends, as a checker for tests.

Written from the Adaptive Cards schema (https://adaptivecards.io/explorer, versions 1.0-1.5)
and Teams' limits, independently of bot/teams: a card that passes here uses only what a Teams
client can render (card version 1.5 at most, each element and property no newer than the
card's declared version), names every input uniquely, and fits in one message.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

MAX_VERSION = (1, 5)
MAX_ACTIONS = 6  # buttons Teams shows in one actions list (web, desktop); the rest are hidden
MAX_BYTES = 28_000  # Teams' message limit is about 28 KB for the whole activity

# Elements that may appear in a body or a container's items, with the version that added them.
ELEMENTS = {
    "TextBlock": "1.0",
    "Image": "1.0",
    "Media": "1.1",
    "RichTextBlock": "1.2",
    "ActionSet": "1.2",
    "Container": "1.0",
    "ColumnSet": "1.0",
    "FactSet": "1.0",
    "ImageSet": "1.0",
    "Table": "1.5",
    "Input.Text": "1.0",
    "Input.Number": "1.0",
    "Input.Date": "1.0",
    "Input.Time": "1.0",
    "Input.Toggle": "1.0",
    "Input.ChoiceSet": "1.0",
}
ACTIONS = {
    "Action.Submit": "1.0",
    "Action.OpenUrl": "1.0",
    "Action.ShowCard": "1.0",
    "Action.ToggleVisibility": "1.2",
    "Action.Execute": "1.4",
}
INPUTS = {name for name in ELEMENTS if name.startswith("Input.")}

# Properties each type knows, with the version that added them; anything else is a typo.
ELEMENT_COMMON = {
    "type": "1.0",
    "id": "1.0",
    "spacing": "1.0",
    "separator": "1.0",
    "height": "1.1",
    "isVisible": "1.2",
    "requires": "1.2",
    "fallback": "1.2",
}
INPUT_COMMON = {"label": "1.3", "isRequired": "1.3", "errorMessage": "1.3"}
CONTAINER_LIKE = {
    "selectAction": "1.1",
    "style": "1.0",
    "verticalContentAlignment": "1.1",
    "bleed": "1.2",
    "backgroundImage": "1.2",
    "minHeight": "1.2",
    "rtl": "1.5",
}
ACTION_COMMON = {
    "type": "1.0",
    "id": "1.0",
    "title": "1.0",
    "iconUrl": "1.1",
    "style": "1.2",
    "fallback": "1.2",
    "requires": "1.2",
    "tooltip": "1.5",
    "isEnabled": "1.5",
    "mode": "1.5",
}
TEXT_STYLE = {
    "color": "1.0",
    "fontType": "1.2",
    "isSubtle": "1.0",
    "size": "1.0",
    "weight": "1.0",
}
PROPERTIES: Mapping[str, Mapping[str, str]] = {
    "TextBlock": {
        **ELEMENT_COMMON,
        **TEXT_STYLE,
        "text": "1.0",
        "horizontalAlignment": "1.0",
        "maxLines": "1.0",
        "wrap": "1.0",
        "style": "1.5",
    },
    "Image": {
        **ELEMENT_COMMON,
        "url": "1.0",
        "altText": "1.0",
        "backgroundColor": "1.1",
        "horizontalAlignment": "1.0",
        "selectAction": "1.1",
        "size": "1.0",
        "style": "1.0",
        "width": "1.1",
    },
    "Media": {**ELEMENT_COMMON, "sources": "1.1", "poster": "1.1", "altText": "1.1"},
    "RichTextBlock": {**ELEMENT_COMMON, "inlines": "1.2", "horizontalAlignment": "1.2"},
    "TextRun": {
        "type": "1.2",
        **TEXT_STYLE,
        "text": "1.2",
        "highlight": "1.2",
        "italic": "1.2",
        "selectAction": "1.2",
        "strikethrough": "1.2",
        "underline": "1.3",
    },
    "ActionSet": {**ELEMENT_COMMON, "actions": "1.2"},
    "Container": {**ELEMENT_COMMON, **CONTAINER_LIKE, "items": "1.0"},
    "ColumnSet": {
        **ELEMENT_COMMON,
        "columns": "1.0",
        "selectAction": "1.1",
        "style": "1.2",
        "bleed": "1.2",
        "minHeight": "1.2",
        "horizontalAlignment": "1.0",
    },
    "Column": {**ELEMENT_COMMON, **CONTAINER_LIKE, "items": "1.0", "width": "1.0"},
    "FactSet": {**ELEMENT_COMMON, "facts": "1.0"},
    "ImageSet": {**ELEMENT_COMMON, "images": "1.0", "imageSize": "1.0"},
    "Table": {
        **ELEMENT_COMMON,
        "columns": "1.5",
        "rows": "1.5",
        "firstRowAsHeader": "1.5",
        "showGridLines": "1.5",
        "gridStyle": "1.5",
        "horizontalCellContentAlignment": "1.5",
        "verticalCellContentAlignment": "1.5",
    },
    "TableRow": {
        "type": "1.5",
        "cells": "1.5",
        "style": "1.5",
        "horizontalCellContentAlignment": "1.5",
        "verticalCellContentAlignment": "1.5",
    },
    "TableCell": {"type": "1.5", **CONTAINER_LIKE, "items": "1.5"},
    "Input.Text": {
        **ELEMENT_COMMON,
        **INPUT_COMMON,
        "isMultiline": "1.0",
        "maxLength": "1.0",
        "placeholder": "1.0",
        "regex": "1.3",
        "style": "1.0",
        "inlineAction": "1.2",
        "value": "1.0",
    },
    "Input.Number": {
        **ELEMENT_COMMON,
        **INPUT_COMMON,
        "max": "1.0",
        "min": "1.0",
        "placeholder": "1.0",
        "value": "1.0",
    },
    "Input.Date": {
        **ELEMENT_COMMON,
        **INPUT_COMMON,
        "max": "1.0",
        "min": "1.0",
        "placeholder": "1.0",
        "value": "1.0",
    },
    "Input.Time": {
        **ELEMENT_COMMON,
        **INPUT_COMMON,
        "max": "1.0",
        "min": "1.0",
        "placeholder": "1.0",
        "value": "1.0",
    },
    "Input.Toggle": {
        **ELEMENT_COMMON,
        **INPUT_COMMON,
        "title": "1.0",
        "value": "1.0",
        "valueOff": "1.0",
        "valueOn": "1.0",
        "wrap": "1.2",
    },
    "Input.ChoiceSet": {
        **ELEMENT_COMMON,
        **INPUT_COMMON,
        "choices": "1.0",
        "isMultiSelect": "1.0",
        "style": "1.0",
        "value": "1.0",
        "placeholder": "1.0",
        "wrap": "1.2",
    },
    "Action.Submit": {**ACTION_COMMON, "data": "1.0", "associatedInputs": "1.3"},
    "Action.OpenUrl": {**ACTION_COMMON, "url": "1.0"},
    "Action.ShowCard": {**ACTION_COMMON, "card": "1.0"},
    "Action.ToggleVisibility": {**ACTION_COMMON, "targetElements": "1.2"},
    "Action.Execute": {
        **ACTION_COMMON,
        "verb": "1.4",
        "data": "1.4",
        "associatedInputs": "1.4",
    },
    "AdaptiveCard": {
        "type": "1.0",
        "$schema": "1.0",
        "version": "1.0",
        "body": "1.0",
        "actions": "1.0",
        "selectAction": "1.1",
        "fallbackText": "1.0",
        "backgroundImage": "1.0",
        "minHeight": "1.2",
        "rtl": "1.5",
        "speak": "1.0",
        "lang": "1.0",
        "verticalContentAlignment": "1.1",
        "refresh": "1.4",
        "authentication": "1.4",
        "msteams": "1.0",  # Teams' own extension (width, mentions), ignored by other hosts
    },
}
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "TextBlock": ("text",),
    "Image": ("url",),
    "Media": ("sources",),
    "RichTextBlock": ("inlines",),
    "TextRun": ("text",),
    "ActionSet": ("actions",),
    "Container": ("items",),
    "FactSet": ("facts",),
    "ImageSet": ("images",),
    "TableRow": ("cells",),
    "TableCell": ("items",),
    **{name: ("id",) for name in INPUTS},
    "Input.Toggle": ("id", "title"),
    "Input.ChoiceSet": ("id", "choices"),
    # Teams shows an action as a button: one without a title is an empty button.
    **{name: ("title",) for name in ACTIONS},
    # Bots route an Action.Execute by its verb; the Agents Playground refuses one without.
    "Action.Execute": ("title", "verb"),
    "Action.OpenUrl": ("title", "url"),
    "Action.ShowCard": ("title", "card"),
    "Action.ToggleVisibility": ("title", "targetElements"),
}
# Values of enumerated properties, with the version a value needs when newer than its property.
SPACING = {"none", "small", "default", "medium", "large", "extraLarge", "padding"}
ENUMS: Mapping[str, set[str]] = {
    "spacing": SPACING,
    "size": {"default", "small", "medium", "large", "extraLarge", "auto", "stretch"},
    "weight": {"default", "lighter", "bolder"},
    "color": {"default", "dark", "light", "accent", "good", "warning", "attention"},
    "horizontalAlignment": {"left", "center", "right"},
    "fontType": {"default", "monospace"},
}
TYPE_ENUMS: Mapping[tuple[str, str], Mapping[str, str]] = {
    ("Container", "style"): dict.fromkeys(
        ("default", "emphasis", "good", "attention", "warning", "accent"), "1.0"
    ),
    ("Input.ChoiceSet", "style"): {"compact": "1.0", "expanded": "1.0", "filtered": "1.5"},
    ("TextBlock", "style"): {"default": "1.5", "heading": "1.5"},
    **{
        (action, "style"): {"default": "1.2", "positive": "1.2", "destructive": "1.2"}
        for action in ACTIONS
    },
}


def _version(text: object) -> tuple[int, int] | None:
    if not isinstance(text, str):
        return None
    major, _, minor = text.partition(".")
    if not (major.isdigit() and minor.isdigit()):
        return None
    return int(major), int(minor)


class _Checker:
    def __init__(self, version: tuple[int, int]) -> None:
        self.version = version
        self.problems: list[str] = []
        self.ids: dict[str, str] = {}

    def complain(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def needs(self, where: str, what: str, since: str) -> None:
        needed = _version(since)
        assert needed is not None
        if needed > self.version:
            shown = ".".join(map(str, self.version))
            self.complain(where, f"{what} needs version {since}, the card declares {shown}")

    def properties(self, where: str, kind: str, node: Mapping[str, Any]) -> None:
        known = PROPERTIES[kind]
        for name, value in node.items():
            if name not in known:
                self.complain(where, f"unknown property {name!r} on {kind}")
                continue
            self.needs(where, f"{kind}.{name}", known[name])
            allowed = TYPE_ENUMS.get((kind, name))
            if allowed is not None:
                if value not in allowed:
                    self.complain(where, f"{kind}.{name} cannot be {value!r}")
                else:
                    self.needs(where, f"{kind}.{name} {value!r}", allowed[value])
            elif name in ENUMS and value not in ENUMS[name]:
                self.complain(where, f"{kind}.{name} cannot be {value!r}")
        for name in REQUIRED.get(kind, ()):
            value = node.get(name)
            if value is None or value == "" or value == []:
                self.complain(where, f"{kind} needs a non-empty {name!r}")
        identifier = node.get("id")
        if identifier is not None:
            if not isinstance(identifier, str) or not identifier:
                self.complain(where, "an id must be a non-empty string")
            elif identifier in self.ids:
                self.complain(where, f"id {identifier!r} is also used at {self.ids[identifier]}")
            else:
                self.ids[identifier] = where

    def element(self, node: object, where: str, allowed: Mapping[str, str] = ELEMENTS) -> None:
        if not isinstance(node, Mapping):
            self.complain(where, "an element must be an object")
            return
        kind = node.get("type")
        if not isinstance(kind, str) or kind not in allowed:
            self.complain(where, f"unknown element type {kind!r} here")
            return
        self.needs(where, kind, allowed[kind])
        self.properties(where, kind, node)
        self.children(node, kind, where)

    def children(self, node: Mapping[str, Any], kind: str, where: str) -> None:
        for name in ("items",):
            self.elements(node.get(name, []), f"{where}.{name}")
        if kind == "ColumnSet":
            for i, column in enumerate(_list(node.get("columns"))):
                self.element(column, f"{where}.columns[{i}]", {"Column": "1.0"})
        if kind == "RichTextBlock":
            for i, inline in enumerate(_list(node.get("inlines"))):
                if not isinstance(inline, str):
                    self.element(inline, f"{where}.inlines[{i}]", {"TextRun": "1.2"})
        if kind == "Table":
            width = len(_list(node.get("columns")))
            for i, row in enumerate(_list(node.get("rows"))):
                self.element(row, f"{where}.rows[{i}]", {"TableRow": "1.5"})
                if isinstance(row, Mapping) and len(_list(row.get("cells"))) > width:
                    self.complain(f"{where}.rows[{i}]", f"more cells than the {width} columns")
        if kind == "TableRow":
            for i, cell in enumerate(_list(node.get("cells"))):
                self.element(cell, f"{where}.cells[{i}]", {"TableCell": "1.5"})
        if kind == "FactSet":
            for i, fact in enumerate(_list(node.get("facts"))):
                if not (isinstance(fact, Mapping) and fact.get("title") and "value" in fact):
                    self.complain(f"{where}.facts[{i}]", "a fact needs a title and a value")
        if kind == "Input.ChoiceSet":
            for i, choice in enumerate(_list(node.get("choices"))):
                if not (
                    isinstance(choice, Mapping)
                    and isinstance(choice.get("title"), str)
                    and isinstance(choice.get("value"), str)
                ):
                    self.complain(f"{where}.choices[{i}]", "a choice needs a title and a value")
        if kind == "ActionSet":
            self.actions(node.get("actions"), f"{where}.actions")
        for name in ("selectAction",):
            if name in node:
                self.action(node[name], f"{where}.{name}")
        fallback = node.get("fallback")
        if isinstance(fallback, Mapping):
            self.element(fallback, f"{where}.fallback")
        elif fallback not in (None, "drop"):
            self.complain(where, "fallback must be an element or 'drop'")

    def elements(self, nodes: object, where: str) -> None:
        if not isinstance(nodes, list):
            self.complain(where, "must be a list of elements")
            return
        for i, node in enumerate(nodes):
            self.element(node, f"{where}[{i}]")

    def actions(self, nodes: object, where: str) -> None:
        if not isinstance(nodes, list):
            self.complain(where, "must be a list of actions")
            return
        if len(nodes) > MAX_ACTIONS:
            self.complain(where, f"{len(nodes)} buttons: Teams shows the first {MAX_ACTIONS}")
        for i, node in enumerate(nodes):
            self.action(node, f"{where}[{i}]")

    def action(self, node: object, where: str) -> None:
        if not isinstance(node, Mapping):
            self.complain(where, "an action must be an object")
            return
        kind = node.get("type")
        if not isinstance(kind, str) or kind not in ACTIONS:
            self.complain(where, f"unknown action type {kind!r}")
            return
        self.needs(where, kind, ACTIONS[kind])
        self.properties(where, kind, node)
        data = node.get("data")
        if kind in ("Action.Submit", "Action.Execute") and not isinstance(
            data, (Mapping, str, type(None))
        ):
            self.complain(where, "data must be an object (inputs are merged into it)")
        if kind == "Action.ShowCard":
            self.card(node.get("card"), f"{where}.card", nested=True)
        fallback = node.get("fallback")
        if isinstance(fallback, Mapping):  # what a client shows that cannot show this action
            self.action(fallback, f"{where}.fallback")
        elif fallback not in (None, "drop"):
            self.complain(where, "fallback must be an action or 'drop'")

    def card(self, node: object, where: str, *, nested: bool = False) -> None:
        if not isinstance(node, Mapping) or node.get("type") != "AdaptiveCard":
            self.complain(where, "type must be 'AdaptiveCard'")
            return
        self.properties(where, "AdaptiveCard", node)
        self.elements(node.get("body", []), f"{where}.body")
        self.actions(node.get("actions", []), f"{where}.actions")


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _nulls(value: object, where: str) -> list[str]:
    if value is None:
        return [f"{where}: null value"]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{where}: {value} is not JSON"]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _nulls(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nulls(v, f"{where}[{i}]")]
    return []


def card_problems(card: dict[str, Any]) -> list[str]:
    """Everything in `card` that Teams would refuse or render wrongly; empty when it is fine."""
    problems = _nulls(card, "card")
    try:
        size = len(json.dumps(card, ensure_ascii=True, allow_nan=False))
    except (TypeError, ValueError) as error:
        return [*problems, f"card: not JSON ({error})"]
    if size > MAX_BYTES:
        problems.append(f"card: {size} bytes, over Teams' {MAX_BYTES}")
    if not isinstance(card, Mapping) or card.get("type") != "AdaptiveCard":
        return [*problems, "card: type must be 'AdaptiveCard'"]
    version = _version(card.get("version"))
    if version is None:
        return [*problems, f"card: version {card.get('version')!r} is not like '1.4'"]
    if version > MAX_VERSION:
        problems.append(f"card: version {card['version']} is newer than Teams' 1.5")
    checker = _Checker(version)
    checker.card(card, "card")
    return problems + checker.problems
