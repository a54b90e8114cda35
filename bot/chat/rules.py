"""Which buttons and forms exist, whom each is for, and the checks every click passes before it acts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.chat.turn import Turn
from bot.content.chat_words import t
from bot.content.kinds import PromptKind
from bot.content.prompts import PromptContext
from bot.model.errors import UserError
from bot.model.interactions import Interaction, Response
from bot.model.signing import SEP, parse_prompt_id
from bot.outbox.loader import load_context
from storage.models import (
    Pair,
    Prompt,
)

ActionHandler = Callable[[Turn, Prompt, PromptContext, str], Response]


FormHandler = Callable[[Turn, Prompt, PromptContext, Interaction], Response]


Roles = frozenset[str]


ANYONE: Roles = frozenset({"junior", "senior"})


SENIOR: Roles = frozenset({"senior"})


JUNIOR: Roles = frozenset({"junior"})


@dataclass(frozen=True)
class ActionRule:
    """What a button (or form) may act on: prompts of these kinds, clicked by a person in one of these roles."""

    handler: ActionHandler
    kinds: frozenset[str]
    roles: Roles = ANYONE


@dataclass(frozen=True)
class FormRule:
    handler: FormHandler
    kinds: frozenset[str]
    roles: Roles = ANYONE


ACTIONS: dict[str, ActionRule] = {}


FORMS: dict[str, FormRule] = {}


def action(*ids: str, kinds: set[PromptKind], roles: Roles = ANYONE) -> Callable[[ActionHandler], ActionHandler]:
    """Register a button handler for ``ids``: it only ever runs on a prompt of one of ``kinds``."""
    def deco(fn: ActionHandler) -> ActionHandler:
        for i in ids:
            ACTIONS[i] = ActionRule(fn, frozenset(k.value for k in kinds), roles)
        return fn
    return deco


def form(form_id: str, *, kinds: set[PromptKind], roles: Roles = ANYONE) -> Callable[[FormHandler], FormHandler]:
    def deco(fn: FormHandler) -> FormHandler:
        FORMS[form_id] = FormRule(fn, frozenset(k.value for k in kinds), roles)
        return fn
    return deco


PlainFormHandler = Callable[[Turn, Interaction], Response]


PLAIN_FORMS: dict[str, PlainFormHandler] = {}  # forms that act on no prompt (win, import): the person's own data


def plain_form(form_id: str) -> Callable[[PlainFormHandler], PlainFormHandler]:
    def deco(fn: PlainFormHandler) -> PlainFormHandler:
        PLAIN_FORMS[form_id] = fn
        return fn
    return deco


class Refused(UserError):
    """A click or form that is not this person's to make (someone else's prompt, a forged or
    stale value, an action of another prompt kind). Nothing changes; the refusal is audited."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message if message is not None else t("refused.not_yours"))
        self.reason = reason


def signed(turn: Turn, resp: Response) -> Response:
    """Sign every button and form state of what goes back to the person (see ``bot.model.signing``)."""
    sig = turn.deps.signer
    if resp.update is not None:
        resp.update = sig.message(resp.update, turn.subject or turn.me.external_id)
    if resp.reply is not None:
        resp.reply = sig.message(resp.reply, turn.me.external_id)
    if resp.form is not None:
        resp.form = sig.form(resp.form, turn.me.external_id)
    return resp


def subject_of(p: Prompt, recipient_ext: str) -> str:
    """Whom a prompt's buttons are signed for: its recipient, or the pair for a message to both."""
    return f"pair:{p.pair_id}" if p.audience == "pair" else recipient_ext


def authorised_prompt(turn: Turn, action_id: str, signed_value: str, kinds: frozenset[str],
                      roles: Roles, *, form: bool = False) -> tuple[Prompt, PromptContext, str]:
    """The prompt a click or form acts on, after every check; ``Refused`` otherwise.

    The value must parse, name an existing prompt, carry a valid signature for this action and
    this person (or their pair, for a button on a message to both; forms are always the person's
    own), and the prompt must be of a kind this
    action belongs to, sent to the person who clicked, in a role the action is for.
    """
    value, _, mac = signed_value.rpartition(SEP)
    pid_text, _, answer = value.partition(":")
    pid = parse_prompt_id(pid_text)
    if not mac or pid is None:
        raise Refused("malformed value", t("refused.expired"))
    p = turn.session.get(Prompt, pid)
    if p is None:
        raise Refused("unknown prompt", t("refused.gone"))
    pair = turn.session.get(Pair, p.pair_id)
    if pair is None:
        raise Refused("unknown pair", t("refused.gone"))
    if p.audience == "pair":
        if turn.me.id not in (pair.sponsor_id, pair.sponsoree_id):
            raise Refused("not in the pair")
        role = "junior" if turn.me.id == pair.sponsoree_id else "senior"
    else:
        if turn.me.id != p.recipient_id:
            raise Refused("not the recipient")
        role = "junior" if p.recipient_id == pair.sponsoree_id else "senior"
    turn.subject = subject_of(p, turn.me.external_id)
    if turn.deps.signer.verify(action_id, signed_value, turn.me.external_id if form else turn.subject) is None:
        raise Refused("bad signature", t("refused.changed"))
    if p.kind not in kinds:
        raise Refused(f"action not for a {p.kind} prompt")
    if role not in roles:
        raise Refused(f"action not for the {role}")
    loaded = load_context(turn.session.connection(), pid, turn.now)
    if loaded is None:
        raise Refused("unknown prompt", t("refused.gone_short"))
    ctx = loaded[0]
    if p.audience == "pair":
        junior = role == "junior"
        ctx = PromptContext(**{**ctx.__dict__, "role": role,
                               "me": ctx.sponsoree if junior else ctx.sponsor,
                               "partner": ctx.sponsor if junior else ctx.sponsoree})
    return p, ctx, answer


def form_fields(ia: Interaction, *required: str) -> dict[str, str]:
    f = {k: (v or "").strip() for k, v in ia.fields.items()}
    errors = {k: t("form.required") for k in required if not f.get(k)}
    if errors:
        raise FormErrors(errors)
    return f


class FormErrors(UserError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def truthy(v: str | None) -> bool:
    return (v or "").lower() in {"true", "1", "yes", "on", "share"}
