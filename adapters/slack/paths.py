"""The HTTP paths Slack calls (shared by the routes and the manifest)."""

EVENTS_PATH = "/slack/events"  # Events API, the slash command and interactivity
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
