"""What the service counts for Prometheus (`/metrics`, text format), and the request id every
log line of a request carries. One set per process: Prometheus scrapes each process."""

import contextvars

from prometheus_client import Counter, Gauge, Histogram

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REQUESTS = Counter(
    "geo_service_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "geo_service_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
INCIDENTS_WRITTEN = Counter(
    "geo_service_incidents_written_total", "Incidents created through this process", ["path"]
)
IMPORTS = Counter("geo_service_imports_total", "Bulk imports taken", ["outcome"])
STREAM_CLIENTS = Gauge("geo_service_stream_clients", "Live-stream clients connected")
ALERTS_RAISED = Counter("geo_service_alerts_raised_total", "Alerts raised by this process")
DB_CONNECTIONS = Gauge(
    "geo_service_db_pool_connections", "Database connections of the pool", ["state"]
)
READS = Counter(
    "geo_service_db_reads_total",
    "Reading requests by the database they read and why",
    ["target", "reason"],
)
REPLICA_LAG = Gauge(
    "geo_service_replica_lag_seconds", "How far the read replica is behind (-1: down or none)"
)
