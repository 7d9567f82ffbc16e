"""Reading BPMN: from the bytes a user hands over to the specs an instance runs, and every problem on the way.

One pipeline reads every file, for `load`, lint and deploy alike
(pipeline.read_bpmn, whose module docstring lists the passes): parse the
untrusted bytes (untrusted_xml) → normalise what modeling tools export
(exports/) → hand the document to SpiffWorkflow's parser (parser, long_flows)
→ check the document (checks/) → build and check the specs →
check handler bindings (lint only). Around it: what callers hand over
(sources), the result (library: Library), SpiffWorkflow's refusals as located
problems (validation_problems), the element facts several passes read
(elements) and those the parser and checks read off elements (topics, forms,
timer_values). `load` and `inspect` (loader) and `lint_files` (lint) are the
entry points.

May import: the engine's shared modules (handlers, problems, namespaces), the
run wing's task specs and the rules they carry (a parser builds what runs), the
sandbox (to compile expressions and scripts once, at deploy). Never the durable
wing or the command line.
"""
from .library import Library
from .loader import inspect, load
from .pipeline import read_bpmn

__all__ = ["Library", "inspect", "load", "read_bpmn"]
