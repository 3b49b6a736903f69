"""The Teams app package: manifest.json and the two icons, zipped for upload to Teams.

The sources live in manifests/teams/ (shipped as package data: bot/resources) with a
placeholder id; `teams_manifest` fills in the Microsoft App ID of an installation's bot
registration.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.resources import resource

SOURCES = resource("manifests", "teams")
ICONS = ("color.png", "outline.png")
PACKAGE_NAME = "drumbeat-teams.zip"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_VERSION = re.compile(r"^\d{1,9}\.\d{1,9}\.\d{1,9}$")  # what Teams accepts: three numbers


def _source_manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SOURCES / "manifest.json").read_text(encoding="utf-8"))
    return loaded


def teams_manifest(
    app_id: str,
    *,
    version: str | None = None,
    bot_id: str | None = None,
    domains: Sequence[str] = (),
) -> dict[str, Any]:
    """The manifest for the bot registered as `app_id` (the Microsoft App ID, a GUID).

    `bot_id` defaults to `app_id` (one registration for app and bot); `version` replaces the
    source's app version (Teams wants a higher one for every update); `domains` become
    `validDomains`, e.g. the host the bot is served from.
    """
    for label, value in (("app id", app_id), ("bot id", bot_id or app_id)):
        if not _GUID.match(value):
            raise ValueError(
                f"The Teams {label} must be a GUID like 1b4f3a6e-0d5c-4c1e-9a57-2f8e6b7d9c10 "
                f"(the Microsoft App ID of the bot's Azure registration), not {value!r}."
            )
    if version is not None and not _VERSION.match(version):
        raise ValueError(f"A Teams app version is three numbers like 1.4.2, not {version!r}.")
    manifest = _source_manifest()
    manifest["id"] = app_id
    manifest["bots"][0]["botId"] = bot_id or app_id
    if version is not None:
        manifest["version"] = version
    if domains:
        manifest["validDomains"] = list(domains)
    return manifest


def write_package(
    app_id: str,
    out: Path,
    *,
    version: str | None = None,
    bot_id: str | None = None,
    domains: Sequence[str] = (),
) -> Path:
    """Write the app package (a zip with manifest.json and the icons at its root) to `out`,
    or into `out` when it is a directory; returns the zip's path."""
    manifest = teams_manifest(app_id, version=version, bot_id=bot_id, domains=domains)
    path = out / PACKAGE_NAME if out.is_dir() else out
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for icon in ICONS:
            package.write(SOURCES / icon, arcname=icon)
    return path
