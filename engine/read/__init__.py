"""Reading BPMN: from the bytes a user hands over to the specs an instance runs, and every problem on the way.

Owns safe XML (untrusted_xml), what modeling tools export put the way BPMN
means it (exports/), the document checks (checks, hostile_diagrams), parsing to
SpiffWorkflow specs (parser, long_flows), the facts read off elements (topics,
forms, timer_values) and lint.

May import: the engine's shared modules (handlers, problems, namespaces), the
run wing's task specs and the rules they carry (a parser builds what runs), the
sandbox (to compile expressions and scripts once, at deploy). Never the durable
wing or the command line.
"""
from .loader import Library, inspect, load

__all__ = ["Library", "inspect", "load"]
