"""Metrics (Prometheus), traces (OpenTelemetry) and the deployment-state gauges.

docs/operations.md ("Metrics", "Traces") describes what is measured and how it is
configured; everything here is cheap when tracing is off (the default).
"""
