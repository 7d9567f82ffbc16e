"""Script tasks: Python a diagram's author wrote, run by RestrictedPython (the maintained Zope
sandbox) with size, step, time and memory limits added by Maestro.

A script's text is checked and compiled once (compiling, under policy's rewrites); running it
(running) puts it in a namespace of safe builtins and guards (namespace, with guards for what
it may touch and operators for what it may build), inside a sandbox process where the OS holds
its time and memory limits even against work done in C: process_pool is the worker's side,
sandbox_process the sandbox's, wire what crosses the socket between them. How much a script
may do is in limits; what goes wrong is a ScriptError (errors).

Layers, each importing only those above it: errors; limits; operators; guards; namespace;
running; compiling (with policy, which imports none of them); this module. wire stands alone;
sandbox_process and process_pool sit on top (running imports process_pool only inside
CompiledScript.run, when a script first runs). This module never imports process_pool: the
sandbox process imports this package too, and must not start a pool of its own."""
from __future__ import annotations

from .compiling import compile_script
from .errors import ScriptError
from .limits import current_limits
from .running import CompiledScript

__all__ = ["ScriptError", "CompiledScript", "compile_script", "current_limits"]
