// "Add undo": for a service task bound to a handler that has an undo, one command draws a
// compensation boundary event on the task, an undo service task marked isForCompensation
// and the association between them. The undo task gets no topic of its own: Maestro runs
// the undo handler bound to the compensated task's topic (README, "Compensation").
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

const COMMAND = 'maestro.addUndo';

function isCompensationBoundary(element) {
  if (!is(element, 'bpmn:BoundaryEvent')) return false;
  return (getBusinessObject(element).eventDefinitions || [])
    .some((definition) => is(definition, 'bpmn:CompensateEventDefinition'));
}

/** Whether "Add undo" applies: a bound task whose handler has an undo, not compensated yet. */
export function canAddUndo(element, handlerCatalog) {
  const handler = handlerCatalog.forElement(element);
  return Boolean(handler && handler.undo && !(element.attachers || []).some(isCompensationBoundary));
}

/** The three new elements are created in preExecute, so one undo (Ctrl+Z) removes them together. */
function AddUndoHandler(modeling, elementFactory, bpmnFactory) {
  this._modeling = modeling;
  this._elementFactory = elementFactory;
  this._bpmnFactory = bpmnFactory;
}
AddUndoHandler.$inject = ['modeling', 'elementFactory', 'bpmnFactory'];

AddUndoHandler.prototype.preExecute = function(context) {
  const { task } = context;
  const modeling = this._modeling;
  const boundary = modeling.createShape(
    this._elementFactory.createShape({
      type: 'bpmn:BoundaryEvent',
      eventDefinitionType: 'bpmn:CompensateEventDefinition'
    }),
    { x: task.x + task.width - 25, y: task.y + task.height },
    task,
    { attach: true }
  );
  const name = getBusinessObject(task).name || task.id;
  const undo = modeling.createShape(
    this._elementFactory.createShape({
      type: 'bpmn:ServiceTask',
      businessObject: this._bpmnFactory.create('bpmn:ServiceTask', { name: `Undo ${name}` }),
      isForCompensation: true
    }),
    { x: task.x + task.width / 2 + 60, y: task.y + task.height + 110 },
    task.parent
  );
  // bpmn-js's rules make a compensation boundary -> isForCompensation task link an association.
  context.association = modeling.connect(boundary, undo);
  context.boundary = boundary;
  context.undo = undo;
};

function UndoContextPad(contextPad, commandStack, selection, handlerCatalog, translate) {
  commandStack.registerHandler(COMMAND, AddUndoHandler);
  contextPad.registerProvider(this);
  this._commandStack = commandStack;
  this._selection = selection;
  this._handlerCatalog = handlerCatalog;
  this._translate = translate;
}
UndoContextPad.$inject = ['contextPad', 'commandStack', 'selection', 'handlerCatalog', 'translate'];

UndoContextPad.prototype.getContextPadEntries = function(element) {
  if (!canAddUndo(element, this._handlerCatalog)) return {};
  return {
    'maestro-add-undo': {
      group: 'edit',
      className: 'bpmn-icon-intermediate-event-catch-compensation',
      title: this._translate('Add undo (compensation boundary + undo task)'),
      // Selecting the new undo task shows it in the properties panel (and closes this pad).
      action: { click: (event, target) => this._selection.select(addUndo(this._commandStack, target).undo) }
    }
  };
};

export function addUndo(commandStack, task) {
  const context = { task };
  commandStack.execute(COMMAND, context);
  return context;
}

export default {
  __init__: ['maestroUndoContextPad'],
  maestroUndoContextPad: ['type', UndoContextPad]
};
