"""Running an instance: Maestro's step loop over a SpiffWorkflow workflow, in memory.

Owns the step loop (instance), the bridge SpiffWorkflow calls into (runtime),
Maestro's task specs (specs, conditional_flows) and the BPMN meaning they carry
(compensation, error_events, boundary_events, event_subprocesses, messages,
timers, retries), the limits a running instance keeps to (instance_limits,
handler_limits, variable_limits) and saving an instance (serializer).
SpiffWorkflow adjustments that change no meaning, only cost or bookkeeping,
live in spiff/.

May import: the engine's shared modules and the sandbox. Never the durable wing
or the command line; the reading wing only where Instance.start and
Instance.restore are handed BPMN files rather than specs.
"""
