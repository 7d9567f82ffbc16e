// The bpmn-js Modeler with what Maestro runs editable in the properties panel of the
// diagram's platform (Camunda 7 or Camunda 8, see platform.js).
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import MinimapModule from 'diagram-js-minimap';

import HandlerCatalogModule from './handler-catalog-service.js';
import { platformModules } from './platform.js';
import UndoActionModule from './undo-action.js';

/**
 * The Camunda 7 provider edits external topics, conditions, timers, messages, error codes,
 * isForCompensation, form fields, failedJobRetryTimeCycle and multi-instance; the Camunda 8
 * (Zeebe) provider edits task types and retries, conditions, timers, message correlation
 * keys, error codes and multi-instance: the attributes Maestro's reader understands. The
 * behaviours keep the platform's extensions consistent when an element is replaced (e.g. a
 * task turned into a service task). Search (Ctrl+F), keyboard shortcuts and undo/redo are
 * part of bpmn-js's Modeler; the keyboard listens on the canvas once it has focus
 * (diagram-js 15 binds it implicitly).
 */
export function createModeler({ canvas, propertiesPanel, platform }) {
  const { modules, moddleExtensions } = platformModules(platform);
  return new BpmnModeler({
    container: canvas,
    propertiesPanel: { parent: propertiesPanel },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      ...modules,
      MinimapModule,
      HandlerCatalogModule,
      UndoActionModule
    ],
    moddleExtensions,
    maestro: { platform },
    minimap: { open: false }
  });
}

/** The executable process of the diagram (its id is the key Maestro deploys it under). */
export function executableProcess(modeler) {
  const definitions = modeler.getDefinitions();
  const processes = (definitions && definitions.rootElements || []).filter((root) => root.$type === 'bpmn:Process');
  return processes.find((process) => process.isExecutable) || processes[0] || null;
}
