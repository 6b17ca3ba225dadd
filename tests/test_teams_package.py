"""The Teams app package: a manifest valid at schema 1.17, two icons, one zip to upload."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adapters.teams.app_package import HERE, PackageInfo, icons, manifest, write_package
from bot.cli import main

# Copied from the shared schemas; tests/schemas/README.md names the source.
SCHEMA = Path(__file__).resolve().parent / "schemas" / "teams-manifest.v1.17.schema.json"
APP_ID = "6b1f2a57-3c44-4a0e-9a3e-7d2c1b0f9e11"
INFO = PackageInfo(app_id=APP_ID, version="1.2.3")


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text())
    return loaded


def pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGBA pixels of an 8-bit RGBA PNG with unfiltered rows."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, color = struct.unpack(">IIBB", png[16:26])
    assert (depth, color) == (8, 6)
    data, at = b"", 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        if png[at + 4 : at + 8] == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    raw = zlib.decompress(data)
    stride = 1 + 4 * width
    rows = [raw[y * stride + 1 : (y + 1) * stride] for y in range(height)]
    return width, height, [row[x : x + 4] for row in rows for x in range(0, len(row), 4)]


def test_the_manifest_is_valid_against_the_teams_schema() -> None:
    jsonschema.validate(manifest(INFO), schema())


def test_the_manifest_names_the_bot_in_all_three_scopes_with_command_lists() -> None:
    filled = manifest(INFO)

    assert filled["manifestVersion"] == "1.17"
    assert filled["id"] == APP_ID
    assert filled["version"] == "1.2.3"
    [bot] = filled["bots"]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal", "team", "groupChat"]
    lists = {
        tuple(c["scopes"]): [cmd["title"] for cmd in c["commands"]] for c in bot["commandLists"]
    }
    assert {"start", "help", "status", "report", "pause", "resume", "export", "forget"} <= set(
        lists[("personal",)]
    )
    assert {"report", "start", "help", "status", "team"} <= set(lists[("team", "groupChat")])


def test_values_with_quotes_cannot_break_the_manifest() -> None:
    filled = manifest(PackageInfo(app_id=APP_ID, version="1.0.0", developer='Ann "A" Baker'))

    assert filled["developer"]["name"] == 'Ann "A" Baker'


def test_the_package_is_a_zip_of_the_manifest_and_two_icons_at_its_root(tmp_path: Path) -> None:
    path = write_package(tmp_path / "app.zip", INFO)

    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert json.loads(archive.read("manifest.json")) == manifest(INFO)
        color = pixels(archive.read("color.png"))
        outline = pixels(archive.read("outline.png"))
    assert color[:2] == (192, 192)
    assert {pixel[3] for pixel in color[2]} == {255}
    assert outline[:2] == (32, 32)
    # Teams wants the outline white on transparent: every pixel white, some see-through.
    assert {pixel[:3] for pixel in outline[2]} == {b"\xff\xff\xff"}
    assert {0, 255} <= {pixel[3] for pixel in outline[2]}


def test_the_committed_icons_are_the_ones_the_drawing_code_draws() -> None:
    assert (HERE / "color.png").read_bytes() == icons.color_icon()
    assert (HERE / "outline.png").read_bytes() == icons.outline_icon()


def test_the_cli_writes_the_package(tmp_path: Path) -> None:
    output = tmp_path / "coffee.zip"

    assert main(["teams-package", "--app-id", APP_ID, "--output", str(output)]) == 0

    with zipfile.ZipFile(output) as archive:
        jsonschema.validate(json.loads(archive.read("manifest.json")), schema())


@pytest.mark.parametrize(
    "args",
    [
        ["--app-id", "coffee-coach"],
        ["--app-id", APP_ID, "--version", "1.0"],
        ["--app-id", APP_ID, "--website-url", "http://example.com"],
    ],
    ids=["app-id-not-a-guid", "version-not-semver", "url-not-https"],
)
def test_the_cli_refuses_what_teams_would_refuse(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "coffee.zip"

    assert main(["teams-package", *args, "--output", str(output)]) == 2

    assert not output.exists()
    assert "coffee-coach:" in capsys.readouterr().err
