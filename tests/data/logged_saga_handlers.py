"""Handlers for crash and concurrency tests: every call appends a line to $MAESTRO_TEST_LOG.

A line is "instance topic attempt pid"; O_APPEND writes of one short line are
atomic, so several worker processes can share the log.
"""
import os
import time

from engine import BpmnError, Handlers

handlers = Handlers()
TOPICS = ["checkout", "payment", "stock", "distribution_center", "invoice", "shipping",
          "refund_payment", "release_stock", "release_distribution_center", "cancel_invoice", "notify_customer"]


def log_call(ctx):
    line = f"{ctx.instance_id} {ctx.topic} {ctx.attempt} {os.getpid()}\n".encode()
    descriptor = os.open(os.environ["MAESTRO_TEST_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def make(topic):
    def handler(ctx):
        log_call(ctx)
        time.sleep(float(os.environ.get("MAESTRO_TEST_DELAY", "0.02")))
        if ctx.data.get("fail_at") == topic:
            raise BpmnError("ORDER_FAILED", f"{topic} failed")
        return {}
    handler.__name__ = f"handle_{topic}"
    return handler


for name in TOPICS:
    handlers.task(name)(make(name))
