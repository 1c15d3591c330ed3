"""Prometheus metrics. Labels never carry text, names or ids: only platform, language, state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

MESSAGES_IN = Counter(
    "bot_messages_in_total", "Events accepted into the inbox", ["platform"], registry=REGISTRY
)
MESSAGES_HANDLED = Counter(
    "bot_messages_handled_total",
    "Inbox events handled, by language and outcome kind",
    ["platform", "language", "kind"],
    registry=REGISTRY,
)
MESSAGES_OUT = Counter(
    "bot_messages_out_total",
    "Replies delivered",
    ["platform", "language", "sender"],
    registry=REGISTRY,
)
DUPLICATES = Counter(
    "bot_duplicate_events_total", "Redelivered events dropped", ["platform"], registry=REGISTRY
)
WEBHOOK_REJECTED = Counter(
    "bot_webhook_rejected_total",
    "Webhook requests refused",
    ["platform", "status"],
    registry=REGISTRY,
)
UNKNOWN_EVENTS = Counter(
    "bot_webhook_unknown_events_total",
    "Webhook events of unknown types, ignored",
    ["platform"],
    registry=REGISTRY,
)
NLU_LATENCY = Histogram(
    "bot_nlu_seconds",
    "Time spent classifying a message",
    ["source"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
NLU_DEGRADED = Gauge(
    "bot_nlu_degraded", "1 while the NLU falls back to keywords", registry=REGISTRY
)
QUEUE_DEPTH = Gauge(
    "bot_queue_depth", "Rows per queue and state", ["queue", "state"], registry=REGISTRY
)
ERRORS = Counter("bot_errors_total", "Errors by place", ["where"], registry=REGISTRY)
SEND_FAILURES = Counter(
    "bot_send_failures_total", "Failed send attempts", ["platform", "kind"], registry=REGISTRY
)
DEAD_LETTERS = Counter(
    "bot_dead_letters_total",
    "Rows moved to the dead-letter state",
    ["queue", "reason"],
    registry=REGISTRY,
)
URGENT = Counter(
    "bot_urgent_total", "Urgent messages recognised", ["language", "source"], registry=REGISTRY
)
