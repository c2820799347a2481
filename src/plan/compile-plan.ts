/**
 * Validate once at the edge (STYLE.md habit 5): raw input → schema → cross-references →
 * a frozen Plan with defaults applied, durations in ms and secrets still as references.
 */
import { posix } from 'node:path';
import { parseDuration } from './duration.js';
import { formatPath, invalidPlanError, type PathIssue } from './issues.js';
import type {
  DatabaseConnection,
  Plan,
  PlanRepository,
  PlanService,
  PlanSource,
  PlanTier,
  RepositoryLocation,
  SecretRef,
} from './plan.js';
import { planSchema, type RawPlan, type RawSecretRef, type RawSource } from './schema.js';
import { orderServices } from './service-graph.js';
import { fromZodIssues } from './zod-issues.js';

export type PlanValidation = { ok: true; plan: Plan } | { ok: false; issues: PathIssue[] };

/** Like compilePlan, but returns the issues with structured paths (load-plan places them). */
export function validatePlan(raw: unknown): PlanValidation {
  if (raw === null || raw === undefined) {
    return {
      ok: false,
      issues: [
        { path: [], message: 'the plan is empty: it needs version, repositories and services' },
      ],
    };
  }
  // reportInput lets messages tell a missing key from a wrong one; inputs never reach the output.
  const parsed = planSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { ok: false, issues: fromZodIssues(parsed.error.issues) };
  const issues: PathIssue[] = [];
  const plan = build(parsed.data, issues);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, plan: deepFreeze(plan) };
}

/**
 * Compiles raw input (parsed YAML or JSON) into a deeply frozen Plan. Throws LifeboatError
 * INVALID_PLAN listing every issue (details.issues: PlanIssue[]); it does no I/O.
 */
export function compilePlan(raw: unknown): Plan {
  const result = validatePlan(raw);
  if (!result.ok) {
    throw invalidPlanError(
      result.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    );
  }
  return result.plan;
}

function build(raw: RawPlan, issues: PathIssue[]): Plan {
  const repositories = dict<PlanRepository>();
  const primaryRepository = choosePrimary(raw, issues);
  for (const [name, repo] of Object.entries(raw.repositories)) {
    repositories[name] = {
      name,
      url: repo.url,
      location: parseLocation(repo.url),
      password: secretRef(repo.password),
      primary: name === primaryRepository,
    };
  }

  const tiers = dict<PlanTier>();
  for (const [name, tier] of Object.entries(raw.tiers ?? {})) {
    tiers[name] = {
      name,
      rtoMs: parseDuration(tier.rto),
      rpoMs: parseDuration(tier.rpo),
      ...(tier.description === undefined ? {} : { description: tier.description }),
    };
  }

  const services = dict<PlanService>();
  const graph = new Map<string, string[]>();
  for (const [name, service] of Object.entries(raw.services)) {
    const at = ['services', name];
    if (service.tier !== undefined && !Object.hasOwn(tiers, service.tier)) {
      const known = Object.keys(tiers);
      issues.push({
        path: [...at, 'tier'],
        message: `unknown tier ${JSON.stringify(service.tier)} (${known.length === 0 ? 'the plan defines no tiers' : `known: ${known.join(', ')}`})`,
      });
    }
    if (service.repository !== undefined && !Object.hasOwn(repositories, service.repository)) {
      issues.push({
        path: [...at, 'repository'],
        message: `unknown repository ${JSON.stringify(service.repository)} (known: ${Object.keys(repositories).join(', ')})`,
      });
    }
    const dependsOn: string[] = [];
    (service.dependsOn ?? []).forEach((dep, index) => {
      const path = [...at, 'dependsOn', index];
      if (dep === name) issues.push({ path, message: 'a service cannot depend on itself' });
      else if (!Object.hasOwn(raw.services, dep)) {
        issues.push({ path, message: `unknown service ${JSON.stringify(dep)}` });
      } else if (dependsOn.includes(dep)) {
        issues.push({ path, message: `${JSON.stringify(dep)} is listed more than once` });
      } else dependsOn.push(dep);
    });
    graph.set(name, dependsOn);
    services[name] = {
      name,
      ...(service.tier === undefined ? {} : { tier: service.tier }),
      dependsOn,
      // When the primary is in doubt an issue is already recorded and the plan is discarded.
      repository: service.repository ?? primaryRepository ?? '',
      source: compileSource(service.source),
      tags: [...(service.tags ?? [])],
    };
  }

  const { order, cycles } = orderServices(graph);
  for (const cycle of cycles) {
    const from = cycle.at(-2) ?? '';
    const to = cycle.at(-1) ?? '';
    issues.push({
      path: ['services', from, 'dependsOn', raw.services[from]?.dependsOn?.indexOf(to) ?? 0],
      message: `dependency cycle: ${cycle.join(' → ')}`,
    });
  }

  return {
    version: raw.version,
    repositories,
    primaryRepository: primaryRepository ?? '',
    tiers,
    services,
    serviceOrder: order,
  };
}

