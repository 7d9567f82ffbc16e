// The toolbar: save the diagram as a draft, deploy the draft, download the .bpmn, discard
// the draft. A draft is kept per process key (the executable process's id) on the server.
import { ApiError } from './api.js';
import { executableProcess } from './modeler.js';

export function createToolbar(modeler, api, page, { problemsView, notify, showDraft }) {
  const buttons = {
    save: document.getElementById('save-draft'),
    deploy: document.getElementById('deploy'),
    download: document.getElementById('download'),
    discard: document.getElementById('discard-draft')
  };
  let unsaved = false;

  modeler.on('commandStack.changed', () => { unsaved = true; });
  // Leaving with changes that are neither saved nor deployed asks first.
  window.addEventListener('beforeunload', (event) => {
    if (unsaved) event.preventDefault();
  });

  function processKey() {
    const process = executableProcess(modeler);
    if (!process || !process.id) {
      throw new Error('The diagram has no process: draw one (its id is the key the draft is saved under).');
    }
    return process.id;
  }

  async function currentXml() {
    return (await modeler.saveXML({ format: true })).xml;
  }

  async function save() {
    const key = processKey();
    // The version the page opened belongs to the key it opened: a renamed process is a new one.
    if (key !== page.key) page.basedOnVersion = null;
    const draft = await api.saveDraft(key, await currentXml(), page.basedOnVersion);
    unsaved = false;
    page.key = key;
    const editUrl = page.editUrl(key);
    if (window.location.pathname !== editUrl) window.history.replaceState(null, '', editUrl);
    showDraft(draft);
    return draft;
  }

  /** Runs an action with the buttons disabled, reporting its failure in the status line. */
  function action(button, run) {
    button.addEventListener('click', async () => {
      Object.values(buttons).forEach((each) => { each.disabled = true; });
      try {
        await run();
      } catch (error) {
        notify(error instanceof ApiError || error instanceof Error ? error.message : String(error), 'error');
      } finally {
        Object.values(buttons).forEach((each) => { each.disabled = false; });
      }
    });
  }

  action(buttons.save, async () => {
    const draft = await save();
    notify(`Draft of ${draft.key} saved.`, 'ok');
  });

  action(buttons.deploy, async () => {
    const draft = await save();
    try {
      let deployed;
      try {
        deployed = await api.deployDraft(draft.key);
      } catch (error) {
        // Someone deployed a newer version since the one this draft was edited from: deploying it
        // would drop their changes unless the analyst means to.
        if (!(error instanceof ApiError && error.status === 409 && error.body.error === 'newer_version')) throw error;
        if (!window.confirm(`${error.body.message}\n\nDeploy this draft anyway as the newest version?`)) {
          throw new Error(`Not deployed: ${error.body.message} The draft is kept.`);
        }
        deployed = await api.deployDraft(draft.key, { overNewer: true });
      }
      showDraft(null);
      notify(`Deployed ${deployed.key} version ${deployed.version}.`, 'ok');
      rememberDeploy(deployed);
      window.location.assign(page.processUrl(deployed.key));
    } catch (error) {
      if (error instanceof ApiError && error.status === 422 && Array.isArray(error.body.errors)) {
        problemsView.show(error.body.errors, { refusedBy: 'Deploy' });
        throw new Error(`Not deployed: ${error.body.errors.length} problem(s), marked on the diagram. The draft is kept.`);
      }
      throw error;
    }
  });

  action(buttons.download, async () => {
    const xml = await currentXml();
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([xml], { type: 'application/xml' }));
    link.download = `${executableProcess(modeler)?.id || 'diagram'}.bpmn`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });

  action(buttons.discard, async () => {
    if (!window.confirm('Discard the saved draft? The deployed versions stay as they are.')) return;
    await api.deleteDraft(page.key);
    showDraft(null);
    await page.loadSaved();
    unsaved = false;
    notify('Draft discarded.', 'ok');
  });

  return { save };
}

/** A note for the process page the editor opens next: it says what was deployed and links to what changed. */
function rememberDeploy({ key, version }) {
  try {
    window.sessionStorage.setItem('maestro.deployed', JSON.stringify({ key, version }));
  } catch (error) {
    // storage refused (private mode): the process page's own compare links remain
  }
}
