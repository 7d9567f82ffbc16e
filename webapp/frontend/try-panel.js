// "Try it": runs the diagram once in memory on the server (POST /api/try) with given variables
// and, per service task, the server's handler or a chosen outcome, then shows on the diagram the
// path it took (coloured as the instance page colours an instance), the undos that ran, numbered
// in their order, the final variables and the error. Nothing is deployed or stored. A result
// belongs to the diagram it ran: any change clears it.
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import { ApiError } from './api.js';
import { textElement } from './dom.js';
import { explicitTopic } from './handler-catalog-service.js';

const OVERLAY_TYPE = 'maestro-try';
const STATES = ['failed', 'handled', 'active', 'waiting', 'compensation', 'compensated', 'completed', 'cancelled'];
const STATE_WORDS = {
  failed: 'failed', handled: 'business error (caught)', active: 'running', waiting: 'waiting', compensation: 'undo ran',
  compensated: 'undone', completed: 'completed', cancelled: 'cancelled'
};
const OTHER_CODE = 'error:*';  // the select's "a code of my own" entry; its text field holds the code

function labelOf(element) {
  const name = getBusinessObject(element).name;
  return name ? `${name} (${element.id})` : element.id;
}

/** The elements a try lets the analyst choose for: what the server binds handlers to
 * (engine.read.checks.bindings.service_nodes: service tasks and compensation activities). */
function choosableTasks(registry) {
  return registry.filter((element) => element.type !== 'label'
    && (is(element, 'bpmn:ServiceTask')
      || (element.type === 'bpmn:Task' && getBusinessObject(element).isForCompensation)));
}

/** The error codes the diagram declares (bpmn:Error elements), which boundaries and event subprocesses catch. */
function declaredErrorCodes(modeler) {
  const roots = (modeler.getDefinitions() || {}).rootElements || [];
  const codes = roots.filter((root) => is(root, 'bpmn:Error') && root.errorCode).map((root) => root.errorCode);
  return [...new Set(codes)].sort();
}

/** The camunda:formData fields of the process's plain start events: the variables a start asks for. */
function startFormFields(registry) {
  const fields = [];
  registry.filter((element) => is(element, 'bpmn:StartEvent') && is(element.parent, 'bpmn:Process'))
    .forEach((start) => {
      const extensions = (getBusinessObject(start).extensionElements || {}).values || [];
      extensions.filter((extension) => is(extension, 'camunda:FormData'))
        .forEach((formData) => (formData.fields || []).forEach((field) => field.id && fields.push(field)));
    });
  return fields;
}

/** A start form field's value to try with: its default, read as its type, else a value of that type. */
function sampleValue(field) {
  const given = field.defaultValue;
  if (field.type === 'long') return given !== undefined && given !== '' && !Number.isNaN(Number(given)) ? Number(given) : 0;
  if (field.type === 'boolean') return given === 'true';
  return given !== undefined ? given : '';
}

