// The handlers this server loaded, as building blocks: choosing one binds the selected
// service task to its topic. In Camunda 7 mode, when the server's element template for the
// topic is loaded, it is applied (the properties panel then shows the handler's template);
// otherwise the topic is written directly, as <zeebe:taskDefinition type> in Camunda 8 mode.
// Each is one command, so Ctrl+Z unbinds.
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import { textElement } from './dom.js';
import { explicitTopic } from './handler-catalog-service.js';
import { addUndo, canAddUndo } from './undo-action.js';

export const TEMPLATE_PREFIX = 'maestro.handler.';

/** A handler's function name as a task label: charge_payment -> "Charge payment". */
function readable(name) {
  const words = String(name).replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function hintFor(task) {
  if (!task) return 'Select a service task, then choose the handler it runs.';
  const businessObject = getBusinessObject(task);
  const label = businessObject.name || task.id;
  if (businessObject.isForCompensation && !explicitTopic(task)) {
    return `${label} is an undo task: without a topic, Maestro runs the undo handler of the task it compensates. `
      + 'Choose a handler only to run another one.';
  }
  return `Choose the handler ${label} runs.`;
}

export function createCatalog(modeler, container, { notify }) {
  const catalog = modeler.get('handlerCatalog');
  const selection = modeler.get('selection');
  const modeling = modeler.get('modeling');
  const commandStack = modeler.get('commandStack');
  // Absent in Camunda 8 mode: the server's templates are Camunda 7 ones (platform.js).
  const elementTemplates = modeler.get('elementTemplates', false);
  const list = container.querySelector('.handlers');
  const hint = container.querySelector('.catalog-hint');

  function selectedServiceTask() {
    const selected = selection.get();
    return selected.length === 1 && is(selected[0], 'bpmn:ServiceTask') ? selected[0] : null;
  }

  function bind(handler) {
    const task = selectedServiceTask();
    if (!task) {
      notify('Select a service task on the diagram first, then choose its handler.', 'warning');
      return;
    }
    const template = elementTemplates && elementTemplates.get(TEMPLATE_PREFIX + handler.topic);
    if (template) {
      elementTemplates.applyTemplate(task, template);
    } else {
      catalog.bindTopic(task, handler.topic);
    }
    if (!getBusinessObject(task).name) modeling.updateLabel(task, readable(handler.name));
    notify(`${task.id} now runs the handler ${handler.name} (topic ${handler.topic}).`
      + (handler.undo ? ' It has an undo: "Add undo" draws its compensation.' : ''), 'ok');
    refresh();
  }

  function item(handler) {
    const entry = document.createElement('li');
    entry.className = 'handler';
    entry.dataset.topic = handler.topic;
    const choose = document.createElement('button');
    choose.type = 'button';
    choose.className = 'choose';
    choose.title = `Bind the selected service task to ${handler.topic}`;
    choose.append(textElement('strong', 'name', handler.name), textElement('code', 'topic', handler.topic));
    if (handler.undo) choose.append(textElement('span', 'has-undo', 'has undo'));
    choose.addEventListener('click', () => bind(handler));
    entry.appendChild(choose);
    if (handler.doc) entry.appendChild(textElement('p', 'doc', handler.doc));
    if (handler.undo) {
      if (handler.undo_doc) entry.appendChild(textElement('p', 'doc undo-doc', `Undo: ${handler.undo_doc}`));
      const undo = textElement('button', 'add-undo small', 'Add undo');
      undo.type = 'button';
      undo.hidden = true;
      undo.title = 'Draw a compensation boundary event and an undo task for the selected task';
      undo.addEventListener('click', () => {
        const task = selectedServiceTask();
        if (task && canAddUndo(task, catalog)) {
          selection.select(addUndo(commandStack, task).undo);
          notify(`Added the undo of ${task.id}: Maestro runs ${handler.topic}'s undo handler when it compensates.`, 'ok');
        }
      });
      entry.appendChild(undo);
    }
    return entry;
  }

  /** Marks the handler the selected task uses and shows "Add undo" where it applies. */
  function refresh() {
    const task = selectedServiceTask();
    const bound = task ? catalog.forElement(task) : null;
    list.querySelectorAll('.handler').forEach((entry) => {
      const isBound = Boolean(bound && bound.topic === entry.dataset.topic);
      entry.classList.toggle('bound', isBound);
      const undo = entry.querySelector('.add-undo');
      if (undo) undo.hidden = !(isBound && canAddUndo(task, catalog));
    });
    hint.textContent = hintFor(task);
  }

  function show(handlers) {
    catalog.set(handlers);
    list.replaceChildren(...handlers.map(item));
    if (!handlers.length) list.appendChild(textElement('li', 'empty', 'This server has no handlers loaded.'));
    refresh();
  }

  modeler.on('selection.changed', refresh);
  modeler.on('commandStack.changed', refresh);
  return { show };
}
