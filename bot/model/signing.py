"""Signed button values and form states: an HMAC binds each to its action and its person.

A button's value (``"<prompt id>:<answer>"``) travels through the person's client and
comes back on click; anyone can edit it there. Before a message leaves the core every
value is signed over (action id, value, subject), where the subject is the person the
message is for (or ``pair:<id>`` for a message to both people of a pair). On a click
the signature is checked before anything is looked up: an edited action id, value or a
click by someone else is refused. Signatures are 128-bit truncated HMAC-SHA256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import replace

from bot.model.messages import Block, Buttons, Choice, Form, Message, Option

SEP = "~"
_MAC_LEN = 16
_PROMPT_ID = re.compile(r"^[0-9]{1,10}$")
MAX_ID = 2**31 - 1  # INTEGER primary keys on both databases


def derive_key(secret: bytes | str, purpose: str = "momentum/actions/v1") -> bytes:
    """A key for one purpose from a longer-lived secret (HMAC as a KDF)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, purpose.encode(), hashlib.sha256).digest()


def parse_prompt_id(text: str) -> int | None:
    """A prompt id as the core writes it, or ``None`` for anything else (negative, huge, not digits)."""
    if not _PROMPT_ID.match(text):
        return None
    n = int(text)
    return n if 0 < n <= MAX_ID else None


class Signer:
    """Signs with ``key``; verifies with ``key`` and any ``previous`` keys (a rotated
    ``MOMENTUM_SECRET_KEY``: buttons on messages sent before the rotation keep working)."""

    def __init__(self, key: bytes, previous: tuple[bytes, ...] = ()) -> None:
        self._key = key
        self._previous = previous

    def _mac(self, action_id: str, value: str, subject: str, key: bytes | None = None) -> str:
        msg = "\x1f".join((action_id, value, subject)).encode()
        digest = hmac.new(self._key if key is None else key, msg, hashlib.sha256).digest()[:_MAC_LEN]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, action_id: str, value: str, subject: str) -> str:
        return f"{value}{SEP}{self._mac(action_id, value, subject)}"

    def verify(self, action_id: str, signed: str, subject: str) -> str | None:
        """The original value when ``signed`` was made for this action and subject, else ``None``."""
        value, sep, mac = signed.rpartition(SEP)
        if not sep or not mac:
            return None
        for key in (self._key, *self._previous):
            if hmac.compare_digest(mac, self._mac(action_id, value, subject, key)):
                return value
        return None

    # --- whole messages -------------------------------------------------------------------------

    def _block(self, block: Block, subject: str) -> Block:
        if isinstance(block, Buttons):
            return Buttons(tuple(replace(b, value=self.sign(b.action_id, b.value, subject)) for b in block.buttons))
        if isinstance(block, Choice):
            return replace(block, options=tuple(
                Option(o.label, self.sign(block.field_id, o.value, subject)) for o in block.options))
        return block

    def message(self, msg: Message, subject: str) -> Message:
        """Every button and choice of ``msg`` signed for ``subject``."""
        return replace(msg, blocks=tuple(self._block(b, subject) for b in msg.blocks))

    def form(self, form: Form, subject: str) -> Form:
        """The form's state signed for its form id and ``subject`` (inputs are the person's own)."""
        if not form.state:
            return form
        return replace(form, state=self.sign(form.form_id, form.state, subject))


def unsigned(value: str) -> str:
    """A signed value without its signature (for readers such as tests and the demo's personas)."""
    head, sep, _ = value.rpartition(SEP)
    return head if sep else value


def answer_of(value: str) -> str:
    """The answer part of a (signed) ``"<prompt id>:<answer>"`` value."""
    return unsigned(value).partition(":")[2]
