"""Handlers for tests/fixtures/workers/poison.bpmn: "explode" kills the worker process for a poison instance."""
import os

from logged_saga_handlers import log_call

from engine import Handlers

handlers = Handlers()


@handlers.task("prepare")
def prepare(ctx):
    log_call(ctx)


@handlers.task("explode")
def explode(ctx):
    log_call(ctx)
    if ctx.data.get("poison"):
        os._exit(1)  # as a segfaulting C extension would: no exception, no cleanup
