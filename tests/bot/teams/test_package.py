"""The Teams app package: the manifest against Microsoft's own schema, the icons as Teams
checks them (size, and an outline of only white and transparent pixels), the zip's layout."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import jsonschema
import pytest

from bot.teams.package import SOURCES, teams_manifest, write_package

REPO = Path(__file__).resolve().parents[3]
SCHEMA_NAME = "MicrosoftTeams.v1.24.schema.json"
# The official schema is kept with the repository's other schemas; the shared copy is where
# the project's schemas came from.
SCHEMA_PLACES = (REPO / "tests" / "schemas" / "teams-manifest",)
APP_ID = "1b4f3a6e-0d5c-4c1e-9a57-2f8e6b7d9c10"
COMMANDS = {"help", "mine", "status", "tree", "checkin", "digest", "subscribe", "snooze"}


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    path = next((p / SCHEMA_NAME for p in SCHEMA_PLACES if (p / SCHEMA_NAME).is_file()), None)
    assert path is not None, f"{SCHEMA_NAME} not found in {[str(p) for p in SCHEMA_PLACES]}"
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)  # draft-04, as its $schema says
    assert cls is jsonschema.Draft4Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(validator: jsonschema.protocols.Validator, manifest: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]


def test_the_manifest_is_valid_against_the_official_v1_24_schema(validator):
    manifest = teams_manifest(APP_ID)
    assert schema_errors(validator, manifest) == []
    assert manifest["$schema"].endswith("/teams/v1.24/MicrosoftTeams.schema.json")
    assert manifest["manifestVersion"] == "1.24"


def test_the_schema_check_catches_a_broken_manifest(validator):
    manifest = teams_manifest(APP_ID)
    manifest["name"]["short"] = "Drumbeat, the OKR check-in bot for everyone"  # over 30
    del manifest["developer"]["privacyUrl"]
    errors = schema_errors(validator, manifest)
    assert len(errors) == 2


def test_the_bot_offers_every_command_in_chats_and_channels():
    (bot,) = teams_manifest(APP_ID)["bots"]
    assert bot["botId"] == APP_ID
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    assert bot["supportsFiles"] is False
    assert bot["isNotificationOnly"] is False
    scopes = [tuple(sorted(c["scopes"])) for c in bot["commandLists"]]
    assert sorted(scopes) == [("groupChat", "team"), ("personal",)]
    for command_list in bot["commandLists"]:
        assert {c["title"] for c in command_list["commands"]} == COMMANDS
        assert all(len(c["description"]) <= 128 for c in command_list["commands"])


def test_the_manifest_takes_the_app_id_a_version_and_domains():
    manifest = teams_manifest(
        APP_ID, version="2.3.4", bot_id=APP_ID.upper(), domains=["drumbeat.example.org"]
    )
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID.upper()
    assert manifest["version"] == "2.3.4"
    assert manifest["validDomains"] == ["drumbeat.example.org"]
    assert manifest["permissions"] == ["identity", "messageTeamMembers"]


@pytest.mark.parametrize(
    "app_id", ["", "drumbeat", "1b4f3a6e0d5c4c1e9a572f8e6b7d9c10", APP_ID + "0"]
)
def test_an_app_id_that_is_not_a_guid_is_refused_clearly(app_id: str):
    with pytest.raises(ValueError, match="must be a GUID"):
        teams_manifest(app_id)


def test_a_version_teams_would_refuse_is_refused():
    with pytest.raises(ValueError, match="three numbers"):
        teams_manifest(APP_ID, version="1.0")


# ---- the icons ------------------------------------------------------------------------------


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        at += 12 + length
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1][0] == b"IEND"
    return chunks


def png_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png_chunks(data)[0][1][:8])
    return width, height


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def png_pixels(data: bytes) -> list[list[tuple[int, ...]]]:
    """RGBA pixels of a non-interlaced 8-bit PNG of any colour type but palette, every filter."""
    chunks = png_chunks(data)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    assert depth == 8, "only 8-bit PNGs are decoded here"
    assert interlace == 0, "only non-interlaced PNGs are decoded here"
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels
    rows, previous, at = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            predictor = (0, left, up, (left + up) // 2, paeth(left, up, up_left))[kind]
            line[i] = (line[i] + predictor) % 256
        rows.append(line)
        previous = line
    grey = {1: lambda p: (p[0], p[0], p[0], 255), 2: lambda p: (p[0], p[0], p[0], p[1]),
            3: lambda p: (*p, 255), 4: tuple}[channels]  # fmt: skip
    return [
        [grey(tuple(row[x * channels : (x + 1) * channels])) for x in range(width)] for row in rows
    ]


def test_the_icons_have_the_sizes_teams_requires():
    assert png_size((SOURCES / "color.png").read_bytes()) == (192, 192)
    assert png_size((SOURCES / "outline.png").read_bytes()) == (32, 32)


def test_the_outline_icon_is_white_on_transparent():
    pixels = [p for row in png_pixels((SOURCES / "outline.png").read_bytes()) for p in row]
    assert all(p[:3] == (255, 255, 255) or p[3] == 0 for p in pixels)
    assert sum(p[3] == 0 for p in pixels) > len(pixels) // 3  # a transparent background
    assert sum(p[3] == 255 for p in pixels) > len(pixels) // 10  # and a visible mark
    corners = [pixels[0], pixels[31], pixels[-32], pixels[-1]]
    assert all(p[3] == 0 for p in corners)


def test_the_colour_icon_is_a_mark_on_a_solid_background():
    rows = png_pixels((SOURCES / "color.png").read_bytes())
    background = rows[0][0]
    assert background[3] == 255
    assert all(row[0] == background and row[-1] == background for row in rows)  # full bleed
    colours = {p for row in rows for p in row}
    assert (255, 255, 255, 255) in colours  # the white mark


def test_the_decoder_sees_a_coloured_pixel_in_an_outline():
    """The outline check must be able to fail: a red pixel in a copy of the icon is found."""
    data = (SOURCES / "outline.png").read_bytes()
    width = height = 32
    rows = png_pixels(data)
    rows[16][16] = (255, 0, 0, 255)
    raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    tampered = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
    tampered += chunk(b"IEND", b"")
    pixels = [p for row in png_pixels(tampered) for p in row]
    assert [p for p in pixels if p[:3] != (255, 255, 255) and p[3]] == [(255, 0, 0, 255)]


# ---- the package ----------------------------------------------------------------------------


def test_the_package_holds_exactly_the_manifest_and_icons_at_its_root(tmp_path: Path, validator):
    path = write_package(APP_ID, tmp_path / "app.zip", version="1.2.3")
    assert path == tmp_path / "app.zip"
    with zipfile.ZipFile(path) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert package.read("outline.png") == (SOURCES / "outline.png").read_bytes()
        assert package.read("color.png") == (SOURCES / "color.png").read_bytes()
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["version"] == "1.2.3"
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert schema_errors(validator, manifest) == []


def test_the_package_goes_into_a_directory_under_its_own_name(tmp_path: Path):
    path = write_package(APP_ID, tmp_path)
    assert path.parent == tmp_path
    assert zipfile.is_zipfile(path)
