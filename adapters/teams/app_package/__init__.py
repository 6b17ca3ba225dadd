"""The Teams app package: the manifest (schema 1.17) and two icons, zipped for sideloading.

`coffee-coach teams-package --app-id ID` writes the zip; the module imports no botbuilder.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.errors import CliError

HERE = Path(__file__).parent
TEMPLATE = HERE / "manifest.template.json"
ICONS = ("color.png", "outline.png")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
# A fixed timestamp makes the zip depend on its contents only.
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """What the manifest says about this deployment (the names are the template's fields)."""

    app_id: str
    version: str
    developer: str = "Coffee Coach"
    website_url: str = "https://example.com/coffee-coach"
    privacy_url: str = "https://example.com/coffee-coach/privacy"
    terms_url: str = "https://example.com/coffee-coach/terms"


def default_version() -> str:
    """The installed distribution's version, when it is plain x.y.z as Teams requires."""
    try:
        version = metadata.version("coffee-coach")
    except metadata.PackageNotFoundError:
        return "1.0.0"
    return version if _SEMVER.match(version) else "1.0.0"


def manifest(info: PackageInfo) -> dict[str, Any]:
    """The manifest, filled in: each `${field}` of the template, JSON-escaped."""
    values = {k: json.dumps(v)[1:-1] for k, v in asdict(info).items()}
    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], TEMPLATE.read_text("utf-8"))
    filled: dict[str, Any] = json.loads(text)
    return filled


def write_package(path: Path, info: PackageInfo) -> Path:
    """Write the zip with manifest.json and the two icons at its root, as Teams expects."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        files = {"manifest.json": json.dumps(manifest(info), indent=2).encode()}
        files |= {name: (HERE / name).read_bytes() for name in ICONS}
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    return path


def cmd_teams_package(args: argparse.Namespace) -> int:
    """`coffee-coach teams-package`: its parser is declared in bot/subcommands.py."""
    if not _GUID.match(args.app_id):
        raise CliError(
            f"{args.app_id!r} is not a Microsoft app id (a GUID such as"
            " 00000000-0000-0000-0000-000000000000): copy it from the bot's Azure registration."
        )
    version = args.version or default_version()
    if not _SEMVER.match(version):
        raise CliError(f"Version {version!r} is not x.y.z, as Teams requires.")
    urls = {name: getattr(args, name) for name in ("website_url", "privacy_url", "terms_url")}
    for url in filter(None, urls.values()):
        if not url.startswith("https://"):
            raise CliError(f"{url!r}: Teams wants an https:// URL.")
    if args.developer and len(args.developer) > 32:
        raise CliError("Teams shows at most 32 characters of the developer's name.")
    given = {"developer": args.developer, **urls}
    info = PackageInfo(
        app_id=args.app_id,
        version=version,
        **{name: value for name, value in given.items() if value is not None},
    )
    path = write_package(Path(args.output), info)
    print(
        f"Wrote {path}. In Teams: Apps > Manage your apps > Upload an app > Upload a custom app;"
        " docs/teams.md walks through it.",
        file=sys.stderr,
    )
    return 0
