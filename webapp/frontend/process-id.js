// The process id field of the toolbar: the key a draft is saved and deployed under. On a new
// process it warns when that key is already deployed (deploying would make its next version).
import { executableProcess } from './modeler.js';

// An XML name (ID) as BPMN requires, restricted to what reads well in URLs and the CLI.
const PROCESS_ID = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function createProcessIdField(modeler, api, page, { notify }) {
  const input = document.getElementById('process-id');
  const canvas = modeler.get('canvas');
  const modeling = modeler.get('modeling');

  function current() {
    const process = executableProcess(modeler);
    return process ? process.id : '';
  }

  async function warnWhenDeployed(id) {
    if (page.version || !id) return;  // editing a deployed process: its next version is the point
    // The list, not GET /definitions/<id>: a new id's 404 would be noise in the console.
    const deployed = (await api.definitions()).find((definition) => definition.key === id);
    if (deployed) {
      notify(`A process ${id} is deployed (version ${deployed.version}): deploying makes its next version. `
        + 'Change the process id to make a new process.', 'warning');
    }
  }

  function sync() {
    if (document.activeElement !== input) input.value = current();
  }

  input.addEventListener('change', () => {
    const process = executableProcess(modeler);
    const id = input.value.trim();
    if (!process || id === process.id) return;
    if (!PROCESS_ID.test(id)) {
      notify(`"${id}" cannot be a process id: start with a letter or _, then letters, digits, _, . or -.`, 'error');
      input.value = process.id;
      return;
    }
    // The root element stands for the change on the canvas (a process or a collaboration).
    modeling.updateModdleProperties(canvas.getRootElement(), process, { id });
    warnWhenDeployed(id).catch(() => {});
  });

  modeler.on('import.done', () => {
    sync();
    warnWhenDeployed(current()).catch(() => {});
  });
  modeler.on('commandStack.changed', sync);
}
