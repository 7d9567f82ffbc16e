"""What a diagram says about a message beyond its name, read where a message event or send or receive
task is parsed (engine.read.parser) and kept on its event definition for engine.run:

- the correlation key (`correlation_key`): Camunda 8's `zeebe:subscription correlationKey` on the
  message, an expression (engine.run.correlation);
- what a throw sends (`payload_expression`, `payload_mappings`): Spiff Arena's
  `spiffworkflow:messagePayload` (an expression whose value is the payload), or the throw's input
  mappings (Camunda 7 `camunda:inputParameter`, Camunda 8 `zeebe:input`), each a variable of the
  payload; neither given, the thrower's variables (engine.run.outbound);
- where a catch puts what it receives (`message_variable`): Spiff Arena's
  `spiffworkflow:messageVariable`, one variable holding the payload; else its variables merge;
- how long a message nobody waits for is kept (`time_to_live`): the extension property `maestro.ttl`
  (seconds or an ISO 8601 duration) on the throw or on the message.
"""
from engine.namespaces import NSMAP, extension_property

TTL_PROPERTY = "maestro.ttl"


def message_details(event_node, message_ref: str | None) -> dict:
    """The details above for the message event definition (or send/receive task) `event_node`."""
    # A send or receive task may name its message itself; an event definition's element is its parent.
    element = event_node if _is_task(event_node) else event_node.getparent()
    root = event_node.getroottree().getroot()
    message = _one(root.xpath(".//bpmn:message[@id=$ref]", namespaces=NSMAP, ref=message_ref)) \
        if message_ref is not None else None
    places = [node for node in (event_node, element, message) if node is not None]
    return {
        "correlation_key": _text(message, "bpmn:extensionElements/zeebe:subscription/@correlationKey"),
        "payload_expression": _first(places, lambda node: _text(node, ".//spiffworkflow:messagePayload/text()")),
        "message_variable": _first(places, lambda node: _text(node, ".//spiffworkflow:messageVariable/text()")),
        "payload_mappings": _input_mappings(element) if element is not None else [],
        "time_to_live": _first([node for node in (element, message) if node is not None],
                               lambda node: extension_property(node, TTL_PROPERTY)),
    }


def _input_mappings(element) -> list[tuple[str, str, bool]]:
    """(variable, source, whether the source is an expression) of the element's input mappings."""
    mappings = []
    for parameter in element.xpath("bpmn:extensionElements/camunda:inputOutput/camunda:inputParameter",
                                   namespaces=NSMAP):
        text = (parameter.text or "").strip()
        mappings.append((parameter.get("name"), text, "${" in text or "#{" in text))
    for mapping in element.xpath("bpmn:extensionElements/zeebe:ioMapping/zeebe:input", namespaces=NSMAP):
        source = (mapping.get("source") or "").strip()
        mappings.append((mapping.get("target"), source, source.startswith("=")))
    return [mapping for mapping in mappings if mapping[0]]


def _is_task(node) -> bool:
    return node.tag.endswith("}sendTask") or node.tag.endswith("}receiveTask")


def _text(node, path):
    if node is None:
        return None
    found = node.xpath(path, namespaces=NSMAP)
    value = str(found[0]).strip() if found else ""
    return value or None


def _first(nodes, read):
    """The first value `read` finds in `nodes`, in order; None when none has one."""
    return next((value for value in map(read, nodes) if value), None)


def _one(found):
    return found[0] if found else None
