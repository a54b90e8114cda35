"""Prometheus metrics of the core (served by the web adapter at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PROMPTS_SENT = Counter("momentum_prompts_sent_total", "Prompts delivered", ["kind", "platform"])
PROMPTS_FAILED = Counter("momentum_prompts_failed_total", "Delivery attempts that failed and will be retried",
                         ["platform", "reason"])
PROMPTS_DEAD = Counter("momentum_prompts_dead_total", "Prompts parked after a permanent failure",
                       ["platform", "reason"])
PROMPTS_CANCELLED = Counter("momentum_prompts_cancelled_total", "Prompts not sent (paused, snoozed, ...)",
                            ["reason"])
CHECKINS = Counter("momentum_checkins_total", "Check-in answers recorded", ["status"])
INTERACTIONS = Counter("momentum_interactions_total", "Interactions handled", ["platform", "kind"])
DELIVERY_LAG = Histogram(
    "momentum_delivery_lag_seconds", "Seconds between a prompt's due time and its delivery",
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 3600, 4 * 3600, 12 * 3600),
)
