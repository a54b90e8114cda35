"""Team rosters, read after the install turn is acknowledged and stored a page at a time.

When Momentum is installed into a team, Teams waits for the HTTP answer to the install activity (and
gives up after about 15 s); a 2,000-member team read member by member inside that turn came close.
So the turn only starts a ``RosterReads`` task and answers at once; the task reads the roster with the
paged members API (``getPagedMembers``, 500 a page, continuation token) and stores each page in one
unit of work on the database executor (``Momentum.store_people``: one query for who is known, one
insert batch, one update batch) while the next page is read.

One reading per roster at a time: Teams sends ``conversationUpdate`` and ``installationUpdate`` for
the same install, and the second finds the first already reading. ``close`` (server shutdown) lets
readings finish for a few seconds, then cancels them: a roster is read again at the next install,
and every page stored before stays stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from microsoft_agents.activity import Activity
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from adapters.teams.inbound import account_dict
from adapters.teams.platform import TeamsPlatform, describe_failure, reference_of
from bot.domain.roster import RosterEntry
from bot.model.ports import PlatformError

if TYPE_CHECKING:
    from bot.app import Momentum

_LOGGER = logging.getLogger(__name__)

PAGE_SIZE = 500  # Teams' largest page for pagedmembers
CLOSE_GRACE_S = 5.0


class RosterMember(BaseModel):
    """A member as ``getPagedMembers`` returns it (TeamsChannelAccount); only what we store is checked."""

    model_config = ConfigDict(extra="ignore")

    id: str
    aadObjectId: str | None = None
    name: str | None = None
    email: str | None = None
    userPrincipalName: str | None = None


def roster_address(activity: Activity, tenant: str, member: Mapping[str, Any]) -> dict[str, Any]:
    """What ``create_conversation`` needs to open a 1:1 chat with someone known from a roster."""
    return {
        "serviceUrl": activity.service_url,
        "channelId": str(activity.channel_id or "msteams"),
        "bot": {"id": activity.recipient.id, "name": activity.recipient.name} if activity.recipient else None,
        "user": {"id": member.get("id"), "name": member.get("name"), "aadObjectId": member.get("aadObjectId")},
        "conversation": None,
        "tenantId": tenant,
    }


def roster_entry(activity: Activity, tenant: str, member: Any) -> RosterEntry | None:
    """A roster member as a ``RosterEntry`` (None: not a member we can store)."""
    try:
        m = RosterMember.model_validate(account_dict(member))
    except ValidationError:
        return None
    ext = m.aadObjectId or m.id
    if not ext:
        return None
    data = {"id": m.id, "name": m.name, "aadObjectId": m.aadObjectId}
    return RosterEntry(external_id=ext, name=m.name, email=m.email or m.userPrincipalName,
                       address=roster_address(activity, tenant, data))


class RosterReads:
    """Background roster readings, at most one per (tenant, roster)."""

    def __init__(self, momentum: Momentum, platform: TeamsPlatform | None) -> None:
        self.momentum = momentum
        self.platform = platform
        self._running: dict[tuple[str, str], asyncio.Task[int]] = {}
        # (tenant, roster id, people stored) of the latest readings, for tests and benchmarks
        self.completed: deque[tuple[str, str, int]] = deque(maxlen=100)

    def start(self, activity: Activity, tenant: str, roster_id: str) -> bool:
        """Start reading ``roster_id`` in the background (False: it is being read already)."""
        key = (tenant, roster_id)
        if key in self._running or self.platform is None:
            return False
        reference = reference_of(activity)
        task = asyncio.get_running_loop().create_task(self._read(activity, reference, tenant, roster_id))
        self._running[key] = task
        task.add_done_callback(lambda _t: self._running.pop(key, None))
        return True

    async def _read(self, activity: Activity, reference: Any, tenant: str, roster_id: str) -> int:
        stored = 0

        async def store(members: list[Any]) -> None:
            nonlocal stored
            entries = [e for e in (roster_entry(activity, tenant, m) for m in members) if e is not None]
            if len(entries) < len(members):
                _LOGGER.warning("teams roster page had %d members we could not read", len(members) - len(entries))
            stats = await self.momentum.store_people("teams", tenant, entries)
            stored += stats.stored

        assert self.platform is not None
        try:
            await self.platform.read_paged_members(tenant, reference, roster_id, store, page_size=PAGE_SIZE)
        except PlatformError as exc:
            _LOGGER.warning("teams roster read stopped after %d people: %s", stored, exc.reason)
        except SQLAlchemyError as exc:  # the database is away: the next install reads the roster again
            _LOGGER.warning("teams roster read stopped after %d people: database %s", stored, type(exc).__name__)
        except Exception as exc:  # a connector failure the platform did not classify
            failure = describe_failure(exc)
            if failure is None:
                _LOGGER.exception("teams roster read failed after %d people", stored)
                return stored
            _LOGGER.warning("teams roster read stopped after %d people: %s", stored, failure.code)
        else:
            _LOGGER.info("teams roster stored: tenant=%s people=%d", tenant, stored)
        self.completed.append((tenant, roster_id, stored))
        return stored

    @property
    def running(self) -> int:
        return len(self._running)

    async def drain(self) -> None:
        """Wait until every reading has ended (tests, benchmarks)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def close(self, grace_s: float = CLOSE_GRACE_S) -> None:
        """Server shutdown: give readings ``grace_s`` to finish, then cancel the rest."""
        tasks = list(self._running.values())
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            _LOGGER.warning("teams roster reads cancelled at shutdown: %d (read again at the next install)",
                            len(pending))
            await asyncio.gather(*pending, return_exceptions=True)
