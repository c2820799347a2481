// Script entry: node dist/src/plan/write-json-schema.js <out>  (npm run schema)
import { writeFile } from 'node:fs/promises';
import { planJsonSchemaText } from './json-schema.js';

const out = process.argv[2];
if (out === undefined || process.argv.length > 3) {
  process.stderr.write('usage: node dist/src/plan/write-json-schema.js <output-file>\n');
  process.exitCode = 2;
} else {
  await writeFile(out, planJsonSchemaText());
  process.stdout.write(`wrote ${out}\n`);
}
