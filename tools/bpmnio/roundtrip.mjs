// Open and save a BPMN file the way a bpmn.io modeller does: bpmn-moddle's fromXML, then toXML({format: true}).
//
//   node tools/bpmnio/roundtrip.mjs [--spiffworkflow] IN.bpmn OUT.bpmn
//
// Import warnings (unknown elements, unresolved references, ...) go to stderr and make the exit code 2, because a
// modeller that warns on open may drop what it warned about on save. A file that does not read at all exits 1.
// No moddle descriptor for the spiffworkflow namespace is registered on purpose: a modeller without the
// SpiffWorkflow plugin (Camunda Modeler, the plain bpmn.io modeller) keeps those extension elements only as generic
// elements, and that is the case the tests prove to be lossless for the engine. `--spiffworkflow` registers the
// descriptor the web modeller's properties panel edits them with (src/spiffworkflow.json): lossless too.
import { readFile, writeFile } from 'node:fs/promises';
import { BpmnModdle } from 'bpmn-moddle';

const spiffworkflow = JSON.parse(await readFile(new URL('./src/spiffworkflow.json', import.meta.url), 'utf8'));

async function main(argv) {
  const typed = argv[0] === '--spiffworkflow';
  const files = typed ? argv.slice(1) : argv;
  if (files.length !== 2) {
    process.stderr.write('usage: node roundtrip.mjs [--spiffworkflow] IN.bpmn OUT.bpmn\n');
    return 64;
  }
  const [input, output] = files;
  const xml = await readFile(input, 'utf8');
  const moddle = new BpmnModdle(typed ? { spiffworkflow } : {});
  let result;
  try {
    result = await moddle.fromXML(xml, 'bpmn:Definitions');
  } catch (error) {
    process.stderr.write(`${input}: cannot be read: ${error.message}\n`);
    for (const warning of error.warnings || []) {
      process.stderr.write(`${input}: warning: ${warning.message}\n`);
    }
    return 1;
  }
  for (const warning of result.warnings) {
    process.stderr.write(`${input}: warning: ${warning.message}\n`);
  }
  const { xml: saved } = await moddle.toXML(result.rootElement, { format: true });
  await writeFile(output, saved, 'utf8');
  return result.warnings.length ? 2 : 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => { process.stderr.write(`${error.stack || error}\n`); process.exitCode = 1; },
);
