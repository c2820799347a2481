/**
 * The command lines of the contestants, all run as the postgres OS user: Lifeboat (this
 * checkout's CLI in plan mode), pg_dump / pg_restore / pg_ctl from PostgreSQL 15, restic 0.14
 * and pgBackRest. Passwords travel in files named by the environment (PGPASSFILE,
 * RESTIC_PASSWORD_FILE, LIFEBOAT_PASSWORD_FILE, the plan) or in the environment itself
 * (LIFEBOAT_TARGET_PASSWORD), never in argv.
 */
import { join } from 'node:path';
import type { CommandSpec } from '../measure.js';
import { asUser, cleanToolEnv } from './exec.js';
import { PGBACKREST_STANZA, type Workspace } from './workspace.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
export const RESTIC = '/usr/bin/restic';
export const PGBACKREST = '/usr/bin/pgbackrest';

/** A server as a client reaches it: TCP on 127.0.0.1 with a libpq password file. */
export interface PgTarget {
  readonly port: number;
  readonly passFile: string;
}

export class Commands {
  /** Extra node flags for Lifeboat runs (set per step, e.g. --cpu-prof into the step's dir). */
  nodeFlags: string[] = [];

  constructor(
    private readonly ws: Workspace,
    private readonly lifeboatBin: string,
  ) {}

  private spec(file: string, args: string[], env: Record<string, string> = {}): CommandSpec {
    return asUser(this.ws.user, {
      file,
      args,
      env: cleanToolEnv({ HOME: this.ws.dir, ...env }),
      cwd: this.ws.dir,
    });
  }

  /** `lifeboat --json -q <args>` with the plan. */
  lifeboat(args: string[], env: Record<string, string> = {}): CommandSpec {
    return this.spec(
      process.execPath,
      [...this.nodeFlags, this.lifeboatBin, '--json', '-q', ...args],
      env,
    );
  }

  lifeboatBackup(service: string): CommandSpec {
    return this.lifeboat(['backup', '--plan', this.ws.planFile, service]);
  }

  lifeboatInit(repo: string): CommandSpec {
    return this.spec(process.execPath, [this.lifeboatBin, '-q', '-r', repo, 'init'], {
      LIFEBOAT_PASSWORD_FILE: this.ws.repoPasswordFile,
    });
  }

  resticInit(repo: string): CommandSpec {
    return this.restic(repo, ['init']);
  }

  restic(repo: string, args: string[]): CommandSpec {
    return this.spec(RESTIC, ['-r', repo, '--json', '-q', ...args], {
      RESTIC_PASSWORD_FILE: this.ws.repoPasswordFile,
      RESTIC_CACHE_DIR: this.ws.resticCache,
    });
  }

  resticBackupStdin(repo: string, filename: string): CommandSpec {
    return this.restic(repo, ['backup', '--stdin', '--stdin-filename', filename]);
  }

  private pgConn(target: PgTarget): string[] {
    return ['-h', '127.0.0.1', '-p', String(target.port), '-U', 'postgres', '--no-password'];
  }

  /** pg_dump in plain format to stdout, as one pipes it into `restic backup --stdin`. */
  pgDumpPlain(source: PgTarget, db: string): CommandSpec {
    return this.spec(join(PG_BIN, 'pg_dump'), [...this.pgConn(source), db], {
      PGPASSFILE: source.passFile,
    });
  }

  /** pg_dump -Fc (its default zlib compression) to a local file. */
  pgDumpCustom(source: PgTarget, db: string, file: string): CommandSpec {
    return this.spec(join(PG_BIN, 'pg_dump'), [...this.pgConn(source), '-Fc', '-f', file, db], {
      PGPASSFILE: source.passFile,
    });
  }

  /** pg_dump -Fc -Z0 to stdout: the dump Lifeboat stores, alone (the speed Lifeboat is fed at). */
  pgDumpCustomRaw(source: PgTarget, db: string): CommandSpec {
    return this.spec(join(PG_BIN, 'pg_dump'), [...this.pgConn(source), '-Fc', '-Z0', db], {
      PGPASSFILE: source.passFile,
    });
  }

  /** The tar Lifeboat's physical backup stores, alone: pg_basebackup -Ft -X none to stdout. */
  pgBasebackupTar(source: PgTarget): CommandSpec {
    return this.spec(
      join(PG_BIN, 'pg_basebackup'),
      [...this.pgConn(source), '-D', '-', '-Ft', '-X', 'none', '--checkpoint=fast'],
      { PGPASSFILE: source.passFile },
    );
  }

  /** pg_restore --create -j<jobs> from the -Fc file, connected to the maintenance database. */
  pgRestoreJobs(target: PgTarget, file: string, jobs: number): CommandSpec {
    return this.spec(
      join(PG_BIN, 'pg_restore'),
      [
        ...this.pgConn(target),
        '--create',
        '--exit-on-error',
        `--jobs=${String(jobs)}`,
        '-d',
        'postgres',
        file,
      ],
      { PGPASSFILE: target.passFile },
    );
  }

  pgbackrest(args: string[]): CommandSpec {
    return this.spec(PGBACKREST, [
      `--config=${this.ws.pgbackrestConf}`,
      `--stanza=${PGBACKREST_STANZA}`,
      ...args,
    ]);
  }

  /** pgBackRest's archive_command (run by the server, which expands %p). */
  pgbackrestArchiveCommand(): string {
    return `${PGBACKREST} --config=${this.ws.pgbackrestConf} --stanza=${PGBACKREST_STANZA} archive-push %p`;
  }

  /** Lifeboat's archive_command (run by the server as postgres). */
  lifeboatArchiveCommand(service: string): string {
    return `${process.execPath} ${this.lifeboatBin} wal push --plan ${this.ws.planFile} ${service} %p`;
  }

  /** pg_ctl start -w on a restored data dir, on the spot's port and socket dir. */
  pgCtlStart(dataDir: string, port: number, socketDir: string, logFile: string): CommandSpec {
    return this.spec(join(PG_BIN, 'pg_ctl'), [
      'start',
      '-D',
      dataDir,
      '-l',
      logFile,
      '-w',
      '-t',
      '600',
      '-o',
      `-p ${String(port)} -k ${socketDir}`,
    ]);
  }

  /** A client tool run as postgres over the unix socket (pgbench, createdb…), untimed helpers. */
  pgClient(tool: string, args: string[], env: Record<string, string> = {}): CommandSpec {
    return this.spec(join(PG_BIN, tool), args, env);
  }
}
