// The differences between two versions of a diagram, element by element: bpmn-js-differ says
// which elements were added, removed, changed or only moved; the properties that changed (old and
// new values) come from comparing each element's flattened properties (element-properties.js),
// which also catches the changes the differ does not see (e.g. a timer's duration).
import { diff } from 'bpmn-js-differ';

import { differences, isDiagramElement, propertiesOf, typeName } from './element-properties.js';

export const KINDS = ['changed', 'added', 'removed', 'moved'];

/**
 * [{id, kind, name, type, moved, properties: [{property, old, new}]}] ordered by kind (KINDS) and
 * then as the elements appear in the file. kind "moved" is a layout-only change; a changed element
 * that also moved has moved: true.
 */
export function compareDefinitions(oldDefinitions, newDefinitions) {
  const found = diff(oldDefinitions, newDefinitions);
  const before = elementsOf(oldDefinitions);
  const after = elementsOf(newDefinitions);
  const changes = [];
  const add = (kind, id, element, extra) => changes.push({
    id, kind, name: label(element), type: typeName(element.$type), moved: false, properties: [], ...extra
  });

  for (const [id, element] of after) {
    if (!before.has(id)) {
      if (id in found._added || isDiagramElement(element)) add('added', id, element);
      continue;
    }
    const properties = differences(propertiesOf(before.get(id)), propertiesOf(element));
    const moved = id in found._layoutChanged;
    if (properties.length || id in found._changed) add('changed', id, element, { properties, moved });
    else if (moved) add('moved', id, element);
  }
  for (const [id, element] of before) {
    if (!after.has(id)) add('removed', id, element);
  }
  return changes.sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind));
}

/** Every diagram element of the definitions by id, in file order (processes, their flow elements, lanes...). */
function elementsOf(definitions) {
  const found = new Map();
  const visit = (element) => {
    if (!element || !element.$descriptor || element.$descriptor.isGeneric) return;
    if (isDiagramElement(element) && element.id && !element.$instanceOf('bpmn:DataObject')) found.set(element.id, element);
    for (const property of element.$descriptor.properties) {
      if (property.isReference || property.isVirtual || property.name === 'diagrams') continue;
      const value = element[property.name];
      if (Array.isArray(value)) value.forEach(visit);
      else if (value && value.$type) visit(value);
    }
  };
  (definitions.rootElements || []).forEach(visit);
  return found;
}

/** How the list names an element: its name, or for an unnamed flow where it goes ("Check -> Ship"). */
function label(element) {
  if (element.name) return element.name;
  if (element.sourceRef && element.targetRef) {
    return `${element.sourceRef.name || element.sourceRef.id} → ${element.targetRef.name || element.targetRef.id}`;
  }
  return '';
}
