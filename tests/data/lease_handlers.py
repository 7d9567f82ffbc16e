"""Handlers for tests/fixtures/workers: slow ones, and ones over their time limit.

Each call appends "instance topic attempt pid" to $MAESTRO_TEST_LOG (see logged_saga_handlers).
"""
import os
import time

from logged_saga_handlers import log_call

from engine import Handlers

handlers = Handlers()


@handlers.task("slow")
@handlers.task("slow_again")
def slow(ctx):
    log_call(ctx)
    time.sleep(ctx.data.get("seconds", float(os.environ.get("MAESTRO_TEST_DELAY", "0"))))
    return {"done_by": os.getpid()}


def never_returns_in_time(ctx):
    log_call(ctx)
    time.sleep(30)  # abandoned by the worker long before


handlers.task("limited", timeout=0.5)(never_returns_in_time)
handlers.task("stuck")(never_returns_in_time)  # its diagram sets the limit
