"""The Slack app manifest validates against Slack's official JSON schema (slackapi/manifest-schema)
in HTTP mode and in Socket Mode, and carries the deployment's URLs where Slack needs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from bot.slack import manifest as manifest_module
from bot.slack.manifest import (
    EVENTS_PATH,
    MANIFEST_PATH,
    OAUTH_REDIRECT_PATH,
    PLACEHOLDER_URL,
    manifest_json,
    slack_manifest,
)

REPO = Path(__file__).resolve().parents[3]
SCHEMA_DIRS = (REPO / "tests" / "schemas" / "slack-manifest",)
URL = "https://okr.acme.example"
USAGE = (
    "help | mine | status [team|@user] | tree [team] | checkin | digest [team] | "
    "subscribe [team] | snooze | timezone"
)


def schema_dir() -> Path:
    for directory in SCHEMA_DIRS:
        if (directory / "manifest.schema.json").is_file():
            return directory
    pytest.fail(f"Slack's manifest schemas are missing: looked in {SCHEMA_DIRS}")


def load(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((schema_dir() / name).read_text(encoding="utf-8"))
    return schema


def routed_schema_urls() -> dict[int | None, str]:
    """major_version -> the versioned schema the top-level schema sends it to (None: no
    major_version at all)."""
    routes: dict[int | None, str] = {}
    for branch in load("manifest.schema.json")["oneOf"]:
        condition, target = branch["allOf"]
        metadata = condition.get("properties", {}).get("_metadata", {})
        const = metadata.get("properties", {}).get("major_version", {}).get("const")
        routes.setdefault(const, target["$ref"])
    return routes


def top_level_validator() -> Draft7Validator:
    """The top-level schema with its remote `$ref`s served from the local copies."""
    resources = [
        (url, Resource.from_contents(load(url.rsplit("/", 1)[1]), default_specification=DRAFT7))
        for url in set(routed_schema_urls().values())
    ]
    return Draft7Validator(
        load("manifest.schema.json"), registry=Registry().with_resources(resources)
    )


def v1_validator() -> Draft7Validator:
    return Draft7Validator(load("manifest.schema.1.0.0.json"))


def problems(validator: Draft7Validator, manifest: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]


def urls_in(value: object) -> list[str]:
    """Every request URL (`url`, `request_url`, the options URL) anywhere in the manifest."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("url", "request_url", "message_menu_options_url"):
                found.append(item)
            found += urls_in(item)
    elif isinstance(value, list):
        for item in value:
            found += urls_in(item)
    return found


def test_the_manifest_is_version_1_which_slack_validates_with_schema_1_0_0():
    assert slack_manifest()["_metadata"]["major_version"] == 1
    assert routed_schema_urls()[1].endswith("/manifest.schema.1.0.0.json")
    assert routed_schema_urls()[2].endswith("/manifest.schema.2.0.0.json")


@pytest.mark.parametrize(
    ("url", "socket_mode"),
    [(None, False), (None, True), (URL, False), (URL + "/", False), (URL, True)],
)
def test_the_manifest_validates_against_slacks_schema(url: str | None, socket_mode: bool):
    manifest = slack_manifest(url, socket_mode=socket_mode)
    assert problems(v1_validator(), manifest) == []
    assert problems(top_level_validator(), manifest) == []
    assert json.loads(manifest_json(url, socket_mode)) == manifest


def test_http_mode_sends_everything_to_the_events_endpoint():
    manifest = slack_manifest(URL + "/", socket_mode=False)
    # the command, events, interactivity and the options of external selects
    assert urls_in(manifest) == [URL + EVENTS_PATH] * 4
    options_url = manifest["settings"]["interactivity"]["message_menu_options_url"]
    assert options_url == URL + EVENTS_PATH
    assert manifest["oauth_config"]["redirect_urls"] == [URL + OAUTH_REDIRECT_PATH]
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_socket_mode_needs_no_request_urls():
    manifest = slack_manifest(socket_mode=True)
    assert urls_in(manifest) == []
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "redirect_urls" not in manifest["oauth_config"]
    assert manifest["settings"]["event_subscriptions"]["bot_events"]
    with_url = slack_manifest(URL, socket_mode=True)
    assert urls_in(with_url) == []
    assert with_url["oauth_config"]["redirect_urls"] == [URL + OAUTH_REDIRECT_PATH]


def test_the_stored_template_is_what_the_function_prints_with_the_placeholder():
    assert MANIFEST_PATH.read_text(encoding="utf-8") == manifest_json() + "\n"
    assert urls_in(slack_manifest()) == [PLACEHOLDER_URL + EVENTS_PATH] * 4


def test_the_slash_command_events_and_settings():
    manifest = slack_manifest(URL)
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/okr"
    assert command["usage_hint"] == USAGE
    assert command["should_escape"] is True  # "@user" arrives as <@U…|name>
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened", "app_uninstalled", "tokens_revoked"
    }  # fmt: skip
    assert manifest["settings"]["org_deploy_enabled"] is False
    assert manifest["settings"]["token_rotation_enabled"] is False


def test_every_bot_scope_is_justified_in_the_module_documentation():
    scopes = slack_manifest()["oauth_config"]["scopes"]["bot"]
    assert {"chat:write", "commands", "im:write", "im:history", "users:read.email",
            "files:write"} <= set(scopes)  # fmt: skip
    assert "files:read" not in scopes  # charts go up; the bot reads no file
    assert not {"im:read", "mpim:history", "channels:history", "groups:history"} & set(scopes)
    doc = manifest_module.__doc__ or ""
    for scope in scopes:
        assert f"`{scope}`" in doc, scope


@pytest.mark.parametrize("url", ["okr.acme.example", "ftp://okr.acme.example", "https://", ""])
def test_a_url_that_is_not_a_public_base_url_is_refused(url: str):
    with pytest.raises(ValueError, match="base URL"):
        slack_manifest(url or "  ")


@pytest.mark.parametrize(
    "breaks",
    [
        lambda m: m["display_information"].update(name="D" * 36),
        lambda m: m["features"]["slash_commands"][0].update(command="okr"),
        lambda m: m["settings"]["interactivity"].pop("is_enabled"),
        lambda m: m["settings"].update(socket_mode=True),
        lambda m: m["features"]["slash_commands"][0].update(url="drumbeat.example.com/slack"),
        lambda m: m["display_information"].update(long_description="too short"),
        lambda m: m["settings"]["interactivity"].update(message_menu_options_url="/slack"),
    ],
)
def test_the_schema_check_catches_a_broken_manifest(breaks: Any):
    manifest = slack_manifest(URL)
    breaks(manifest)
    assert problems(v1_validator(), manifest) != []
    assert problems(top_level_validator(), manifest) != []
