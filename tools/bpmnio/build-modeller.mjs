// Build the web modeller's bundle (src/modeller.mjs with bpmn-js, the properties panel and beian's groups) and copy
// the panel's stylesheet into the web app's static folder, as `postinstall` after copy-bpmn-js.mjs. The target
// folder is gitignored like bpmn-js's: nothing built is committed, and it always matches the lock file.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, '..', '..', 'adapters', 'entrypoints', 'web', 'static', 'vendor', 'beian-modeller');
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
// bpmnlint's recommended rules as one module (`beian:bpmnlint-recommended`): { rules, levels }, the rule factories
// imported statically (what bpmnlint-pack-config does for other bundlers), from the installed bpmnlint's own list.
const recommended = createRequire(import.meta.url)('bpmnlint/config/recommended').rules;
const recommendedModule = {
  name: 'bpmnlint-recommended',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^beian:bpmnlint-recommended$/ }, (args) => ({ path: args.path, namespace: 'beian' }));
    esbuild.onLoad({ filter: /.*/, namespace: 'beian' }, () => {
      const names = Object.keys(recommended);
      const imports = names.map((name, i) => `import rule${i} from 'bpmnlint/rules/${name}';`).join('\n');
      const rules = names.map((name, i) => `${JSON.stringify(name)}: rule${i}`).join(', ');
      return {
        contents: `${imports}\nexport const rules = { ${rules} };\nexport const levels = ${JSON.stringify(recommended)};\n`,
        resolveDir: here,
        loader: 'js',
      };
    });
  },
};

await build({
  entryPoints: [join(here, 'src', 'modeller.mjs')],
  bundle: true,
  format: 'iife',
  minify: true,
  target: ['chrome109', 'firefox115', 'safari15'],
  outfile: join(target, 'modeller.js'),
  logLevel: 'warning',
  plugins: [recommendedModule],
});
cpSync(join(here, 'node_modules', '@bpmn-io', 'properties-panel', 'dist', 'assets', 'properties-panel.css'),
  join(target, 'properties-panel.css'));
cpSync(join(here, 'node_modules', 'bpmn-js-bpmnlint', 'dist', 'assets', 'css', 'bpmn-js-bpmnlint.css'),
  join(target, 'bpmn-js-bpmnlint.css'));
process.stdout.write(`web modeller built into ${target}\n`);