/** The only repository is the primary; among several, exactly one must say `primary: true`. */
function choosePrimary(raw: RawPlan, issues: PathIssue[]): string | undefined {
  const entries = Object.entries(raw.repositories);
  const [only] = entries;
  if (entries.length === 1 && only !== undefined) {
    if (only[1].primary === false) {
      issues.push({
        path: ['repositories', only[0], 'primary'],
        message: 'the only repository is always the primary; remove primary: false',
      });
    }
    return only[0];
  }
  const primaries = entries.filter(([, repo]) => repo.primary === true).map(([name]) => name);
  const [first, ...others] = primaries;
  if (first === undefined) {
    issues.push({
      path: ['repositories'],
      message: `${entries.length} repositories and none is the primary: set primary: true on one`,
    });
    return undefined;
  }
  for (const name of others) {
    issues.push({
      path: ['repositories', name, 'primary'],
      message: `only one repository may be the primary, and ${JSON.stringify(first)} already is`,
    });
  }
  return others.length === 0 ? first : undefined;
}

function parseLocation(url: string): RepositoryLocation {
  // The schema admits only local URLs so far: "/path" or "local:/path".
  return { type: 'local', path: normalisePath(url.startsWith('local:') ? url.slice(6) : url) };
}

function compileSource(source: RawSource): PlanSource {
  switch (source.type) {
    case 'directory':
      return {
        type: 'directory',
        path: normalisePath(source.path),
        exclude: [...(source.exclude ?? [])],
        oneFileSystem: source.oneFileSystem ?? false,
      };
    case 'postgres':
      return {
        type: 'postgres',
        mode: source.mode ?? 'logical',
        ...connection(source, 5432, 'postgres'),
        user: source.user ?? 'postgres',
        ...(source.databases ? { databases: [...source.databases] } : {}),
        wal: {
          mode: source.wal?.mode ?? 'archive',
          slot: source.wal?.slot ?? 'lifeboat',
          ...(source.wal?.spool ? { spool: normalisePath(source.wal.spool) } : {}),
        },
      };
    case 'mariadb':
      return {
        type: 'mariadb',
        ...connection(source, 3306, 'root'),
        user: source.user ?? 'root',
        ...(source.databases ? { databases: [...source.databases] } : {}),
      };
    case 'redis':
      return { type: 'redis', ...connection({ ...source, user: source.username }, 6379) };
    case 'mongodb':
      return {
        type: 'mongodb',
        ...connection(source, 27017),
        authenticationDatabase: source.authenticationDatabase ?? 'admin',
        ...(source.databases ? { databases: [...source.databases] } : {}),
      };
  }
}

function connection(
  source: {
    host?: string | undefined;
    port?: number | undefined;
    user?: string | undefined;
    password?: RawSecretRef | undefined;
    binDir?: string | undefined;
  },
  defaultPort: number,
  defaultUser?: string,
): DatabaseConnection {
  const user = source.user ?? defaultUser;
  return {
    host: source.host ?? '127.0.0.1',
    port: source.port ?? defaultPort,
    ...(user === undefined ? {} : { user }),
    ...(source.password ? { password: secretRef(source.password) } : {}),
    ...(source.binDir ? { binDir: normalisePath(source.binDir) } : {}),
  };
}

function secretRef(raw: RawSecretRef): SecretRef {
  return 'env' in raw ? { env: raw.env } : { file: raw.file };
}

/** "/srv//app/" and "/srv/app" must be the same source, or snapshots would not line up. */
function normalisePath(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
