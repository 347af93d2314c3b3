"""Every Prometheus metric of the process, defined once (``/metrics`` exposes the default registry).

Web metrics are recorded by the observability middleware; workers increment the outbox, inbox and
scheduler counters. Labels are bounded sets (route templates, topics, outcomes), never ids or raw paths.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "bizzly_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "bizzly_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

OUTBOX_DISPATCHED = Counter(
    "bizzly_outbox_dispatched",
    "Outbox rows the relay handed to the broker, by topic.",
    ["topic"],
)
OUTBOX_PROCESSED = Counter(
    "bizzly_outbox_processed",
    "Outbox rows an actor finished, by topic and outcome (done, retried, dead).",
    ["topic", "outcome"],
)
INBOX_EVENTS = Counter(
    "bizzly_inbox_events",
    "Webhook events, by source and outcome (stored, duplicate, processed, failed).",
    ["source", "outcome"],
)
SCHEDULER_TICKS = Counter(
    "bizzly_scheduler_ticks",
    "Scheduler ticks fired by this process, by job.",
    ["job"],
)
ASSISTANT_MODEL_CALLS = Counter(
    "bizzly_assistant_model_calls",
    "Questions for a business's own language model, by outcome (answered, failed, busy: its slots taken).",
    ["outcome"],
)
