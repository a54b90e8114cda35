"""What the Slack adapter itself says, from ``adapters/slack/words.yml`` (read and checked once)."""

from __future__ import annotations

from pathlib import Path

from bot.content.chat_words import Words

WORDS = Words.from_file(Path(__file__).with_name("words.yml"))
t = WORDS.t
