"""The program's records as synchronous functions on a session: people, pairs, reports, privacy, CSV."""
