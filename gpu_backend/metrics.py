"""Prometheus metrics of the gateway, with rolling latency percentiles (P50/P95/P99)."""

from __future__ import annotations

import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class GatewayMetrics:
    def __init__(self, window: int = 1000) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "binmoe_requests", "Requests by route and status", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "binmoe_request_latency_seconds",
            "Request latency by route",
            ["route"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.percentiles = Gauge(
            "binmoe_request_latency_percentile_seconds",
            "Rolling latency percentiles of the last requests",
            ["quantile"],
            registry=self.registry,
        )
        self.queue_depth = Gauge("binmoe_queue_depth", "Requests waiting for the engine", registry=self.registry)
        self.in_flight = Gauge("binmoe_in_flight", "Requests being served by the engine", registry=self.registry)
        self.output_tokens = Counter("binmoe_output_tokens", "Completion tokens generated", registry=self.registry)
        self.tokens_per_second = Gauge(
            "binmoe_output_tokens_per_second", "Output tokens/s over the last minute", registry=self.registry
        )
        self.engine_restarts = Gauge("binmoe_engine_restarts", "vLLM child restarts", registry=self.registry)
        self._window: deque[float] = deque(maxlen=window)
        self._token_events: deque[tuple[float, int]] = deque()

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)
        self._window.append(seconds)
        ordered = sorted(self._window)
        for q in (0.5, 0.95, 0.99):
            self.percentiles.labels(quantile=str(q)).set(ordered[min(len(ordered) - 1, int(q * len(ordered)))])

    def add_tokens(self, count: int) -> None:
        now = time.monotonic()
        self.output_tokens.inc(count)
        self._token_events.append((now, count))
        while self._token_events and self._token_events[0][0] < now - 60:
            self._token_events.popleft()
        span = max(1.0, now - self._token_events[0][0])
        self.tokens_per_second.set(sum(c for _, c in self._token_events) / span)
