"""``user_change``: refresh a person we know in every workspace of ours that knows them."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from adapters.slack.platform import SlackPlatform, profile_from_user
from bot.app import Momentum
from bot.domain import people as directory
from bot.model.interactions import Profile


class People:
    """Mixed into ``SlackRuntime`` (which holds the state)."""

    momentum: Momentum
    platform: SlackPlatform

    if TYPE_CHECKING:  # provided by the other parts of SlackRuntime

        def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
            raise NotImplementedError

    async def on_user_change(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        user = event.get("user")
        if not isinstance(user, dict) or not user.get("id"):
            return
        profile = profile_from_user(user)
        teams = user_change_teams(body, user, context)
        enterprise = str(body.get("enterprise_id") or (user.get("enterprise_user") or {}).get("enterprise_id") or "")
        for team in teams:
            self.platform.remember_profile(team, profile)
        self.spawn(asyncio.to_thread(self.refresh_everywhere, teams, enterprise, profile))

    def refresh_everywhere(self, teams: list[str], enterprise: str, profile: Profile) -> None:
        """Refresh the person in every workspace of ours that knows them: the envelope's team first (the
        event's ``user.team_id`` can name another team, as in Slack's own example and on Enterprise
        Grid), then the user's own teams, and on Grid (user ids are org-wide) any workspace we serve."""
        done: set[str] = set()
        for team in teams:
            if team not in done and self.refresh_person(team, profile):
                done.add(team)
        if enterprise:
            for team in self.momentum_slack_teams_knowing(profile.external_id):
                if team not in done and self.refresh_person(team, profile):
                    done.add(team)

    def momentum_slack_teams_knowing(self, external_id: str) -> list[str]:
        from sqlmodel import select

        from storage.models import Person, Workspace

        with self.momentum.db.session() as s:
            rows = s.exec(
                select(Workspace.external_id)
                .join(Person, Person.workspace_id == Workspace.id)  # type: ignore[arg-type]
                .where(Workspace.platform == "slack", Person.external_id == external_id)
            ).all()
        return [str(r) for r in rows]

    def refresh_person(self, team: str, profile: Profile) -> bool:
        """Refresh a person we already know (we do not collect the whole directory); False: unknown here."""
        with self.momentum.db.session() as s:
            ws = directory.get_workspace(s, "slack", team)
            person = directory.get_person(s, ws.id, profile.external_id) if ws and ws.id else None
            known, reason = person is not None, person.unreachable_reason if person else None
        if not known:
            return False
        self.momentum.units.upsert_person("slack", team, profile)
        if profile.deleted:
            self.momentum.units.mark_unreachable("slack", team, profile.external_id, "user_deactivated")
        elif reason == "user_deactivated":
            self.momentum.units.mark_unreachable("slack", team, profile.external_id, None)
        return True


def user_change_teams(body: dict[str, Any], user: dict[str, Any], context: Any) -> list[str]:
    """Teams where a ``user_change`` may concern someone we know: the envelope's team first."""
    candidates: list[Any] = [body.get("team_id"), getattr(context, "team_id", None)]
    candidates += [a.get("team_id") for a in body.get("authorizations") or [] if isinstance(a, dict)]
    candidates += [user.get("team_id"), (user.get("profile") or {}).get("team")]
    candidates += list((user.get("enterprise_user") or {}).get("teams") or [])
    return _unique(str(c) for c in candidates if c)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
