"""manifest.yml: valid against Slack's manifest schema, and honest about what the code uses."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from slack_sdk.web.async_client import AsyncWebClient

import adapters.slack
from adapters.slack.names import BOT_EVENTS, BOT_SCOPES, COMMAND
from tests.fakes.slack_api import METHOD_SCOPES

# Copied from the shared schemas; tests/schemas/README.md names the source.
SCHEMA = Path(__file__).resolve().parent / "schemas" / "slack-manifest.schema.json"
# Web client helpers that call several API methods.
COMPOSITE = {"files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
# Scopes needed for something other than a Web API call the code makes.
EVENT_SCOPES = {"message.im": "im:history"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(Path("manifest.yml").read_text())
    return loaded


def called_methods() -> set[str]:
    """The Web API methods adapters/slack/ calls through a Web client, `web_call` or
    `web_post`."""
    package = Path(adapters.slack.__file__).parent
    trees = [ast.parse(module.read_text()) for module in package.glob("*.py")]
    names = {
        node.func.attr
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in vars(AsyncWebClient)
        and not node.func.attr.startswith("_")
    }
    # web_call(client, "chat.postMessage", ...) and web_post(client, "chat.update", body): a
    # turn's posts, straight through the session.
    methods: set[str] = {
        node.args[1].value
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("web_call", "web_post")
        and len(node.args) > 1
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    }
    for name in names:
        methods.update(COMPOSITE.get(name, (name.replace("_", "."),)))
    return methods


def test_the_manifest_is_valid_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    Draft7Validator.check_schema(schema)

    errors = sorted(Draft7Validator(schema).iter_errors(manifest), key=str)

    assert [e.message for e in errors] == []


def test_the_manifest_declares_the_command_events_interactivity_and_app_home(
    manifest: dict[str, Any],
) -> None:
    features, settings = manifest["features"], manifest["settings"]

    [command] = features["slash_commands"]
    assert command["command"] == COMMAND
    assert command["url"].endswith("/slack/events")
    assert sorted(settings["event_subscriptions"]["bot_events"]) == sorted(BOT_EVENTS)
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": command["url"],
    }
    assert features["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }
    assert manifest["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")


def test_the_code_finds_web_api_calls_to_check() -> None:
    assert {"chat.postMessage", "chat.update", "views.publish"} <= called_methods()


def test_every_web_api_method_the_code_calls_is_covered_by_a_declared_scope(
    manifest: dict[str, Any],
) -> None:
    declared = set(manifest["oauth_config"]["scopes"]["bot"])

    for method in called_methods():
        assert method in METHOD_SCOPES, f"{method}: add its scope to the fake's METHOD_SCOPES"
        needed = METHOD_SCOPES[method]
        assert needed is None or needed in declared, f"{method} needs {needed}"


def test_the_manifest_declares_the_scopes_the_code_uses_and_no_others(
    manifest: dict[str, Any],
) -> None:
    by_calls = {METHOD_SCOPES[m] for m in called_methods()} - {None}
    by_events = {EVENT_SCOPES[e] for e in BOT_EVENTS if e in EVENT_SCOPES}
    # /coffee needs `commands`; posting a report in a public team channel the bot was never
    # invited to needs `chat:write.public` (the door tests show the post refused without it).
    used = by_calls | by_events | {"commands", "chat:write.public"}

    assert set(manifest["oauth_config"]["scopes"]["bot"]) == used == set(BOT_SCOPES)
    assert "user" not in manifest["oauth_config"]["scopes"]
