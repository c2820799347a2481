/**
 * What every command shares: global options, the output, and opening the repository named by
 * -r/--repo or LIFEBOAT_REPOSITORY with the password from the usual sources.
 */
import { LifeboatError } from '../core/errors.js';
import { openBackend, redactLocation } from '../storage/open-backend.js';
import type { Backend } from '../storage/backend.js';
import { openRepository } from '../repository/open-repository.js';
import type { Repository } from '../repository/repository.js';
import type { CompressionMode } from '../repository/zstd.js';
import { Output } from './output.js';
import { readPassword } from './password.js';

export interface GlobalOptions {
  repo?: string;
  passwordFile?: string;
  json?: boolean;
  quiet?: boolean;
  compression?: string;
}

export class CliContext {
  readonly output: Output;
  /** Aborted on SIGINT/SIGTERM; every long operation takes it. */
  readonly signal: AbortSignal;

  constructor(
    readonly globals: GlobalOptions,
    readonly env: NodeJS.ProcessEnv,
    signal: AbortSignal,
  ) {
    this.output = new Output({ json: globals.json ?? false, quiet: globals.quiet ?? false });
    this.signal = signal;
  }

  repositoryLocation(): string {
    const loc = this.globals.repo ?? this.env.LIFEBOAT_REPOSITORY;
    if (!loc) {
      throw new LifeboatError(
        'INVALID_ARGUMENT',
        'no repository given: use -r/--repo or set LIFEBOAT_REPOSITORY',
      );
    }
    return loc;
  }

  backend(location = this.repositoryLocation()): Backend {
    return openBackend(location, { env: this.env });
  }

  compression(): CompressionMode {
    const c = this.globals.compression ?? 'auto';
    if (c !== 'auto' && c !== 'off' && c !== 'max') {
      throw new LifeboatError(
        'INVALID_ARGUMENT',
        `--compression must be auto, off or max, not ${c}`,
      );
    }
    return c;
  }

  async password(prompt?: string): Promise<string> {
    return readPassword(this.env, {
      passwordFile: this.globals.passwordFile,
      ...(prompt ? { prompt } : {}),
    });
  }

  /** Opens the repository; the caller closes it with `repo.backend.close()`. */
  async openRepository(
    location = this.repositoryLocation(),
    password?: string,
  ): Promise<Repository> {
    const backend = this.backend(location);
    try {
      // Say "no repository" (exit 10) before asking for a password that cannot help.
      if (!(await backend.hasConfig())) {
        throw new LifeboatError(
          'NO_REPOSITORY',
          `${backend.location}: no repository here (no config)`,
        );
      }
      return await openRepository(backend, password ?? (await this.password()), {
        compression: this.compression(),
      });
    } catch (err) {
      await backend.close();
      throw err;
    }
  }

  redact(location: string): string {
    return redactLocation(location);
  }
}

/** Opens a repository, runs fn, and always closes the backend. */
export async function withRepository<T>(
  ctx: CliContext,
  fn: (repo: Repository) => Promise<T>,
): Promise<T> {
  const repo = await ctx.openRepository();
  try {
    const result = await fn(repo);
    for (const e of repo.indexErrors) ctx.output.warn(`index ${e.id}`, `skipped: ${e.message}`);
    return result;
  } finally {
    await repo.backend.close();
  }
}
