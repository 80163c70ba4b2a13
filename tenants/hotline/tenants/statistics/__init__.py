"""Statistics: the metrics of docs/statistics.md, daily aggregates kept by a worker from
the ticket domain events, and the city and province dashboards built on them."""
