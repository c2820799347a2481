/**
 * The compiled plan: what the rest of Lifeboat reads. Produced only by `compilePlan`, deeply
 * frozen, with defaults applied and cross-references checked, so downstream code never
 * re-validates and never sees raw YAML. Maps keyed by name are null-prototype objects, so a
 * service called "constructor" cannot collide with Object.prototype.
 */

/** A secret is kept as a reference until the moment it is needed (see secrets.ts). */
export type SecretRef = { readonly env: string } | { readonly file: string };

/** Where a repository lives; a union so that sftp and s3 can join it. */
export interface LocalLocation {
  readonly type: 'local';
  /** Absolute, normalised, without a trailing slash. */
  readonly path: string;
}
export type RepositoryLocation = LocalLocation;

export interface PlanRepository {
  readonly name: string;
  /** The URL as written in the plan (it never contains a secret). */
  readonly url: string;
  readonly location: RepositoryLocation;
  readonly password: SecretRef;
  /** True for exactly one repository of the plan. */
  readonly primary: boolean;
}

export interface PlanTier {
  readonly name: string;
  readonly rtoMs: number;
  readonly rpoMs: number;
  readonly description?: string;
}

export interface DirectorySource {
  readonly type: 'directory';
  /** Absolute, normalised, without a trailing slash. */
  readonly path: string;
  readonly exclude: readonly string[];
  readonly oneFileSystem: boolean;
}
/** Connection settings shared by the database sources; defaults applied. */
export interface DatabaseConnection {
  readonly host: string;
  readonly port: number;
  /** Absent only for Redis without an ACL user. */
  readonly user?: string;
  readonly password?: SecretRef;
  /** Absolute directory of the engine's client tools, when not on PATH. */
  readonly binDir?: string;
}

export interface PostgresSource extends DatabaseConnection {
  readonly type: 'postgres';
  readonly mode: 'logical' | 'physical';
  readonly user: string;
  /** Logical mode; undefined means every connectable database. */
  readonly databases?: readonly string[];
  readonly wal: {
    readonly mode: 'archive' | 'stream';
    readonly slot: string;
    readonly spool?: string;
  };
}

export interface MariadbSource extends DatabaseConnection {
  readonly type: 'mariadb';
  readonly user: string;
  readonly databases?: readonly string[];
}

export interface RedisSource extends DatabaseConnection {
  readonly type: 'redis';
}

export interface MongodbSource extends DatabaseConnection {
  readonly type: 'mongodb';
  readonly authenticationDatabase: string;
  readonly databases?: readonly string[];
}

export type DatabaseSource = PostgresSource | MariadbSource | RedisSource | MongodbSource;
export type PlanSource = DirectorySource | DatabaseSource;

export interface PlanService {
  readonly name: string;
  /** Names a key of `Plan.tiers` when present. */
  readonly tier?: string;
  /** Names of services that must be restored first; known, distinct, acyclic. */
  readonly dependsOn: readonly string[];
  /** Names a key of `Plan.repositories`; defaults to the primary. */
  readonly repository: string;
  readonly source: PlanSource;
  readonly tags: readonly string[];
}

export interface Plan {
  readonly version: 1;
  readonly repositories: Readonly<Record<string, PlanRepository>>;
  /** The name of the primary repository. */
  readonly primaryRepository: string;
  readonly tiers: Readonly<Record<string, PlanTier>>;
  readonly services: Readonly<Record<string, PlanService>>;
  /**
   * Every service name once, each after all of its dependencies; among services whose
   * dependencies are met, the order in which they are written.
   */
  readonly serviceOrder: readonly string[];
}
