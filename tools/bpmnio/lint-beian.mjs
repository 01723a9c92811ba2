// beian's own bpmnlint rules (src/lint/rules.mjs: what the modeller shows live) run on BPMN files, for the test that
// holds them to the server's check (tests/modeller/test_lint_parity.py):
//
//   node tools/bpmnio/lint-beian.mjs ROLES_JSON FILE.bpmn…
//
// ROLES_JSON: the lane names that are roles, as a JSON list. Prints one JSON list of {file, code, element_id}.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createRequire } from 'node:module';
import { BpmnModdle } from 'bpmn-moddle';
import { lintConfig } from './src/lint/rules.mjs';

const Linter = createRequire(import.meta.url)('bpmnlint/lib/linter');
const spiffworkflow = JSON.parse(await readFile(new URL('./src/spiffworkflow.json', import.meta.url), 'utf8'));

async function main([rolesJson, ...files]) {
  const { config, resolver } = lintConfig({}, {}, JSON.parse(rolesJson));
  const linter = new Linter({ config, resolver });
  const found = [];
  for (const file of files) {
    const moddle = new BpmnModdle({ spiffworkflow });
    const { rootElement } = await moddle.fromXML(await readFile(file, 'utf8'), 'bpmn:Definitions');
    const reports = await linter.lint(rootElement);
    for (const [rule, items] of Object.entries(reports)) {
      for (const item of items) {
        found.push({ file: basename(file), code: rule.replace(/^beian\//, ''), element_id: item.id || null });
      }
    }
  }
  process.stdout.write(JSON.stringify(found) + '\n');
}

main(process.argv.slice(2)).catch((error) => { process.stderr.write(`${error.stack}\n`); process.exitCode = 1; });
