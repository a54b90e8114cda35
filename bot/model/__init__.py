"""The core's vocabulary: messages, interactions, ports, settings, errors, the clock and signing (no I/O)."""
