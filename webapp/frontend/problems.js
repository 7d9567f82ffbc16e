// Problems found by the server (POST /api/lint, or a refused deploy) shown on the diagram:
// a marker class and a badge on each element, and a list beside the canvas. The rules live
// only on the server, so the editor can never disagree with what deploy accepts.

const OVERLAY_TYPE = 'maestro-problem';
const MARKERS = ['problem-error', 'problem-warning'];

export function createProblemsView(modeler, list, summary) {
  const canvas = modeler.get('canvas');
  const overlays = modeler.get('overlays');
  const registry = modeler.get('elementRegistry');
  const selection = modeler.get('selection');
  let marked = [];
  let shown = 0;  // how many times problems were shown: a check asked before a later show is stale

  function clear() {
    overlays.remove({ type: OVERLAY_TYPE });
    marked.forEach((id) => MARKERS.forEach((marker) => registry.get(id) && canvas.removeMarker(id, marker)));
    marked = [];
    list.replaceChildren();
  }

  function badge(problems) {
    const worst = problems.some((problem) => problem.severity !== 'warning') ? 'error' : 'warning';
    const element = document.createElement('div');
    element.className = `problem-badge ${worst}`;
    element.textContent = problems.length > 1 ? String(problems.length) : '!';
    const messages = document.createElement('div');
    messages.className = 'problem-messages';
    problems.forEach((problem) => {
      const line = document.createElement('p');
      line.textContent = problem.message;
      messages.appendChild(line);
    });
    element.appendChild(messages);
    return element;
  }

  function listItem(problem, onDiagram) {
    const item = document.createElement('li');
    item.className = `problem ${problem.severity === 'warning' ? 'warning' : 'error'}`;
    item.dataset.element = problem.element || '';
    const where = document.createElement('span');
    where.className = 'where';
    where.textContent = [problem.element, problem.line ? `line ${problem.line}` : null].filter(Boolean).join(' · ')
      || problem.file || 'diagram';
    const message = document.createElement('span');
    message.className = 'message';
    message.textContent = problem.message;
    item.append(where, message);
    if (onDiagram) {
      item.tabIndex = 0;
      item.title = 'Select the element';
      const select = () => {
        const element = registry.get(problem.element);
        selection.select(element);
        canvas.scrollToElement(element);
      };
      item.addEventListener('click', select);
      item.addEventListener('keydown', (event) => { if (event.key === 'Enter') select(); });
    }
    return item;
  }

  /** Replaces what is shown by `problems` ([{file, line, element, message, severity}]);
   * `refusedBy` names what they refused ("Deploy", "Try") when they are not the live check's. */
  function show(problems, { refusedBy = null } = {}) {
    shown += 1;
    clear();
    const byElement = new Map();
    problems.forEach((problem) => {
      const onDiagram = Boolean(problem.element && registry.get(problem.element));
      list.appendChild(listItem(problem, onDiagram));
      if (!onDiagram) return;  // e.g. a problem of the whole file: the list only
      if (!byElement.has(problem.element)) byElement.set(problem.element, []);
      byElement.get(problem.element).push(problem);
    });
    byElement.forEach((found, id) => {
      const error = found.some((problem) => problem.severity !== 'warning');
      canvas.addMarker(id, error ? 'problem-error' : 'problem-warning');
      marked.push(id);
      overlays.add(id, OVERLAY_TYPE, { position: { top: -12, right: 12 }, html: badge(found) });
    });
    const errors = problems.filter((problem) => problem.severity !== 'warning').length;
    const warnings = problems.length - errors;
    const counted = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
    summary.textContent = refusedBy ? `${refusedBy} refused: ${counted}`
      : problems.length ? counted : 'No problems: this server can run it.';
    summary.className = errors ? 'summary error' : warnings ? 'summary warning' : 'summary ok';
  }

  return { show, clear, generation: () => shown };
}

/** Checks the diagram with the server's lint after each change (debounced), newest answer wins. */
export function startLiveChecks(modeler, api, view, { fileName, onError, delay = 500 }) {
  let timer = null;
  let asked = 0;

  // `generation` is taken when the change happened: problems shown since (a refused deploy's)
  // stay until the next change.
  async function check(generation = view.generation()) {
    const ticket = ++asked;
    try {
      const { xml } = await modeler.saveXML({ format: true });
      const answer = await api.lint(xml, fileName());
      if (ticket === asked && generation === view.generation()) view.show(answer.problems || []);
    } catch (error) {
      if (ticket === asked) onError(error);
    }
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, delay, view.generation());
  }

  modeler.on('commandStack.changed', schedule);
  modeler.on('import.done', schedule);
  return { checkNow: () => check() };
}
