// Which Camunda dialect the editor speaks for a diagram: Camunda 8 (zeebe: extensions) or
// Camunda 7 (camunda: extensions). Maestro runs both; the properties panel, the moddle
// extension and the replace behaviours must match what the diagram was written in, and
// the Modeler cannot switch them once built, so the choice is made from the XML text
// before the Modeler exists.
import {
  CamundaPlatformPropertiesProviderModule,
  ZeebePropertiesProviderModule
} from 'bpmn-js-properties-panel';
import { ElementTemplatesPropertiesProviderModule } from 'bpmn-js-element-templates';
import CamundaCloudBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-cloud';
import CamundaPlatformBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import zeebeModdle from 'zeebe-bpmn-moddle/resources/zeebe.json';

export const CAMUNDA_7 = 'camunda7';
export const CAMUNDA_8 = 'camunda8';

const ZEEBE_NAMESPACE = 'http://camunda.org/schema/zeebe/1.0';
const DECLARES_ZEEBE = new RegExp(`\\bxmlns:[\\w.-]+\\s*=\\s*["']${ZEEBE_NAMESPACE.replace(/[./]/g, '\\$&')}["']`);
const CAMUNDA_CLOUD = /\bexecutionPlatform\s*=\s*["']Camunda Cloud["']/;

/** The opening <definitions ...> tag (any prefix), where namespaces and the platform are declared. */
function definitionsTag(xml) {
  const match = /<(?:[\w.-]+:)?definitions\b[^>]*>/.exec(String(xml || ''));
  return match ? match[0] : '';
}

/**
 * Camunda 8 when the definitions declare the zeebe namespace or say the Camunda 8 modeler
 * wrote them for "Camunda Cloud"; Camunda 7 otherwise (Maestro's own templates, Camunda 7
 * and plain BPMN files).
 */
export function platformOf(xml) {
  const tag = definitionsTag(xml);
  return DECLARES_ZEEBE.test(tag) || CAMUNDA_CLOUD.test(tag) ? CAMUNDA_8 : CAMUNDA_7;
}

/**
 * The Modeler modules and moddle extension of a platform. Element templates are Camunda 7
 * ones (GET /api/element-templates), so only the Camunda 7 setup loads their module.
 */
export function platformModules(platform) {
  if (platform === CAMUNDA_8) {
    return {
      modules: [ZeebePropertiesProviderModule, CamundaCloudBehaviorsModule],
      moddleExtensions: { zeebe: zeebeModdle }
    };
  }
  return {
    modules: [CamundaPlatformPropertiesProviderModule, ElementTemplatesPropertiesProviderModule,
      CamundaPlatformBehaviorsModule],
    moddleExtensions: { camunda: camundaModdle }
  };
}
