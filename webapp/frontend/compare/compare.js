// The compare page (/processes/<key>/compare?from=N&to=M): two versions of a process side by
// side, each change marked on the diagrams and listed beside them. The page passes what to
// compare in data attributes (no inline script: the Content-Security-Policy runs only this
// server's files) and the diagrams come from the JSON API's XML download.
import './compare.css';

import { createApi } from '../api.js';
import { createChangeList } from './change-list.js';
import { createViewer, focus, markChanges, panTogether, showBoth } from './diagrams.js';
import { compareDefinitions } from './version-diff.js';

const root = document.getElementById('compare');
const api = createApi(root.dataset.api);
const versions = { from: Number(root.dataset.from), to: Number(root.dataset.to) };

const older = createViewer(document.getElementById('older-diagram'));
const newer = createViewer(document.getElementById('newer-diagram'));
const viewers = [older, newer];

function choose(id) {
  focus(id, viewers);
  list.highlight(id);
}

const list = createChangeList(document.getElementById('change-list'), document.getElementById('change-summary'),
  { onChoose: choose });

async function open(viewer, version) {
  const { warnings } = await viewer.importXML(await api.versionXml(root.dataset.key, version));
  warnings.forEach((warning) => console.warn(`version ${version}: ${warning.message}`));
  viewer.on('element.click', ({ element }) => list.highlight(element.businessObject?.id || element.id));
}

/** Side by side, or one above the other (wide diagrams read better so); the choice is remembered. */
function layoutToggle() {
  const body = document.querySelector('.compare-body');
  const button = document.getElementById('layout');
  const apply = (stacked) => {
    body.classList.toggle('stacked', stacked);
    button.textContent = stacked ? 'Side by side' : 'One above the other';
    button.setAttribute('aria-pressed', String(stacked));
  };
  apply(remembered() === 'stacked');
  button.addEventListener('click', () => {
    const stacked = !body.classList.contains('stacked');
    apply(stacked);
    remember(stacked ? 'stacked' : 'side-by-side');
    viewers.forEach((viewer) => viewer.get('canvas').resized());
    showBoth(viewers);
  });
}

function remembered() {
  try { return window.localStorage.getItem('maestro.compare.layout'); } catch (error) { return null; }
}

function remember(layout) {
  try { window.localStorage.setItem('maestro.compare.layout', layout); } catch (error) { /* private mode */ }
}

async function start() {
  layoutToggle();
  await Promise.all([open(older, versions.from), open(newer, versions.to)]);
  showBoth(viewers);
  panTogether(older, newer);
  const changes = compareDefinitions(older.getDefinitions(), newer.getDefinitions());
  markChanges(changes, { older, newer });
  list.show(changes, versions);
  root.classList.add('ready');
}

start().catch((error) => {
  const summary = document.getElementById('change-summary');
  summary.textContent = `The versions could not be compared: ${error.message}`;
  summary.className = 'summary error';
  root.classList.add('broken');
});
