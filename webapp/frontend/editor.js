// The analyst's editor (/processes/new, /processes/<key>/edit): draws with bpmn-js, checks
// each change with this server's lint, binds tasks to the server's handlers, saves drafts
// and deploys them; "Try it" runs it in memory to show the path it takes. The page passes what it opens in data attributes (no inline script:
// the Content-Security-Policy runs only this server's files).
import './editor.css';

import { createApi } from './api.js';
import { createCatalog, TEMPLATE_PREFIX } from './catalog.js';
import { createModeler } from './modeler.js';
import { platformOf } from './platform.js';
import { createProcessIdField } from './process-id.js';
import { createProblemsView, startLiveChecks } from './problems.js';
import { createToolbar } from './toolbar.js';
import { createTryPanel } from './try-panel.js';

const root = document.getElementById('editor');
const api = createApi(root.dataset.api);
const status = document.getElementById('editor-status');

function notify(message, kind) {
  status.textContent = message;
  status.className = `editor-status ${kind || ''}`;
}

// Built once the diagram's text is known: its platform (Camunda 7 or 8) decides the panel.
let modeler = null;
let platform = null;

// What the page opened: a template (new process), a draft, or a deployed version.
const page = {
  key: root.dataset.key || null,
  version: root.dataset.version ? Number(root.dataset.version) : null,
  basedOnVersion: root.dataset.version ? Number(root.dataset.version) : null,
  editUrl: (key) => root.dataset.editUrl.replace('__key__', encodeURIComponent(key)),
  processUrl: (key) => root.dataset.processUrl.replace('__key__', encodeURIComponent(key)),
  /** Opens the deployed version (or the template of a new process), leaving any draft aside. */
  async loadSaved() {
    page.basedOnVersion = page.version;
    await open(await page.savedXml());
  },
  async savedXml() {
    return page.version ? api.versionXml(page.key, page.version) : templateXml();
  }
};

function templateXml() {
  const template = document.getElementById('editor-template');
  if (!template) throw new Error(`${page.key} has neither a deployed version nor a draft to edit.`);
  return JSON.parse(template.textContent).xml;
}

async function open(xml) {
  if (platformOf(xml) !== platform) {
    // A Modeler cannot change its panel: a diagram of the other platform opens afresh.
    window.location.reload();
    return;
  }
  const { warnings } = await modeler.importXML(xml);
  modeler.get('canvas').zoom('fit-viewport', 'auto');
  if (warnings.length) notify(`Opened with ${warnings.length} warning(s) from the BPMN reader: ${warnings[0].message}`, 'warning');
}

const draftInfo = document.getElementById('draft-info');
const discard = document.getElementById('discard-draft');

function showDraft(draft) {
  discard.hidden = !draft;
  if (!draft) {
    draftInfo.textContent = page.version ? `Editing version ${page.version}.` : 'New process, not saved yet.';
    return;
  }
  const based = draft.based_on_version ? `, based on version ${draft.based_on_version}` : '';
  const when = draft.saved_at ? new Date(draft.saved_at).toLocaleString() : '';
  draftInfo.textContent = `Draft saved by ${draft.saved_by} ${when}${based}.`;
  draftInfo.title = draft.saved_at || '';
}

/** The diagram the page opens: the draft, unless a version was asked for or there is none. */
async function firstDiagram() {
  const draft = page.key ? await api.getDraft(page.key).catch((error) => {
    if (error.status === 404) return null;
    throw error;
  }) : null;
  const xml = draft && !root.dataset.versionAsked ? draft.xml : await page.savedXml();
  return { draft, xml };
}

async function start() {
  // Asked for at once; a failure is said, and leaves the catalog empty.
  const handlerList = api.handlers().then((answer) => answer.handlers || [], (error) => {
    notify(`The handlers could not be listed: ${error.message}`, 'error');
    return [];
  });
  const { draft, xml } = await firstDiagram();
  platform = platformOf(xml);
  modeler = createModeler({
    canvas: document.getElementById('canvas'),
    propertiesPanel: document.getElementById('properties'),
    platform
  });
  root.dataset.platform = platform;
  const problemsView = createProblemsView(
    modeler, document.getElementById('problem-list'), document.getElementById('problem-summary'));
  startLiveChecks(modeler, api, problemsView, {
    fileName: () => `${page.key || 'diagram'}.bpmn`,
    onError: (error) => notify(`The server could not check the diagram: ${error.message}`, 'error')
  });
  const catalog = createCatalog(modeler, document.getElementById('catalog'), { notify });
  createToolbar(modeler, api, page, { problemsView, notify, showDraft });
  createProcessIdField(modeler, api, page, { notify });
  createTryPanel(modeler, api, { problemsView, notify, fileName: () => `${page.key || 'diagram'}.bpmn` });

  // The catalog and its element templates load beside the diagram; either may fail alone.
  const handlers = handlerList.then((list) => catalog.show(list));
  // The server's element templates are in Camunda 7's format: a Camunda 8 diagram does not load
  // them, binding a handler there writes the zeebe:taskDefinition directly (catalog.js).
  if (modeler.get('elementTemplatesLoader', false)) {
    api.elementTemplates().then((templates) => {
      // entriesVisible keeps the panel's usual groups (retries, multi-instance, ...) on a bound task.
      const ours = (templates || []).filter((template) => String(template.id).startsWith(TEMPLATE_PREFIX))
        .map((template) => ({ ...template, entriesVisible: true }));
      modeler.get('elementTemplatesLoader').setTemplates(ours);
    }).catch((error) => notify(`The handler templates could not be loaded: ${error.message}`, 'error'));
  }

  if (draft && root.dataset.versionAsked) {
    // The analyst asked for a version: open it, and say that saving replaces the draft.
    await open(xml);
    showDraft(null);
    notify(`A draft of ${page.key} saved by ${draft.saved_by} exists; saving this version replaces it.`, 'warning');
  } else if (draft) {
    page.basedOnVersion = draft.based_on_version;
    await open(xml);
    showDraft(draft);
  } else {
    await open(xml);
    showDraft(null);
  }
  await handlers;  // the test of readiness: the catalog is there to choose from
  root.classList.add('ready');
}

start().catch((error) => {
  notify(`The editor could not open the diagram: ${error.message}`, 'error');
  root.classList.add('broken');
});
