// Build the web modeller's bundle (src/modeller.mjs with bpmn-js, the properties panel and beian's groups) and copy
// the panel's stylesheet into the web app's static folder, as `postinstall` after copy-bpmn-js.mjs. The target
// folder is gitignored like bpmn-js's: nothing built is committed, and it always matches the lock file.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, '..', '..', 'adapters', 'entrypoints', 'web', 'static', 'vendor', 'beian-modeller');
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
await build({
  entryPoints: [join(here, 'src', 'modeller.mjs')],
  bundle: true,
  format: 'iife',
  minify: true,
  target: ['chrome109', 'firefox115', 'safari15'],
  outfile: join(target, 'modeller.js'),
  logLevel: 'warning',
});
cpSync(join(here, 'node_modules', '@bpmn-io', 'properties-panel', 'dist', 'assets', 'properties-panel.css'),
  join(target, 'properties-panel.css'));
process.stdout.write(`web modeller built into ${target}\n`);
