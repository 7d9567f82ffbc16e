"""Benchmark: Maestro's durable runtime against plain SpiffWorkflow, measured in one run.

1. The seed saga (happy path) with no-op handlers:
   plain SpiffWorkflow 3.2 in memory (baseline) vs. Maestro on SQLite with a
   durable commit after every task. Target (issue 14): Maestro >= 0.8x the baseline.
2. Cost per task of a straight process of 6 and of 200 service tasks, on
   Maestro (durable) and on plain SpiffWorkflow. Target: Maestro's 200-step
   cost per task <= 1.2x its 6-step cost (issue 14).

Each figure is the median of several rounds; machines are noisy, so read the
ratios, not the absolute numbers.  Run:  python bench/bench_runtime.py [--quick]
"""
import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAGA = ROOT / "bpmn" / "order_fulfillment" / "order_fulfillment.bpmn"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SAGA_TOPICS = ["checkout", "payment", "stock", "distribution_center", "invoice", "shipping",
               "refund_payment", "release_stock", "release_distribution_center", "cancel_invoice",
               "notify_customer"]


def noop(_context):
    return {}


# -- plain SpiffWorkflow ------------------------------------------------------

class PlainServiceTask(ServiceTask):
    """What a host must add to SpiffWorkflow for a service task to call Python at all."""

    def _run_hook(self, my_task):
        my_task.data.update(noop(None))
        return True


class PlainParser(BpmnParser):
    OVERRIDE_PARSER_CLASSES = {full_tag("serviceTask"): (TaskParser, PlainServiceTask)}


def without_compensation(xml):
    """The saga's happy path as plain SpiffWorkflow can parse it (it rejects compensation)."""
    root = etree.fromstring(xml)
    for path in ("//bpmn:boundaryEvent", "//*[@isForCompensation='true']", "//bpmn:association",
                 "//bpmn:subProcess[@triggeredByEvent='true']"):
        for node in root.xpath(path, namespaces={"bpmn": BPMN}):
            node.getparent().remove(node)
    return etree.tostring(root)


def plain_rate(xml, process_id, instances):
    """Measured in a fresh interpreter that never imports Maestro, which adjusts some of
    SpiffWorkflow's classes: the baseline is SpiffWorkflow exactly as published."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_plain_rate, (xml, process_id, instances))


def _plain_rate(xml, process_id, instances):
    assert "engine" not in sys.modules
    parser = PlainParser()
    parser.add_bpmn_xml(etree.fromstring(xml), "bench.bpmn")
    spec = parser.get_spec(process_id)
    began = time.perf_counter()
    for _ in range(instances):
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        assert workflow.completed
    return instances / (time.perf_counter() - began)


# -- Maestro, durable ---------------------------------------------------------

def maestro_rate(xml, process_id, topics, instances):
    from engine import Handlers
    from engine.durable import Maestro

    handlers = Handlers()
    for topic in topics:
        handlers.task(topic)(noop)
    with tempfile.TemporaryDirectory() as folder:
        maestro = Maestro(f"sqlite:///{folder}/bench.db", handlers=handlers)
        maestro.deploy([("bench.bpmn", xml)])
        maestro.start(process_id)  # warm the spec cache and the connection pool
        while maestro.work_batch():
            pass
        began = time.perf_counter()
        for _ in range(instances):
            maestro.start(process_id)
        while maestro.work_batch():  # what `maestro worker` does: batches with a commit per round
            pass
        elapsed = time.perf_counter() - began
        assert len(maestro.instances(status="completed", limit=instances + 1)) == instances + 1
        maestro.engine.dispose()
    return instances / elapsed


def straight_process(steps):
    tasks = "".join(f'<bpmn:serviceTask id="t{n}"/><bpmn:sequenceFlow id="f{n}" sourceRef="t{n}" '
                    f'targetRef="{"t" + str(n + 1) if n + 1 < steps else "end"}"/>' for n in range(steps))
    return (f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t">'
            f'<bpmn:process id="straight" isExecutable="true"><bpmn:startEvent id="start"/>'
            f'<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="t0"/>{tasks}'
            f'<bpmn:endEvent id="end"/></bpmn:process></bpmn:definitions>').encode()


def median_of(rounds, measure):
    return statistics.median(measure() for _ in range(rounds))


def interleaved(rounds, plain, maestro):
    """(median plain rate, median Maestro rate, median of the rounds' ratios), the two measured
    in turn in every round: a shared machine's load then weighs on both alike."""
    pairs = [(plain(), maestro()) for _ in range(rounds)]
    return (statistics.median(p for p, _ in pairs), statistics.median(m for _, m in pairs),
            statistics.median(m / p for p, m in pairs))


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="fewer instances and rounds (a smoke run)")
    args = options.parse_args()
    rounds, saga_n, short_n, long_n = (1, 50, 30, 3) if args.quick else (9, 800, 200, 10)

    saga = SAGA.read_bytes()
    plain, durable, ratio = interleaved(
        rounds, lambda: plain_rate(without_compensation(saga), "order_fulfillment", saga_n),
        lambda: maestro_rate(saga, "order_fulfillment", SAGA_TOPICS, saga_n))
    print("seed saga, happy path, no-op handlers (instances/s, median of %d rounds)" % rounds)
    print(f"  plain SpiffWorkflow, in memory : {plain:8.1f}")
    print(f"  Maestro, SQLite, commit/task   : {durable:8.1f}")
    print(f"  ratio Maestro / plain          : {ratio:8.2f}   (median of the rounds' ratios; target >= 0.80)")

    cost = {}
    for steps, count in ((6, short_n), (200, long_n)):
        xml, topics = straight_process(steps), [f"t{n}" for n in range(steps)]
        def maestro_once(xml=xml, topics=topics, count=count):
            return maestro_rate(xml, "straight", topics, count)

        def plain_once(xml=xml, count=count):
            return plain_rate(xml, "straight", count)

        cost[("maestro", steps)] = 1e3 / (steps * median_of(rounds, maestro_once))
        cost[("plain", steps)] = 1e3 / (steps * median_of(rounds, plain_once))
    print("cost per task of a straight process (ms per task, median)")
    for engine in ("plain", "maestro"):
        six, two_hundred = cost[(engine, 6)], cost[(engine, 200)]
        print(f"  {engine:<8}  6 steps: {six:7.3f}   200 steps: {two_hundred:7.3f}   "
              f"ratio 200/6: {two_hundred / six:5.2f}" + ("   (target <= 1.20)" if engine == "maestro" else ""))


if __name__ == "__main__":
    main()
