"""Momentum's edges: Slack, Teams, the console, the web server and the CLI (the composition root)."""
