// The two versions side by side: bpmn-js viewers that pan and zoom together, with each change
// marked where it shows (added on the newer version, removed on the older, changed and moved on both).
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

/** The marker class of each kind of change (compare.css colours them). */
export const MARKERS = { added: 'diff-added', removed: 'diff-removed', changed: 'diff-changed', moved: 'diff-moved' };

/** A viewer that reads camunda: attributes, so topics, retries and the like are part of what is compared. */
export function createViewer(container) {
  return new NavigatedViewer({ container, moddleExtensions: { camunda: camundaModdle } });
}

/** Both viewers at one scale on the same place: wherever either diagram has elements, centred, at most full size. */
export function showBoth(viewers) {
  const boxes = viewers.map((viewer) => viewer.get('canvas').viewbox().inner);
  const left = Math.min(...boxes.map((box) => box.x));
  const top = Math.min(...boxes.map((box) => box.y));
  const right = Math.max(...boxes.map((box) => box.x + box.width));
  const bottom = Math.max(...boxes.map((box) => box.y + box.height));
  const { outer } = viewers[0].get('canvas').viewbox();
  const margin = 40;
  const scale = Math.min(1, outer.width / (right - left + 2 * margin), outer.height / (bottom - top + 2 * margin));
  const width = outer.width / scale;
  const height = outer.height / scale;
  const box = { x: (left + right) / 2 - width / 2, y: (top + bottom) / 2 - height / 2, width, height };
  viewers.forEach((viewer) => viewer.get('canvas').viewbox(box));
}

/** Both viewers show the same part of the diagram: moving or zooming one moves the other. */
export function panTogether(first, second) {
  const follow = (leader, follower) => leader.on('canvas.viewbox.changed', ({ viewbox }) => {
    const canvas = follower.get('canvas');
    if (sameBox(canvas.viewbox(), viewbox)) return;  // the follower's own echo
    canvas.viewbox({ x: viewbox.x, y: viewbox.y, width: viewbox.width, height: viewbox.height });
  });
  follow(first, second);
  follow(second, first);
}

function sameBox(a, b) {
  return ['x', 'y', 'width', 'height'].every((side) => Math.abs(a[side] - b[side]) < 0.5);
}

/** Marks each change on the viewers where its element is drawn. */
export function markChanges(changes, { older, newer }) {
  for (const change of changes) {
    const on = change.kind === 'added' ? [newer] : change.kind === 'removed' ? [older] : [older, newer];
    for (const viewer of on) {
      if (!viewer.get('elementRegistry').get(change.id)) continue;  // e.g. a process without a shape
      viewer.get('canvas').addMarker(change.id, MARKERS[change.kind]);
      if (change.moved) viewer.get('canvas').addMarker(change.id, MARKERS.moved);
    }
  }
}

/**
 * Selects the element on each viewer that draws it and centres the viewers on it (at least at
 * full size); the viewers follow each other, so the one without it shows the same place.
 */
export function focus(id, viewers) {
  const showing = viewers.filter((viewer) => viewer.get('elementRegistry').get(id));
  viewers.forEach((viewer) => {
    const element = viewer.get('elementRegistry').get(id);
    viewer.get('selection').select(element || null);
  });
  if (!showing.length) return;
  const viewer = showing[showing.length - 1];  // the newer version when both have it
  const canvas = viewer.get('canvas');
  const box = boundsOf(viewer.get('elementRegistry').get(id));
  const { outer, scale } = canvas.viewbox();
  const zoom = Math.max(scale, 1);
  const width = outer.width / zoom;
  const height = outer.height / zoom;
  canvas.viewbox({ x: box.x + box.width / 2 - width / 2, y: box.y + box.height / 2 - height / 2, width, height });
}

function boundsOf(element) {
  if (!element.waypoints) return element;
  const xs = element.waypoints.map((point) => point.x);
  const ys = element.waypoints.map((point) => point.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}
