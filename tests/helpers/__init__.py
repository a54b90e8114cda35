"""Helpers for the slow tests and the benchmarks: bulk seeding and worker processes."""
