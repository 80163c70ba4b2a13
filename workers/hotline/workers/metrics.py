"""A worker's ``/metrics`` (Prometheus text) on ``HOTLINE_WORKER_METRICS_PORT``.

prometheus-client's own HTTP server in a thread: the job metrics of this process
(``hotline_job_*``, the database pool). The deployment state (outbox lag, backlog per
city) is exported by the API's ``/metrics`` only, so it is not counted twice.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import start_http_server

_server: Any = None


def serve_metrics(port: int, addr: str = "0.0.0.0") -> int | None:  # noqa: S104
    """Start once per process (a worker restarting after a Redis outage keeps it);
    returns the bound port, None when ``port`` is 0."""
    global _server
    if not port:
        return None
    if _server is None:
        _server, _ = start_http_server(port, addr=addr)
    return int(_server.server_port)
