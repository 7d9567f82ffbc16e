"""What modeling tools write, put the way BPMN (and Camunda 7, where BPMN is silent) means it.

Each module takes one tool's habit (Activiti's namespace, ids SpiffWorkflow
cannot take, elements in the wrong container, event definitions by reference,
data plumbing, Camunda 7's multi-instance collections) and rewrites the parsed
document in place before it is checked and parsed. They import only the
engine's shared modules and each other.
"""
