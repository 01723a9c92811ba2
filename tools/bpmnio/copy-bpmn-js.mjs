// Copy bpmn-js's prebuilt modeller and navigated-viewer bundles and their stylesheets/font into the web app's static
// folder, where the process owners' modeller page (adapters/entrypoints/web/templates/modeller.html) and every page with a
// process diagram (adapters/entrypoints/web/templates/_diagram.html: the case page, a version, the upload check, the diff) load
// them from /static/vendor/bpmn-js/.
//
// Runs as this package's `postinstall`, so `npm ci --prefix tools/bpmnio` (the install step) leaves the web app ready.
// The target folder is gitignored: nothing from the bundle is committed, and the copy always matches the lock file.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'node_modules', 'bpmn-js', 'dist');
const target = join(here, '..', '..', 'adapters', 'entrypoints', 'web', 'static', 'vendor', 'bpmn-js');
const files = [
  'bpmn-modeler.production.min.js', 'bpmn-navigated-viewer.production.min.js',
  'assets/diagram-js.css', 'assets/bpmn-js.css', 'assets/bpmn-font',
];

for (const file of files) {
  if (!existsSync(join(dist, file))) {
    process.stderr.write(`bpmn-js is not installed as expected: ${join(dist, file)} is missing\n`);
    process.exit(1);
  }
}
rmSync(target, { recursive: true, force: true });
mkdirSync(join(target, 'assets'), { recursive: true });
for (const file of files) {
  cpSync(join(dist, file), join(target, file), { recursive: true });
}
process.stdout.write(`bpmn-js copied to ${target}\n`);
