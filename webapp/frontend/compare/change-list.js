// The list beside the diagrams: one entry per changed element (what it is, the kind of change and,
// for a changed element, each property with its old and new value). Built with DOM calls and
// textContent: names and values come from the diagrams and are never read as HTML.

import { textElement } from '../dom.js';

const HEADINGS = { changed: 'Changed', added: 'Added', removed: 'Removed', moved: 'Moved (layout only)' };

export function createChangeList(list, summary, { onChoose }) {
  const entries = new Map();

  function show(changes, { from, to }) {
    list.replaceChildren();
    entries.clear();
    if (!changes.length) {
      summary.textContent = from === to
        ? `Both sides show version ${to}: choose another version to compare with.`
        : `No differences between version ${from} and version ${to}.`;
      summary.className = 'summary ok';
      return;
    }
    const one = changes.length === 1;
    summary.textContent = `${changes.length} ${one ? 'element differs' : 'elements differ'} between `
      + `version ${from} and version ${to}.`;
    summary.className = 'summary';
    let group = null;
    for (const change of changes) {
      if (!group || group.dataset.kind !== change.kind) {
        group = textElement('li', 'change-group');
        group.dataset.kind = change.kind;
        group.append(textElement('h3', '', HEADINGS[change.kind]), textElement('ol', 'changes'));
        list.append(group);
      }
      group.querySelector('ol').append(entry(change));
    }
  }

  function entry(change) {
    const item = textElement('li', `change ${change.kind}`);
    item.dataset.elementId = change.id;
    item.tabIndex = 0;
    item.title = 'Show it on both diagrams';
    const head = textElement('div', 'change-head');
    head.append(textElement('span', `kind ${change.kind}`, change.kind));
    if (change.moved) head.append(textElement('span', 'kind moved', 'moved'));
    head.append(textElement('span', 'name', change.name || change.id), textElement('span', 'type', change.type));
    item.append(head, textElement('code', 'element-id', change.id));
    if (change.properties.length) {
      const table = textElement('table', 'properties');
      for (const difference of change.properties) {
        const row = textElement('tr', 'property');
        row.dataset.property = difference.property;
        row.append(textElement('th', '', difference.property), value('old', difference.old), value('new', difference.new));
        table.append(row);
      }
      item.append(table);
    }
    const choose = () => onChoose(change.id);
    item.addEventListener('click', choose);
    item.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        choose();
      }
    });
    entries.set(change.id, item);
    return item;
  }

  /** Marks the entry of the element chosen (in the list or on a diagram) and scrolls it into view. */
  function highlight(id) {
    entries.forEach((item) => item.classList.remove('current'));
    const item = entries.get(id);
    if (!item) return;
    item.classList.add('current');
    item.scrollIntoView({ block: 'nearest' });
  }

  return { show, highlight };
}

function value(side, text) {
  const cell = textElement('td', text === null ? `${side} none` : side, text === null ? '(none)' : text);
  cell.title = side === 'old' ? 'before' : 'after';
  return cell;
}
