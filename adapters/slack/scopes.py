"""Which bot scopes and events the code needs, per Web API method; the manifest is built from this."""

from __future__ import annotations

# Every Web API method the adapter calls (through ``SlackApi.call`` or Bolt) -> the bot scopes
# Slack requires for it.  tests/slack/test_manifest.py cross-checks this table against the
# method names that appear in the adapter's source, and the manifest against this table.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),  # Bolt's single-workspace authorize; start-up workspace registration
    "oauth.v2.access": (),  # Bolt's OAuth callback
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "conversations.open": ("im:write", "mpim:write"),  # one user: im:write; several: mpim:write
    "users.info": ("users:read", "users:read.email"),  # email needs users:read.email
    "users.lookupByEmail": ("users:read.email",),
    "users.list": ("users:read", "users:read.email"),  # emails in the member list need users:read.email
    "views.open": (),
    "views.publish": (),
    "files.getUploadURLExternal": ("files:write",),  # files_upload_v2, step 1
    "files.completeUploadExternal": ("files:write",),  # files_upload_v2, step 2
}

# Bot events we subscribe to -> scopes they need.
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "app_uninstalled": (),
    "message.im": ("im:history",),
    "tokens_revoked": (),
    "user_change": ("users:read",),
}

FEATURE_SCOPES: tuple[str, ...] = ("commands",)  # the /momentum slash command

BOT_EVENTS: tuple[str, ...] = tuple(sorted(EVENT_SCOPES))
BOT_SCOPES: tuple[str, ...] = tuple(
    sorted(
        {s for v in METHOD_SCOPES.values() for s in v}
        | {s for v in EVENT_SCOPES.values() for s in v}
        | set(FEATURE_SCOPES)
    )
)
