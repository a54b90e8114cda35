"""Structured (JSON) logging with secrets redacted as defence in depth."""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger import json as jsonlogger

# Slack tokens, bearer tokens and JWTs: never in logs, even if a library prints them.
_SECRET = re.compile(
    r"(xox[abposre]-[A-Za-z0-9.-]+"  # Slack bot, user, app-level and refresh tokens
    r"|xoxe\.xox[a-z]-[A-Za-z0-9.-]+"  # Slack rotating-token refresh tokens (xoxe.xoxp-...)
    r"|xapp-[A-Za-z0-9-]+"
    r"|Bearer\s+[A-Za-z0-9._~+/=-]+"
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"  # JWTs
    r"|(?<=[\"'\s(,{])(?:client_secret|refresh_token|access_token|bot_token|user_token|password|passphrase"
    r"|secret_key|signing_secret)[\"']?\s*[:=]\s*[\"']?[^\"'\s,&)}]+)",  # key=value / "key": "value"
    re.IGNORECASE,
)


class Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _SECRET.sub("[redacted]", record.msg)
        if record.args:
            record.args = tuple(_SECRET.sub("[redacted]", a) if isinstance(a, str) else a
                                for a in (record.args if isinstance(record.args, tuple) else (record.args,)))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _SECRET.sub("[redacted]", record.exc_text)
        return True


class QuietExpected(logging.Filter):
    """Drops library warnings that say only what Momentum means to happen:

    - APScheduler's "Execution of job ... skipped: maximum number of running instances reached": each job
      runs one at a time (``max_instances=1``, ``coalesce``), so a tick that finds the last run still going
      (a long planning run, delivery waiting out an outage) is skipped by design, up to once per interval;
    - Bolt's "`token` will be unused" / "will be ignored": Momentum hands Bolt its own client or an
      installation store on purpose, and Bolt says so at every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        if record.name.startswith("apscheduler"):
            return "maximum number of running instances reached" not in msg
        if record.name.startswith("slack_bolt"):
            return not ("`token`" in msg and ("will be unused" in msg or "will be ignored" in msg))
        return True


def configure(level: str = "INFO", *, json_format: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_format:
        handler.setFormatter(jsonlogger.JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                                      rename_fields={"levelname": "level", "asctime": "time"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(QuietExpected())
    handler.addFilter(Redact())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel("WARNING")
    logging.getLogger("alembic").setLevel("WARNING")
    quiet_libraries()


# Chat libraries log whole request and response bodies (people's notes, wins, agendas) at DEBUG,
# and Bolt logs the body of a request whose signature fails at INFO. Their logs stay at WARNING
# whatever LOG_LEVEL says, so "private words are never logged" holds at every level.
BODY_LOGGERS = ("slack_bolt", "slack_sdk", "slack", "botbuilder", "botframework", "msrest", "msal",
                "microsoft_agents", "aiohttp.access", "aiohttp.client", "aiohttp.server", "aiohttp.web",
                "urllib3", "httpx", "httpcore", "sqlalchemy.engine")


def quiet_libraries() -> None:
    for name in BODY_LOGGERS:
        logging.getLogger(name).setLevel("WARNING")
    # The Agents SDK logs each failed connector call at ERROR, retried 429s included; adapters/teams
    # logs what matters (status, Teams' code, attempts) itself. Malformed input: we answer 400.
    logging.getLogger("microsoft_agents.hosting.core.connector").setLevel("CRITICAL")
    logging.getLogger("microsoft_agents.activity").setLevel("CRITICAL")
