// A diagram service holding the handlers this server loaded (GET /api/handlers), so that
// diagram features (the "Add undo" context pad entry) can ask which topics have an undo.
// It also reads and writes a service task's topic the way the diagram's platform does:
// camunda:type="external" + camunda:topic (Camunda 7), <zeebe:taskDefinition type> (Camunda 8).
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import { CAMUNDA_8 } from './platform.js';

const BIND_ZEEBE_TOPIC = 'maestro.bindZeebeTopic';

// Compared by name: in Camunda 7 mode zeebe: is an unknown package to the moddle.
function zeebeTaskDefinition(businessObject) {
  const values = (businessObject.extensionElements && businessObject.extensionElements.values) || [];
  return values.find((value) => value.$type === 'zeebe:TaskDefinition') || null;
}

/**
 * The topic a service task names itself, whichever platform wrote it (Maestro reads both,
 * engine/read/topics.py), or null.
 */
export function explicitTopic(element) {
  const task = getBusinessObject(element);
  if (task.get('camunda:type') === 'external' && task.get('camunda:topic')) return task.get('camunda:topic');
  const definition = zeebeTaskDefinition(task);
  return (definition && definition.get('type')) || null;
}

/**
 * Writes <zeebe:taskDefinition type="topic"> into the task's extension elements, creating
 * what is missing, in preExecute: the whole change is one command, so one Ctrl+Z unbinds.
 */
function BindZeebeTopicHandler(modeling, bpmnFactory) {
  this._modeling = modeling;
  this._bpmnFactory = bpmnFactory;
}
BindZeebeTopicHandler.$inject = ['modeling', 'bpmnFactory'];

BindZeebeTopicHandler.prototype.preExecute = function({ element, topic }) {
  const task = getBusinessObject(element);
  let extensionElements = task.extensionElements;
  if (!extensionElements) {
    extensionElements = this._bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    extensionElements.$parent = task;
    this._modeling.updateProperties(element, { extensionElements });
  }
  const existing = zeebeTaskDefinition(task);
  if (existing) {
    this._modeling.updateModdleProperties(element, existing, { type: topic });
    return;
  }
  const definition = this._bpmnFactory.create('zeebe:TaskDefinition', { type: topic });
  definition.$parent = extensionElements;
  this._modeling.updateModdleProperties(element, extensionElements, {
    values: [...(extensionElements.values || []), definition]
  });
};

BindZeebeTopicHandler.prototype.execute = function() { return []; };
BindZeebeTopicHandler.prototype.revert = function() { return []; };

export function HandlerCatalog(eventBus, commandStack, modeling, config) {
  this._eventBus = eventBus;
  this._commandStack = commandStack;
  this._modeling = modeling;
  this._platform = (config && config.platform) || null;
  this._byTopic = new Map();
  commandStack.registerHandler(BIND_ZEEBE_TOPIC, BindZeebeTopicHandler);
}
HandlerCatalog.$inject = ['eventBus', 'commandStack', 'modeling', 'config.maestro'];

HandlerCatalog.prototype.set = function(handlers) {
  this._byTopic = new Map(handlers.map((handler) => [handler.topic, handler]));
  this._eventBus.fire('handlerCatalog.changed', { handlers });
};

HandlerCatalog.prototype.all = function() {
  return Array.from(this._byTopic.values());
};

HandlerCatalog.prototype.forTopic = function(topic) {
  return topic ? this._byTopic.get(topic) || null : null;
};

/** The handler a service task is bound to, if loaded. */
HandlerCatalog.prototype.forElement = function(element) {
  if (!element || !is(element, 'bpmn:ServiceTask')) return null;
  return this.forTopic(explicitTopic(element));
};

/** Binds a service task to a topic in the platform's own terms, as one undoable command. */
HandlerCatalog.prototype.bindTopic = function(element, topic) {
  if (this._platform === CAMUNDA_8) {
    this._commandStack.execute(BIND_ZEEBE_TOPIC, { element, topic });
  } else {
    this._modeling.updateProperties(element, { 'camunda:type': 'external', 'camunda:topic': topic });
  }
};

export default {
  __init__: ['handlerCatalog'],
  handlerCatalog: ['type', HandlerCatalog]
};
