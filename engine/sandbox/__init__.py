"""The sandbox: what runs text a diagram's author wrote, and what it may reach.

Owns the expression evaluator (expressions, el_coercion) for conditions and
expressions in the Python-like, JUEL and FEEL dialects, and script tasks
(scripts: RestrictedPython, run in a separate process by script_process and
script_sandbox under script_limits), and the size of untrusted values (sizes).

Imports nothing else of the engine: the script sandbox process starts from
this package alone, so it must stay importable without SpiffWorkflow,
SQLAlchemy or the rest of Maestro.
"""
