"""Benchmark: listing instances with 100,000 in the database (SQLite), the web app's Instances page.

Measures the first page and a page 90,000 instances deep (reached by its
cursor, as the "older" link does), unfiltered and filtered by status and by
process, and prints the deep/first ratio: paging by position (keyset) keeps
it near 1, where OFFSET paging grows with the depth.
Run:  python bench/bench_paging.py [--instances N]
"""
import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.durable import Maestro  # noqa: E402
from engine.durable.store.models import Instance  # noqa: E402

SAGA = ROOT / "bpmn" / "order_fulfillment" / "order_fulfillment.bpmn"
STATUSES = ["completed"] * 6 + ["failed", "waiting", "running", "cancelled"]


def fill(maestro, count):
    """`count` instance rows (as a worker would leave them), written in bulk."""
    maestro.deploy_paths([SAGA])
    began = datetime.now(timezone.utc) - timedelta(days=30)
    rows = [{"id": str(uuid.uuid4()), "definition_id": 1, "key": "order_fulfillment" if n % 3 else "other",
             "version": 1, "called_definitions": {}, "status": STATUSES[n % len(STATUSES)],
             "business_key": f"order-{n}", "started_by": "user", "variables": {}, "state": "",
             "created_at": began + timedelta(seconds=n * 20), "updated_at": began, "ended_at": None}
            for n in range(count)]
    with maestro.engine.begin() as connection:
        connection.execute(Instance.__table__.insert(), rows)


def timed(measure, rounds=7):
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        measure()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def cursor_at(maestro, depth, **filters):
    """The cursor of the page that starts `depth` instances down, walked to once."""
    after = None
    while depth > 0:
        page = maestro.instance_page(**filters, limit=min(500, depth), after=after)
        after, depth = page["next"], depth - len(page["instances"])
    return after


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--instances", type=int, default=100_000)
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        maestro = Maestro(f"sqlite:///{folder}/paging.db")
        fill(maestro, args.instances)
        print(f"{args.instances:,} instances; a page is 50 (median of 7, ms)")
        for label, filters in (("all", {}), ("status=completed", {"status": "completed"}),
                               ("process=order_fulfillment", {"key": "order_fulfillment"})):
            deep = cursor_at(maestro, int(args.instances * 0.9 * (0.6 if filters else 1)), **filters)
            first = timed(lambda filters=filters: maestro.instance_page(**filters, limit=50))
            deeper = timed(lambda filters=filters, deep=deep: maestro.instance_page(**filters, limit=50, after=deep))
            print(f"  {label:<27} first page {first * 1e3:6.2f}   deep page {deeper * 1e3:6.2f}   "
                  f"ratio {deeper / first:5.2f}")
        counts = timed(maestro.instance_counts)
        print(f"  counts per process and status (the Processes page): {counts * 1e3:.1f} ms")
        maestro.engine.dispose()


if __name__ == "__main__":
    main()