export function createTryPanel(modeler, api, { problemsView, notify, fileName }) {
  const canvas = modeler.get('canvas');
  const overlays = modeler.get('overlays');
  const registry = modeler.get('elementRegistry');
  const selection = modeler.get('selection');
  const catalog = modeler.get('handlerCatalog');
  const panel = document.getElementById('try');
  const toggle = document.getElementById('try-toggle');
  const variablesInput = document.getElementById('try-variables');
  const variablesError = document.getElementById('try-variables-error');
  const formFields = document.getElementById('try-form-fields');
  const taskList = document.getElementById('try-tasks');
  const run = document.getElementById('try-run');
  const outcome = document.getElementById('try-outcome');
  const steps = document.getElementById('try-steps');
  const finalVariables = document.getElementById('try-final-variables');
  const choices = new Map();  // element id -> {choice, code}: kept while the diagram is redrawn
  let marked = [];

  // -- what to try with -------------------------------------------------------

  function readVariables() {
    let variables;
    try {
      variables = JSON.parse(variablesInput.value.trim() || '{}');
    } catch (error) {
      throw new Error(`The variables are not JSON: ${error.message}`);
    }
    if (variables === null || typeof variables !== 'object' || Array.isArray(variables)) {
      throw new Error('The variables must be a JSON object of names and values, e.g. {"amount": 42}.');
    }
    return variables;
  }

  function showVariablesError(message) {
    variablesError.textContent = message || '';
    variablesError.hidden = !message;
    variablesInput.setAttribute('aria-invalid', message ? 'true' : 'false');
  }

  function fillInStartForm() {
    let variables;
    try {
      variables = readVariables();
    } catch (error) {
      showVariablesError(`${error.message} Correct them before adding the start form's fields.`);
      return;
    }
    startFormFields(registry).forEach((field) => {
      if (!(field.id in variables)) variables[field.id] = sampleValue(field);
    });
    variablesInput.value = JSON.stringify(variables, null, 2);
    showVariablesError(null);
  }

  function showStartForm() {
    const fields = startFormFields(registry);
    formFields.replaceChildren();
    formFields.hidden = !fields.length;
    if (!fields.length) return;
    const names = fields.map((field) => `${field.id} (${field.type || 'string'})`).join(', ');
    formFields.append(textElement('span', null, `The start form asks for ${names}.`));
    const fill = textElement('button', 'small secondary', 'Add its fields');
    fill.type = 'button';
    fill.id = 'try-fill-form';
    fill.addEventListener('click', fillInStartForm);
    formFields.append(' ', fill);
  }

  function handlerWords(task) {
    const handler = catalog.forElement(task);
    if (handler) return `this server's handler ${handler.name}`;
    const businessObject = getBusinessObject(task);
    if (businessObject.isForCompensation && !explicitTopic(task)) {
      return "the undo handler of the task it undoes";
    }
    return "this server's handler (none bound: the try is refused)";
  }

  function option(value, text) {
    const element = document.createElement('option');
    element.value = value;
    element.textContent = text;
    return element;
  }

  function taskChoice(task, codes) {
    const chosen = choices.get(task.id) || { choice: 'handler', code: '' };
    const item = document.createElement('li');
    item.className = 'try-task';
    item.dataset.element = task.id;
    const label = textElement('label', null, labelOf(task));
    const select = document.createElement('select');
    select.id = `try-choice-${task.id}`;
    label.htmlFor = select.id;
    select.append(option('handler', `Run ${handlerWords(task)}`), option('nothing', 'Do nothing'),
      option('fail', 'Technical failure (an incident: no compensation)'),
      ...codes.map((code) => option(`error:${code}`, `BPMN error ${code}`)),
      option(OTHER_CODE, 'BPMN error with another code…'));
    const code = document.createElement('input');
    code.className = 'try-code';
    code.placeholder = 'error code';
    code.setAttribute('aria-label', `Error code ${task.id} throws`);
    code.value = chosen.code;
    const known = Array.from(select.options).some((each) => each.value === chosen.choice);
    select.value = known ? chosen.choice : OTHER_CODE;
    if (!known && chosen.choice.startsWith('error:')) code.value = chosen.choice.slice('error:'.length);
    const remember = () => {
      code.hidden = select.value !== OTHER_CODE;
      choices.set(task.id, { choice: select.value, code: code.value.trim() });
    };
    select.addEventListener('change', () => {
      remember();
      if (!code.hidden) code.focus();
    });
    code.addEventListener('input', remember);
    remember();
    item.append(label, select, code);
    return item;
  }

  function showTasks() {
    const tasks = choosableTasks(registry);
    const codes = declaredErrorCodes(modeler);
    taskList.replaceChildren(...tasks.map((task) => taskChoice(task, codes)));
    if (!tasks.length) taskList.append(textElement('li', 'empty', 'The diagram has no service task to choose for.'));
  }

  /** {element id: choice} for the tasks not left to the server's handler (the default). */
  function chosenTasks() {
    const tasks = {};
    choosableTasks(registry).forEach((task) => {
      const { choice, code } = choices.get(task.id) || { choice: 'handler' };
      if (choice === 'handler') return;
      if (choice === OTHER_CODE) {
        if (!code) throw new Error(`Give the code of the BPMN error ${task.id} throws.`);
        tasks[task.id] = `error:${code}`;
      } else {
        tasks[task.id] = choice;
      }
    });
    return tasks;
  }

  // -- what happened ----------------------------------------------------------

  function clearDiagram() {
    overlays.remove({ type: OVERLAY_TYPE });
    marked.forEach((id) => registry.get(id) && STATES.forEach((state) => canvas.removeMarker(id, `m-${state}`)));
    marked = [];
  }

  function showOutcome(text, kind) {
    outcome.replaceChildren();
    if (text) outcome.append(textElement('span', kind ? `try-message ${kind}` : 'try-message', text));
  }

  /** Forgets the last result; `why` says so where it was. */
  function clearResult(why) {
    clearDiagram();
    steps.replaceChildren();
    finalVariables.textContent = '';
    finalVariables.hidden = true;
    panel.classList.remove('has-result');
    showOutcome(why || '', 'muted');
  }

  function badge(id, html) {
    const element = document.createElement('span');
    element.className = html.className;
    element.textContent = html.text;
    element.title = html.title;
    overlays.add(id, OVERLAY_TYPE, { position: html.position, html: element });
  }

  function markDiagram(result) {
    Object.entries(result.elements || {}).forEach(([id, found]) => {
      if (!registry.get(id)) return;  // e.g. an element of a called process in another file
      canvas.addMarker(id, `m-${found.state}`);
      marked.push(id);
      if (found.count > 1) {
        badge(id, { className: 'visits', text: String(found.count), title: `ran ${found.count} times`,
          position: { top: -10, right: 10 } });
      }
    });
    const undoNumbers = new Map();
    result.path.filter((step) => step.undo_of).forEach((step, index) => {
      if (!undoNumbers.has(step.element)) undoNumbers.set(step.element, []);
      undoNumbers.get(step.element).push(index + 1);
    });
    undoNumbers.forEach((numbers, id) => {
      if (!registry.get(id)) return;
      badge(id, { className: 'undo-order', text: `undo ${numbers.join(', ')}`,
        title: `the ${numbers.map(ordinal).join(' and ')} undo that ran`, position: { bottom: 10, left: -8 } });
    });
    return undoNumbers;
  }

  function ordinal(number) {
    const tens = number % 100;
    const suffix = tens >= 11 && tens <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[number % 10] || 'th');
    return `${number}${suffix}`;
  }

  function select(id) {
    const element = registry.get(id);
    if (!element) return;
    selection.select(element);
    canvas.scrollToElement(element);
  }

  function stepItem(step, undoNumber) {
    const item = document.createElement('li');
    item.className = `try-step s-${step.state}`;
    item.dataset.element = step.element;
    const head = document.createElement('span');
    head.className = 'step-head';
    head.append(textElement('span', `step-state m-${step.state}`, STATE_WORDS[step.state] || step.state),
      textElement('span', 'step-name', step.name && step.name !== step.element ? `${step.name}` : step.element));
    if (undoNumber) head.append(textElement('span', 'tag', `undo ${undoNumber}`));
    item.append(head);
    if (step.undo_of) {
      const undone = registry.get(step.undo_of);
      item.append(textElement('span', 'step-note', `undoes ${undone ? labelOf(undone) : step.undo_of}`));
    }
    if (step.error) item.append(textElement('span', 'step-note error', step.error.message));
    if (registry.get(step.element)) {
      item.tabIndex = 0;
      item.title = `Select ${step.element} on the diagram`;
      item.addEventListener('click', () => select(step.element));
      item.addEventListener('keydown', (event) => { if (event.key === 'Enter') select(step.element); });
    }
    return item;
  }

  function showResult(result) {
    clearResult();
    panel.classList.add('has-result');
    markDiagram(result);
    let undos = 0;
    steps.replaceChildren(...result.path.map((step) => stepItem(step, step.undo_of ? ++undos : null)));
    const status = textElement('span', `badge ${result.status}`, result.status);
    status.id = 'try-status';
    outcome.replaceChildren(status);
    const ran = `${result.path.length} step${result.path.length === 1 ? '' : 's'}`;
    const undone = undos ? `, ${undos} undo${undos === 1 ? '' : 's'}` : '';
    outcome.append(textElement('span', 'try-message', ` ${ran}${undone}.`));
    if (result.error) {
      const where = result.error.bpmn_id ? `${result.error.bpmn_id}: ` : '';
      const error = textElement('p', 'try-error', `${where}${result.error.message}`);
      error.id = 'try-error';
      outcome.append(error);
    }
    finalVariables.textContent = JSON.stringify(result.variables, null, 2);
    finalVariables.hidden = false;
  }

  // -- running ------------------------------------------------------------------

  async function tryIt() {
    let variables;
    let tasks;
    try {
      variables = readVariables();
      showVariablesError(null);
    } catch (error) {
      showVariablesError(error.message);
      variablesInput.focus();
      return;
    }
    try {
      tasks = chosenTasks();
    } catch (error) {
      showOutcome(error.message, 'error');
      return;
    }
    run.disabled = true;
    showOutcome('Running…', 'muted');
    try {
      const { xml } = await modeler.saveXML({ format: true });
      showResult(await api.tryIt(xml, fileName(), variables, tasks));
    } catch (error) {
      clearResult();
      if (error instanceof ApiError && error.status === 422 && Array.isArray(error.body.errors)) {
        problemsView.show(error.body.errors, { refusedBy: 'Try' });
        showOutcome(`Not tried: ${error.body.errors.length} problem(s), marked on the diagram and listed above.`,
          'error');
      } else {
        showOutcome(`Not tried: ${error.message}`, 'error');
      }
    } finally {
      run.disabled = false;
    }
  }

  function open(opened) {
    panel.hidden = !opened;
    toggle.setAttribute('aria-expanded', String(opened));
    toggle.classList.toggle('pressed', opened);
    if (opened) {
      showTasks();
      showStartForm();
      if (!variablesInput.value.trim() && startFormFields(registry).length) fillInStartForm();
    }
    // The canvas changed size: let bpmn-js measure it again.
    canvas.resized();
  }

  toggle.addEventListener('click', () => open(panel.hidden));
  run.addEventListener('click', () => tryIt().catch((error) => notify(error.message, 'error')));
  variablesInput.addEventListener('input', () => showVariablesError(null));

  function diagramChanged() {
    if (panel.classList.contains('has-result')) {
      clearResult('The diagram changed since the last try: run it again to see its path.');
    }
    if (!panel.hidden) {
      showTasks();
      showStartForm();
    }
  }
  modeler.on('commandStack.changed', diagramChanged);
  modeler.on('import.done', diagramChanged);
  modeler.on('handlerCatalog.changed', () => { if (!panel.hidden) showTasks(); });
  return { open };
}
