"""The Teams app package: manifest.json (schema 1.29), the two icons (drawn with Pillow) and the zip.

Upload the zip in Teams (Apps > Manage your apps > Upload an app) or the Teams admin center.
Packaging needs the bot's app id only (``TeamsPackageSettings``), never its credential.
"""

from __future__ import annotations

import json
import logging
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from PIL import Image, ImageDraw

from adapters.teams.settings import TeamsPackageSettings
from adapters.teams.words import t
from bot.chat.catalog import COMMANDS, CommandSpec

_LOGGER = logging.getLogger(__name__)

MANIFEST_VERSION = "1.29"
MANIFEST_SCHEMA = "https://developer.microsoft.com/en-us/json-schemas/teams/v1.29/MicrosoftTeams.schema.json"
APP_VERSION = "1.0.0"
ACCENT = "#2E6F5E"
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
# A placeholder bot id for local packages (no MICROSOFT_APP_ID); Teams rejects it on upload.
DEV_BOT_ID = "00000000-0000-0000-0000-000000000000"
# Teams shows at most 10 commands per command list (the 1.29 schema allows 12, the client shows 10).
MAX_COMMANDS = 10
# Personal chat is where everyone lives: the weekly loop (check in, log contact, share a win) and
# the controls people look for when a tool gets noisy (snooze, pause, time, stop).  Goal and
# my-data are one "help" away.
PERSONAL_COMMANDS = ("help", "me", "checkin", "log", "win", "snooze", "time", "pause", "resume", "stop")
# In a team the roster is at hand, so the team list is the admin's set-up and health kit; answers
# go to the admin's 1:1 chat so nothing private lands in the channel.
TEAM_COMMANDS = (
    "help",
    "program",
    "pair",
    "unpair",
    "end-pair",
    "pause-pair",
    "report",
    "export",
    "import",
    "admin",
)


def _command(spec: CommandSpec) -> dict[str, str]:
    return {"title": spec.name, "description": f"{spec.help} - {spec.usage}"[:4000]}


def command_list(names: tuple[str, ...]) -> list[dict[str, str]]:
    by_name = dict(COMMANDS)
    return [_command(by_name[n]) for n in names if n in by_name][:MAX_COMMANDS]


def build_manifest(settings: TeamsPackageSettings, base_url: str | None = None) -> dict[str, Any]:
    bot_id = settings.app_id or DEV_BOT_ID
    app_id = settings.manifest_id or (
        settings.app_id if _is_guid(settings.app_id) else str(uuid.uuid5(uuid.NAMESPACE_URL, f"momentum:{bot_id}"))
    )
    manifest: dict[str, Any] = {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": APP_VERSION,
        "id": app_id,
        "developer": {
            "name": settings.developer_name[:32],
            "websiteUrl": settings.website_url,
            "privacyUrl": settings.privacy_url,
            "termsOfUseUrl": settings.terms_url,
        },
        "name": {
            "short": settings.app_name[:30],
            "full": t("package.full_name", app=settings.app_name)[:100],
        },
        "description": {
            "short": t("package.short")[:80],
            "full": t("package.full"),
        },
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": bot_id,
                "scopes": ["personal", "team"],
                "isNotificationOnly": False,
                "supportsFiles": False,
                "supportsCalling": False,
                "supportsVideo": False,
                "commandLists": [
                    {"scopes": ["personal"], "commands": command_list(PERSONAL_COMMANDS)},
                    {"scopes": ["team"], "commands": command_list(TEAM_COMMANDS)},
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }
    if base_url:
        host = urlparse(base_url).hostname
        if host:
            manifest["validDomains"] = [host]
    return manifest


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def draw_color_icon(path: Path) -> None:
    """192x192 full-colour icon: a rising arrow of three steps on the accent colour."""
    img = Image.new("RGBA", (192, 192), ACCENT)
    d = ImageDraw.Draw(img)
    for i, h in enumerate((48, 80, 112)):
        x0 = 36 + i * 42
        d.rounded_rectangle((x0, 150 - h, x0 + 30, 150), radius=6, fill="#FFFFFF")
    d.line((40, 70, 96, 42, 150, 28), fill="#FFD166", width=8)
    img.save(path, "PNG")


def draw_outline_icon(path: Path) -> None:
    """32x32 outline icon: white on a transparent background, as Teams requires."""
    img = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    for i, h in enumerate((8, 13, 18)):
        x0 = 6 + i * 7
        d.rectangle((x0, 26 - h, x0 + 4, 26), outline=(255, 255, 255, 255), width=1)
    img.save(path, "PNG")


def write_package(out_dir: Path, settings: TeamsPackageSettings, base_url: str | None = None) -> Path:
    """Write manifest.json, color.png, outline.png and the zip to upload to Teams; return the zip path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = build_manifest(settings, base_url)
    if settings.dev_mode:
        _LOGGER.warning("teams package written without MICROSOFT_APP_ID: bot id is a placeholder")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    draw_color_icon(out_dir / COLOR_ICON)
    draw_outline_icon(out_dir / OUTLINE_ICON)
    zip_path = out_dir / f"{settings.app_name.lower().replace(' ', '-')}-teams.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        # Teams wants the three files at the root of the zip, not in a folder.
        for name in ("manifest.json", COLOR_ICON, OUTLINE_ICON):
            zf.write(out_dir / name, arcname=name)
    return zip_path
