"""Benchmark: cost per task of wide parallel work on durable Maestro, small shape against large.

1. A parallel multi-instance service task over a collection of 10 items (the
   baseline) and of 1,000 items.
2. A parallel gateway splitting into 2 service tasks and joining them (the
   baseline), and into 200.

Maestro runs durably on SQLite with no-op handlers, through the worker's
batches (a commit per round, as `maestro worker` does), of the same size for
both shapes, so that both share their commits alike (the small shape runs more
instances). The cost per task is the time from the first start to the last
instance's end over the service tasks run. Target: the large shape's cost per
task <= 1.5x the small one's.

Figures are medians of the rounds; the ratio is the median of the rounds'
ratios. Run:  python bench/bench_parallel.py [--quick]
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
TARGET = 1.5


def noop(_context):
    return {}


def diagram(process_id, body):
    return (f'<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:camunda="{CAMUNDA}" id="d" targetNamespace="t">'
            f'<bpmn:process id="{process_id}" isExecutable="true"><bpmn:startEvent id="start"/>{body}'
            f'<bpmn:endEvent id="end"/></bpmn:process></bpmn:definitions>').encode()


def flow(source, target):
    return f'<bpmn:sequenceFlow id="{source}_{target}" sourceRef="{source}" targetRef="{target}"/>'


def multi_instance():
    """start -> "work" over the variable `items`, all iterations at once -> end."""
    return diagram("multi_instance", '<bpmn:serviceTask id="work" camunda:topic="work">'
                   '<bpmn:multiInstanceLoopCharacteristics isSequential="false" camunda:collection="items" '
                   'camunda:elementVariable="item"/></bpmn:serviceTask>' + flow("start", "work") + flow("work", "end"))


def branches(count):
    """start -> parallel split -> `count` service tasks -> parallel join -> end."""
    body = '<bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/>' + flow("start", "split")
    for number in range(count):
        body += f'<bpmn:serviceTask id="b{number}" camunda:topic="branch"/>' + flow("split", f"b{number}") \
            + flow(f"b{number}", "join")
    return diagram("branches", body + flow("join", "end"))


def cost_per_task(xml, process_id, data, tasks_each, instances, batch):
    """ms per service task: `instances` instances started, then run to their end by the worker's batches
    of `batch` instances."""
    from engine import Handlers
    from engine.durable import Maestro

    handlers = Handlers()
    handlers.task("work")(noop)
    handlers.task("branch")(noop)
    with tempfile.TemporaryDirectory() as folder:
        maestro = Maestro(f"sqlite:///{folder}/bench.db", handlers=handlers, batch_size=batch)
        maestro.deploy([("bench.bpmn", xml)])
        maestro.start(process_id, data)  # warm the spec cache and the connection pool
        while maestro.work_batch():
            pass
        began = time.perf_counter()
        for _ in range(instances):
            maestro.start(process_id, data)
        while maestro.work_batch():
            pass
        elapsed = time.perf_counter() - began
        completed = maestro.instances(status="completed", limit=instances + 2)
        assert len(completed) == instances + 1, "every instance completes"
        maestro.engine.dispose()
    return 1e3 * elapsed / (instances * tasks_each)


def compare(name, small, large, rounds):
    """Measures (label, xml, process id, data, tasks per instance, instances) small and large in turn."""
    pairs = []
    for _ in range(rounds):
        pairs.append((cost_per_task(*small[1:]), cost_per_task(*large[1:])))
    small_ms = statistics.median(s for s, _ in pairs)
    large_ms = statistics.median(big for _, big in pairs)
    ratio = statistics.median(big / s for s, big in pairs)
    met = "met" if ratio <= TARGET else "NOT met"
    print(f"{name} (ms per task, median of {rounds} rounds)")
    print(f"  {small[0]:<12}: {small_ms:7.3f}")
    print(f"  {large[0]:<12}: {large_ms:7.3f}")
    print(f"  ratio large / small: {ratio:5.2f}   (median of the rounds' ratios; target <= {TARGET}: {met})")
    return ratio


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="one round, fewer instances (a smoke run)")
    args = options.parse_args()
    rounds, batch = (1, 2) if args.quick else (5, 4)
    mi_xml = multi_instance()
    compare("parallel multi-instance",
            ("10 items", mi_xml, "multi_instance", {"items": list(range(10))}, 10, 50 * batch, batch),
            ("1,000 items", mi_xml, "multi_instance", {"items": list(range(1000))}, 1000, batch, batch), rounds)
    compare("parallel gateway",
            ("2 branches", branches(2), "branches", None, 2, 100 * batch, batch),
            ("200 branches", branches(200), "branches", None, 200, batch, batch), rounds)


if __name__ == "__main__":
    main()
