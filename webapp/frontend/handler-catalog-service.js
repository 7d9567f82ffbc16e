// A diagram service holding the handlers this server loaded (GET /api/handlers), so that
// diagram features (the "Add undo" context pad entry) can ask which topics have an undo.
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

export function HandlerCatalog(eventBus) {
  this._eventBus = eventBus;
  this._byTopic = new Map();
}
HandlerCatalog.$inject = ['eventBus'];

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

/** The handler a service task is bound to (camunda:type="external" + camunda:topic), if loaded. */
HandlerCatalog.prototype.forElement = function(element) {
  if (!element || !is(element, 'bpmn:ServiceTask')) return null;
  const task = getBusinessObject(element);
  return task.get('camunda:type') === 'external' ? this.forTopic(task.get('camunda:topic')) : null;
};

export default {
  __init__: ['handlerCatalog'],
  handlerCatalog: ['type', HandlerCatalog]
};
