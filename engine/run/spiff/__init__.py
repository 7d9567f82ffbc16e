"""Adjustments to SpiffWorkflow 3.2 that change no BPMN meaning: ids, bookkeeping and cost.

Task ids numbered per instance (task_ids), state changes noted as they happen
(state_changes, touched), ready and waiting tasks indexed from those notes
(live_tasks, in tree order: tree_order) so that neither the next task nor the
waiting ones are found by walking the tree (waiting_tasks), parallel joins
decided by counting arrivals (parallel_joins), log records built only when logged (log_extras), walks of deep
trees without recursion (deep_trees) and the work SpiffWorkflow drops without
cancelling (dropped_work). Several replace SpiffWorkflow methods when imported:
engine.run.instance imports them, so every instance has them. They import only
SpiffWorkflow and each other.
"""
