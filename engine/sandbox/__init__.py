"""The sandbox: what runs text a diagram's author wrote, and what it may reach.

Owns conditions and expressions (the expressions package: one parser per
dialect, Python-like, JUEL and FEEL, feeding one safe evaluator; JUEL's EL
coercions in expressions.el_coercion), script tasks (the scripts package:
RestrictedPython, run in a separate process by scripts.process_pool and
scripts.sandbox_process under scripts.limits), and the size of untrusted values
(sizes).

Imports nothing else of the engine: the script sandbox process starts from
this package alone, so it must stay importable without SpiffWorkflow,
SQLAlchemy or the rest of Maestro.
"""
