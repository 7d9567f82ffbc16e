"""Prometheus metrics at /metrics.

Counters and task durations come from what the server's engine objects
commit: its API's starts and cancels, and its worker processes' steps (added
up across processes, see share_between_processes); the number of instances
per process and status is read from the database at each scrape, so it
covers every worker, wherever it runs.
"""
import os

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_SETTING = "PROMETHEUS_MULTIPROC_DIR"

_DURATION_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600, 86400)
# From publishing to delivery: milliseconds when a catch waits, up to the time to live when it was buffered.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400)


class _InstancesByStatus:
    def __init__(self, maestro):
        self.maestro = maestro

    def collect(self):
        gauge = GaugeMetricFamily("maestro_instances", "Instances in the database, by process and status",
                                  labels=["process", "status"])
        for key, statuses in sorted(self.maestro.instance_counts().items()):
            for status, number in sorted(statuses.items()):
                if status != "rolled_back":  # a part of "completed", not a status: the sum stays the total
                    gauge.add_metric([key, status], number)
        yield gauge


class _Counts:
    """The counters and the histogram, and the observer of an engine's events that feeds them.

    Made once per process. In `maestro serve` with worker processes, each process writes its own
    into PROMETHEUS_MULTIPROC_DIR and the server's /metrics adds them up (prometheus_client's
    multiprocess mode): then they belong to no registry of their own.
    """

    def __init__(self, registry=None):
        self.started = Counter("maestro_instances_started", "Instances started", ["process"], registry=registry)
        self.ended = Counter("maestro_instances_ended", "Instances that completed, failed or were cancelled",
                             ["process", "status"], registry=registry)
        self.compensated = Counter("maestro_instances_compensated", "Ended instances in which compensation ran",
                                   ["process"], registry=registry)
        self.durations = Histogram("maestro_task_duration_seconds", "Time from a task becoming ready to its completion",
                                   ["process", "type"], buckets=_DURATION_BUCKETS, registry=registry)
        self.published = Counter("maestro_messages_published", "Messages and signals published, by steps or "
                                 "from outside", ["kind"], registry=registry)
        self.delivered = Counter("maestro_messages_delivered", "Deliveries of messages and signals, one per receiver "
                                 "(a waiting instance, or a process started)", ["kind"], registry=registry)
        self.buffered = Counter("maestro_messages_buffered", "Messages nobody waited for, kept for their time to live",
                                registry=registry)
        self.expired = Counter("maestro_messages_expired", "Messages whose time to live ran out", registry=registry)
        self.latency = Histogram("maestro_message_delivery_latency_seconds", "Time from publishing to each delivery",
                                 buckets=_LATENCY_BUCKETS, registry=registry)

    def observe(self, event):
        if event["event"] == "instance_started":
            self.started.labels(event["key"]).inc()
        elif event["event"] == "instance_ended":
            self.ended.labels(event["key"], event["status"]).inc()
            if event["compensated"]:
                self.compensated.labels(event["key"]).inc()
        elif event["event"] == "task_completed":
            self.durations.labels(event["key"], event["type"]).observe(event["seconds"])
        elif event["event"] == "message_published":
            self.published.labels(event["kind"]).inc()
        elif event["event"] == "message_delivered":
            self.delivered.labels(event["kind"]).inc()
            self.latency.observe(event["latency_seconds"])
        elif event["event"] == "message_buffered":
            self.buffered.inc()
        elif event["event"] == "message_expired":
            self.expired.inc()


def share_between_processes(folder):
    """Makes this process's metrics, and those of the processes it starts from now on, add up in `folder`.

    Called by `maestro serve` before it makes its metrics and starts its workers.
    """
    os.environ[MULTIPROCESS_SETTING] = str(folder)
    # prometheus_client picks how it stores values when it is first imported, maybe before this
    # call (the CLI imports the web app to learn of `serve`): have it pick again.
    values.ValueClass = values.get_value_class()


def count_worker_events(maestro):
    """In a worker process of `maestro serve`: its engine's events count in the server's /metrics."""
    if os.environ.get(MULTIPROCESS_SETTING):
        maestro.observers.append(_Counts().observe)


def install(app, maestro):
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_SETTING):
        MultiProcessCollector(registry)
        counts = _Counts()
    else:
        counts = _Counts(registry)
    registry.register(_InstancesByStatus(maestro))
    maestro.observers.append(counts.observe)
    app.add_url_rule("/metrics", "metrics", lambda: Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST))
