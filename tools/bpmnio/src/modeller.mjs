// The web modeller's bundle (built by build-modeller.mjs into the web app's static/vendor/beian-modeller/): bpmn-js's
// Modeler with the bpmn.io properties panel, beian's groups for what the engine reads (beian-properties.mjs) and
// the SpiffWorkflow moddle descriptor (spiffworkflow.json) so those extension elements are typed, not generic.
// It exposes one function to the page's script (static/modeller.js): window.BeianModeler(options).
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import spiffworkflow from './spiffworkflow.json';
import { beianPropertiesModule } from './beian-properties.mjs';
import translateZh from './translate-zh.mjs';

window.BeianModeler = function BeianModeler({ container, panel, catalogue }) {
  return new BpmnModeler({
    container,
    propertiesPanel: { parent: panel },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, beianPropertiesModule(catalogue),
      translateZh],
    moddleExtensions: { spiffworkflow },
  });
};
