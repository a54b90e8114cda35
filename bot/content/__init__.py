"""Pure journey content: the words, holidays and meeting times (no I/O)."""
