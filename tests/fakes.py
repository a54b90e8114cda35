"""Test doubles for the platform port and helpers that drive the core as people would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.app import Momentum
from bot.model.interactions import Interaction, InteractionKind, Profile, Response
from bot.model.messages import Attachment, Button, Buttons, Message
from bot.model.ports import Delivered, FailureScope, PlatformError, Recipient, WorkspaceRef
from bot.model.signing import answer_of

WS = "T1"
ADMIN = Profile("UADMIN", "Ada Admin", "admin@example.com", "Europe/London", given_name="Ada")


@dataclass
class Sent:
    to: list[str]
    message: Message
    ref: str


@dataclass
class RecordingPlatform:
    """Records every send; can be told to fail the next sends with a PlatformError."""

    name: str = "test"
    people: dict[str, Profile] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    updates: list[tuple[Mapping[str, Any], Message]] = field(default_factory=list)
    fail_with: list[PlatformError] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)

    def _send(self, to: Sequence[Recipient], message: Message) -> Delivered:
        if self.fail_with:
            raise self.fail_with.pop(0)
        ref = f"ts{len(self.sent) + 1}"
        self.sent.append(Sent([r.external_id for r in to], message, ref))
        return Delivered(ref={"ts": ref}, addresses={r.person_id: {"dm": f"D{r.external_id}"} for r in to})

    async def send(self, workspace: WorkspaceRef, to: Recipient, message: Message) -> Delivered:
        return self._send([to], message)

    async def send_group(self, workspace: WorkspaceRef, to: Sequence[Recipient], message: Message) -> Delivered:
        return self._send(list(to), message)

    async def update(self, workspace: WorkspaceRef, ref: Mapping[str, Any], message: Message) -> None:
        self.updates.append((ref, message))

    async def profile(self, workspace: WorkspaceRef, external_id: str) -> Profile | None:
        return self.people.get(external_id)

    async def lookup_email(self, workspace: WorkspaceRef, email: str) -> Profile | None:
        return next((p for p in self.people.values() if p.email == email), None)

    def to(self, user: str) -> list[Sent]:
        return [s for s in self.sent if user in s.to]


def rate_limited(after: float = 7.0) -> PlatformError:
    return PlatformError("ratelimited", retryable=True, retry_after=after)


def gone(reason: str = "account_inactive", scope: FailureScope = FailureScope.PERSON) -> PlatformError:
    return PlatformError(reason, retryable=False, scope=scope)


def person(uid: str, name: str, tz: str = "Europe/London", email: str | None = None,
           country: str | None = None) -> Profile:
    # as Slack's profile would say (first_name): the tests' people go by their first word
    return Profile(uid, name, email or f"{uid.lower()}@example.com", tz, "en-GB", False, country,
                   given_name=name.split()[0] if name else None)


async def act(m: Momentum, who: Profile, kind: InteractionKind = InteractionKind.COMMAND, platform: str = "test",
              **kw: Any) -> Response:
    return await m.handle(Interaction(platform, WS, who.external_id, kind, profile=who, **kw))


async def command(m: Momentum, who: Profile, text: str) -> Response:
    return await act(m, who, InteractionKind.COMMAND, text=text)


def button(message: Message, action_id: str, answer: str | None = None) -> Button:
    for block in message.blocks:
        if isinstance(block, Buttons):
            for b in block.buttons:
                if b.action_id == action_id and (answer is None or answer_of(b.value) == answer):
                    return b
    raise AssertionError(f"no button {action_id}:{answer} in {message.as_plain_text()}")


async def click(m: Momentum, who: Profile, message: Message, action_id: str, answer: str | None = None) -> Response:
    b = button(message, action_id, answer)
    return await act(m, who, InteractionKind.ACTION, action_id=b.action_id, value=b.value)


async def setup_program(m: Momentum, pairs: list[tuple[Profile, Profile]], name: str = "Pilot",
                        extra: str = "") -> None:
    r = await command(m, ADMIN, f"program create {name} {extra}".strip())
    assert r.reply and "Created" in r.reply.text, r.reply
    for sponsor, sponsoree in pairs:
        await act(m, sponsor, InteractionKind.COMMAND, text="help")  # they introduce themselves (profile stored)
        await act(m, sponsoree, InteractionKind.COMMAND, text="help")
        r = await command(m, ADMIN, f"pair <@{sponsor.external_id}> <@{sponsoree.external_id}> {name}")
        assert r.reply and "Paired" in r.reply.text, r.reply.text if r.reply else r


async def deliver_within(m: Momentum, clock: Any, hours: int = 30) -> None:
    """Deliver hour by hour for ``hours``: words one partner sends the other wait for the reader's day."""
    from datetime import timedelta

    for _ in range(hours):
        await m.deliver_due()
        clock.advance(timedelta(hours=1))
    await m.deliver_due()
