"""Elements some modeling tools write into the wrong container, put back where BPMN has them.

Enterprise Explorer, for one, writes every sequence flow of a process at the
process level, including those between the activities of a subprocess, and
drops triggeredByEvent from event subprocesses. SpiffWorkflow reads a
subprocess's flows from inside it, so such a subprocess would start and then
have nowhere to go. Where the meaning is unambiguous it is restored before
parsing:

- a sequence flow whose source and target sit together in another container
  is moved into that container;
- a subprocess without incoming flows whose start events all have a trigger
  is an event subprocess: BPMN allows triggered start events in no other.
"""
from engine.namespaces import NSMAP, event_definitions

CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")


def put_misplaced_elements_back(root):
    """Moves, in place, the misplaced flows and marks the event subprocesses described above."""
    containers = {}  # element id -> the container it is a child of
    for name in CONTAINERS:
        for container in root.iter(f"{{{NSMAP['bpmn']}}}{name}"):
            for child in container:
                if child.get("id"):
                    containers[child.get("id")] = container
    for flow in list(root.iter(f"{{{NSMAP['bpmn']}}}sequenceFlow")):
        home = containers.get(flow.get("sourceRef"))
        if home is not None and home is containers.get(flow.get("targetRef")) and home is not flow.getparent():
            flow.getparent().remove(flow)
            home.append(flow)
    targets = {flow.get("targetRef") for flow in root.iter(f"{{{NSMAP['bpmn']}}}sequenceFlow")}
    for subprocess in root.iter(f"{{{NSMAP['bpmn']}}}subProcess"):
        starts = subprocess.findall("bpmn:startEvent", NSMAP)
        if subprocess.get("triggeredByEvent") != "true" and starts and subprocess.get("id") not in targets \
                and all(event_definitions(start) for start in starts):
            subprocess.set("triggeredByEvent", "true")
