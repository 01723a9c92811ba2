// The web modeller's bundle (built by build-modeller.mjs into the web app's static/vendor/beian-modeller/): bpmn-js's
// Modeler with the bpmn.io properties panel, beian's groups for what the engine reads (beian-properties.mjs) and
// the SpiffWorkflow moddle descriptor (spiffworkflow.json) so those extension elements are typed, not generic, and
// live lint: bpmnlint's recommended rules with beian's own (lint/rules.mjs).
// It exposes one function to the page's script (static/modeller.js): window.BeianModeler(options).
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import spiffworkflow from './spiffworkflow.json';
import { beianPropertiesModule } from './beian-properties.mjs';
import translateZh from './translate-zh.mjs';
import lintModule from 'bpmn-js-bpmnlint';
import { rules, levels } from 'beian:bpmnlint-recommended';
import { lintConfig } from './lint/rules.mjs';

window.BeianModeler = function BeianModeler({ container, panel, catalogue }) {
  // Live lint (bpmn-js-bpmnlint): bpmnlint's recommended rules and beian's own (lint/rules.mjs), on every change.
  const roles = catalogue.roles.map((role) => role.label).concat([catalogue.system_lane]);
  return new BpmnModeler({
    container,
    linting: { bpmnlint: lintConfig(rules, levels, roles), active: true },
    propertiesPanel: { parent: panel },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, beianPropertiesModule(catalogue),
      translateZh, lintModule],
    moddleExtensions: { spiffworkflow },
  });
};
