"""The Slack adapter: Bolt listeners, Block Kit renderer, Web API platform, manifest."""
