"""Prometheus metrics at /metrics.

Counters and task durations come from what this process's engine object
commits (its worker, and the API's starts and cancels); the number of
instances per process and status is read from the database at each scrape,
so it covers every worker.
"""
from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

_DURATION_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600, 86400)


class _InstancesByStatus:
    def __init__(self, maestro):
        self.maestro = maestro

    def collect(self):
        gauge = GaugeMetricFamily("maestro_instances", "Instances in the database, by process and status",
                                  labels=["process", "status"])
        for key, statuses in sorted(self.maestro.instance_counts().items()):
            for status, number in sorted(statuses.items()):
                gauge.add_metric([key, status], number)
        yield gauge


def install(app, maestro):
    registry = CollectorRegistry()
    started = Counter("maestro_instances_started", "Instances started", ["process"], registry=registry)
    ended = Counter("maestro_instances_ended", "Instances that completed, failed or were cancelled",
                    ["process", "status"], registry=registry)
    compensated = Counter("maestro_instances_compensated", "Ended instances in which compensation ran",
                          ["process"], registry=registry)
    durations = Histogram("maestro_task_duration_seconds", "Time from a task becoming ready to its completion",
                          ["process", "type"], buckets=_DURATION_BUCKETS, registry=registry)
    registry.register(_InstancesByStatus(maestro))

    def observe(event):
        if event["event"] == "instance_started":
            started.labels(event["key"]).inc()
        elif event["event"] == "instance_ended":
            ended.labels(event["key"], event["status"]).inc()
            if event["compensated"]:
                compensated.labels(event["key"]).inc()
        elif event["event"] == "task_completed":
            durations.labels(event["key"], event["type"]).observe(event["seconds"])

    maestro.observers.append(observe)
    app.add_url_rule("/metrics", "metrics", lambda: Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST))
