"""Form fields of user tasks, as Camunda Modeler and Spiff Arena write them."""
from lxml import etree

from engine.read.forms import form_of

SPIFF = """<bpmn:userTask xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="review">
  <bpmn:extensionElements>
    <spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="review-schema.json"/>
      <spiffworkflow:property name="formUiSchemaFilename" value="review-uischema.json"/>
    </spiffworkflow:properties>
  </bpmn:extensionElements>
</bpmn:userTask>"""

CAMUNDA = """<bpmn:userTask xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="pick">
  <bpmn:extensionElements><camunda:formData>
    <camunda:formField id="size" label="Size" type="enum" defaultValue="m">
      <camunda:value id="s" name="Small"/><camunda:value id="m" name="Medium"/>
    </camunda:formField>
  </camunda:formData></bpmn:extensionElements>
</bpmn:userTask>"""


def test_spiff_arena_json_schema_form():
    assert form_of(etree.fromstring(SPIFF)) == {"json_schema": "review-schema.json", "ui_schema": "review-uischema.json"}


def test_camunda_enum_field_with_values():
    field, = form_of(etree.fromstring(CAMUNDA))["fields"]
    assert field == {"id": "size", "label": "Size", "type": "enum", "default": "m", "required": False,
                     "values": [{"id": "s", "name": "Small"}, {"id": "m", "name": "Medium"}]}


def test_a_task_without_a_form_has_none():
    assert form_of(etree.fromstring('<userTask xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="x"/>')) is None
