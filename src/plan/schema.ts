/**
 * The shape of lifeboat.yaml, as written by users. Pure validation: no transforms, so the
 * same schema serves runtime checks and the published JSON Schema (json-schema.ts), and
 * `compilePlan` does the normalising. Every object is strict: a misspelt key in a DR plan
 * must be an error, not a silently ignored setting.
 *
 * Extension points: `source` is a union discriminated on `type` (database engines join it),
 * repository URLs grow schemes (sftp:, s3:), and new top-level sections are new keys.
 */
import { z } from 'zod';
import {
  HOST_RULE,
  IDENTIFIER_PATTERN,
  IDENTIFIER_RULE,
  isHost,
  NAME_PATTERN,
} from '../core/identifiers.js';
import { DURATION_HINT, tryParseDuration } from './duration.js';

const NAME_RULE =
  'must be 1 to 63 lowercase letters, digits, "-" or "_", starting with a letter or digit';

const INLINE_SECRET_MESSAGE =
  'inline passwords are not allowed: use { env: VARIABLE } or { file: /path/to/file }';

const name = z.string().regex(NAME_PATTERN, NAME_RULE);

const absolutePath = z
  .string()
  .regex(/^\//, { message: 'must be an absolute path', abort: true })
  .refine((p) => !p.includes('\0'), 'must not contain a NUL character');

const positiveDuration = z
  .string()
  .regex(/^[1-9][0-9]*[smhdw]$/, {
    message: `must be a positive duration: ${DURATION_HINT}`,
    abort: true,
  })
  .refine((text) => tryParseDuration(text) !== undefined, 'is too large to count in milliseconds')
  .meta({ examples: ['30s', '15m', '4h', '1d'] });

const nonEmptyRecord = <V extends z.ZodType>(value: V, what: string) =>
  z
    .record(name, value)
    .refine((r) => Object.keys(r).length > 0, `at least one ${what} is required`)
    .meta({ minProperties: 1 });

export const secretRefSchema = z
  .union(
    [
      z
        .strictObject({
          env: z
            .string()
            .regex(
              /^[A-Za-z_][A-Za-z0-9_]*$/,
              'must be an environment variable name: letters, digits and "_", not starting with a digit',
            ),
        })
        .describe('Read the secret from this environment variable.'),
      z
        .strictObject({ file: absolutePath })
        .describe('Read the secret from this file; one trailing newline is removed.'),
    ],
    {
      error: (issue) =>
        typeof issue.input === 'string'
          ? INLINE_SECRET_MESSAGE
          : 'must be exactly one of { env: VARIABLE } or { file: /path/to/file }',
    },
  )
  .describe('A reference to a secret; secrets are never written inline.');

const repositorySchema = z.strictObject({
  url: z
    .string()
    // Only local repositories exist in this version; sftp: and s3: are added with their backends.
    .regex(/^(local:)?\//, 'must be an absolute path or local:/absolute/path')
    .describe('Where the repository lives: /absolute/path or local:/absolute/path.'),
  password: secretRefSchema.describe('The repository password, as { env } or { file }.'),
  primary: z
    .boolean()
    .optional()
    .describe('Marks the repository backups go to first. Required on exactly one of several.'),
});

const tierSchema = z.strictObject({
  rto: positiveDuration.describe('Recovery time objective: the longest acceptable outage.'),
  rpo: positiveDuration.describe('Recovery point objective: the most data that may be lost.'),
  description: z.string().optional().describe('What the tier means, for people.'),
});

const directorySourceSchema = z
  .strictObject({
    type: z.literal('directory').describe('Back up a directory tree.'),
    path: absolutePath.describe('The directory to back up.'),
    exclude: z
      .array(z.string().min(1, 'must not be empty'))
      .optional()
      .describe('Glob patterns of files and directories to leave out.'),
    oneFileSystem: z
      .boolean()
      .optional()
      .describe('Stay on the file system of `path`; do not cross mount points.'),
  })
  .describe('A directory tree on this machine.');

// Names and hosts reach database tools; refuse anything a tool could read as an option,
// a connection string, SQL or a config line (issue 3, "Bad input").
const identifier = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(IDENTIFIER_PATTERN, IDENTIFIER_RULE);
const host = z
  .string()
  .max(1024, 'is too long')
  .refine((h) => isHost(h), HOST_RULE)
  .describe('Host name, IP address, or an absolute Unix-socket directory.');
const port = z.number().int().min(1).max(65535);

const postgresSourceSchema = z
  .strictObject({
    type: z.literal('postgres').describe('A PostgreSQL cluster.'),
    mode: z
      .enum(['logical', 'physical'])
      .optional()
      .describe(
        'logical (default): pg_dump per database plus globals. physical: pg_basebackup plus continuous WAL, for point-in-time recovery.',
      ),
    host: host.optional().describe('Default 127.0.0.1.'),
    port: port.optional().describe('Default 5432.'),
    user: identifier.optional().describe('Default postgres. Physical mode needs REPLICATION.'),
    password: secretRefSchema.optional().describe('The login password, as { env } or { file }.'),
    databases: z
      .array(identifier)
      .optional()
      .describe('Logical mode: the databases to dump; default every connectable database.'),
    binDir: absolutePath.optional().describe('Directory of the PostgreSQL client tools.'),
    wal: z
      .strictObject({
        mode: z
          .enum(['archive', 'stream'])
          .optional()
          .describe(
            'archive (default): PostgreSQL calls `lifeboat wal push %p`. stream: `lifeboat wal stream` follows the server with pg_receivewal.',
          ),
        slot: identifier
          .optional()
          .describe('Stream mode: the replication slot (default lifeboat).'),
        spool: absolutePath
          .optional()
          .describe('Stream mode: local directory for pg_receivewal (default under /var/tmp).'),
      })
      .optional()
      .describe('Physical mode: how WAL reaches the repository.'),
  })
  .describe('PostgreSQL: logical dumps or physical base backups with WAL.');

const mariadbSourceSchema = z
  .strictObject({
    type: z.literal('mariadb').describe('A MariaDB or MySQL server.'),
    host: host.optional().describe('Default 127.0.0.1.'),
    port: port.optional().describe('Default 3306.'),
    user: identifier.optional().describe('Default root.'),
    password: secretRefSchema.optional(),
    databases: z.array(identifier).optional().describe('Default every user database.'),
    binDir: absolutePath.optional(),
  })
  .describe('MariaDB/MySQL: mariadb-dump --single-transaction per database.');

const redisSourceSchema = z
  .strictObject({
    type: z.literal('redis').describe('A Redis server.'),
    host: host.optional().describe('Default 127.0.0.1.'),
    port: port.optional().describe('Default 6379.'),
    username: identifier.optional().describe('ACL user name, if not the default user.'),
    password: secretRefSchema.optional(),
    binDir: absolutePath.optional(),
  })
  .describe('Redis: an RDB snapshot over the replication protocol.');

const mongodbSourceSchema = z
  .strictObject({
    type: z.literal('mongodb').describe('A MongoDB server (untested: no server here).'),
    host: host.optional().describe('Default 127.0.0.1.'),
    port: port.optional().describe('Default 27017.'),
    user: identifier.optional(),
    password: secretRefSchema.optional(),
    authenticationDatabase: identifier.optional().describe('Default admin.'),
    databases: z.array(identifier).optional().describe('Default all databases.'),
    binDir: absolutePath.optional(),
  })
  .describe('MongoDB: mongodump --archive.');

const sourceSchema = z
  .discriminatedUnion('type', [
    directorySourceSchema,
    postgresSourceSchema,
    mariadbSourceSchema,
    redisSourceSchema,
    mongodbSourceSchema,
  ])
  .describe('What to back up; `type` selects the kind of source.');

const serviceSchema = z.strictObject({
  tier: name.optional().describe('The recovery tier (a key of `tiers`).'),
  dependsOn: z.array(name).optional().describe('Services that must be restored before this one.'),
  repository: name
    .optional()
    .describe('The repository for this service; defaults to the primary repository.'),
  source: sourceSchema,
  tags: z
    .array(
      z.string().regex(
        // restic's command line splits tag lists on commas, so a tag may not contain one.
        /^[^,\s]{1,128}$/,
        'must be 1 to 128 characters without commas or whitespace',
      ),
    )
    .optional()
    .describe('Extra tags for the snapshots of this service.'),
});

export const planSchema = z.strictObject({
  version: z
    .literal(1, { error: 'must be 1: this version of Lifeboat reads plan version 1' })
    .describe('The plan format version; always 1.'),
  repositories: nonEmptyRecord(repositorySchema, 'repository').describe(
    'Where backups are stored, by name.',
  ),
  tiers: z
    .record(name, tierSchema)
    .optional()
    .describe('Recovery classes with RTO and RPO targets, by name.'),
  services: nonEmptyRecord(serviceSchema, 'service').describe('What is protected, by name.'),
});

export type RawPlan = z.infer<typeof planSchema>;
export type RawRepository = z.infer<typeof repositorySchema>;
export type RawTier = z.infer<typeof tierSchema>;
export type RawService = z.infer<typeof serviceSchema>;
export type RawSource = z.infer<typeof sourceSchema>;
export type RawSecretRef = z.infer<typeof secretRefSchema>;
