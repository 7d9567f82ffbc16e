"""Handlers for message delivery fault tests: every call appends a line to $MAESTRO_TEST_LOG.

A line is "instance business_key topic n idempotency_key pid", n being the number the message that
led to the task carried. A task re-run after a crash presents its first attempt's idempotency key,
so the distinct keys of an instance's topic count the messages it got. O_APPEND writes of one short
line are atomic, so several worker processes can share the log.
"""
import os

from engine import Handlers

handlers = Handlers()


def log_call(ctx):
    line = f"{ctx.instance_id} {ctx.business_key} {ctx.topic} {ctx.data.get('n')} {ctx.idempotency_key} {os.getpid()}\n"
    descriptor = os.open(os.environ["MAESTRO_TEST_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)
    return {}


for topic in ("got_tick", "got_order"):
    handlers.task(topic)(log_call)
