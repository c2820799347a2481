/**
 * The plan's JSON Schema, generated from the zod schema so that the two cannot disagree.
 * Editors use it for completion and inline errors (docs/plan.md); the committed copy in
 * schema/lifeboat.schema.json is checked against this output by a test.
 */
import { z } from 'zod';
import { planSchema } from './schema.js';

export const PLAN_SCHEMA_ID = 'urn:lifeboat:plan:1';

export function planJsonSchema(): Record<string, unknown> {
  // io 'input': the schema describes what users write (the schema has no transforms anyway).
  const generated = z.toJSONSchema(planSchema, { target: 'draft-2020-12', io: 'input' });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: PLAN_SCHEMA_ID,
    title: 'Lifeboat plan (lifeboat.yaml)',
    description:
      'A disaster-recovery plan as code: repositories, recovery tiers and the services they protect.',
    ...rest,
  };
}

/** The exact text of schema/lifeboat.schema.json: two-space indent, trailing newline. */
export function planJsonSchemaText(): string {
  return `${JSON.stringify(planJsonSchema(), null, 2)}\n`;
}
