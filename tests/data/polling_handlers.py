"""Handlers for the polling loop of tests/fixtures/hostile: `poll` is done after `done_after` calls.

Each call appends "instance_id poll" to $MAESTRO_TEST_LOG when it is set (worker processes share it).
"""
import os

from engine import Handlers

handlers = Handlers()


@handlers.task("poll")
def poll(ctx):
    log = os.environ.get("MAESTRO_TEST_LOG")
    if log:
        with open(log, "a") as calls:
            calls.write(f"{ctx.instance_id} poll\n")
    polls = ctx.data.get("polls", 0) + 1
    return {"polls": polls, "done": polls >= ctx.data.get("done_after", float("inf"))}
