import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { PLAN_SCHEMA_ID, planJsonSchema, planJsonSchemaText } from './json-schema.js';

// From dist/src/plan/ back to the repository root.
const COMMITTED = new URL('../../../schema/lifeboat.schema.json', import.meta.url);

test('the committed schema/lifeboat.schema.json matches the zod schema', async () => {
  const committed = await readFile(COMMITTED, 'utf8');
  assert.ok(
    committed === planJsonSchemaText(),
    'schema/lifeboat.schema.json is out of date: run `npm run schema` and commit it',
  );
});

test('the JSON Schema is identified and as strict as the zod schema', () => {
  const schema = planJsonSchema() as {
    $id: string;
    title: string;
    additionalProperties: boolean;
    required: string[];
    properties: Record<string, { minProperties?: number; propertyNames?: { pattern: string } }>;
  };
  assert.equal(schema.$id, PLAN_SCHEMA_ID);
  assert.match(schema.title, /lifeboat/i);
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ['version', 'repositories', 'services']);
  assert.equal(schema.properties['services']?.minProperties, 1);
  assert.equal(schema.properties['services']?.propertyNames?.pattern, '^[a-z0-9][a-z0-9_-]{0,62}$');
  // A password may never be a plain string.
  const text = JSON.stringify(schema.properties['repositories']);
  assert.match(text, /"password":\{"anyOf":\[\{"type":"object"/);
});
