"""Momentum's platform-neutral conversation core.

Lives here: the journey and its prompt catalogue, the neutral message model,
the command language, planning and delivery, reports and privacy tools.
Must not live here: anything that knows Slack, Teams, HTTP or a CLI framework.
"""
