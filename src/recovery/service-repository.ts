/**
 * Opening the repository a plan assigns to a service, with the password its reference names.
 */
import type { Plan, PlanService } from '../plan/plan.js';
import { resolveSecret } from '../plan/secrets.js';
import { openRepository } from '../repository/open-repository.js';
import type { Repository } from '../repository/repository.js';
import type { CompressionMode } from '../repository/zstd.js';
import type { Backend } from '../storage/backend.js';

export interface ServiceRepositoryOptions {
  openBackend: (location: string) => Backend;
  env?: NodeJS.ProcessEnv;
  compression?: CompressionMode;
}

/** Opens the service's repository, runs fn, and always closes the backend. */
export async function withServiceRepository<T>(
  plan: Plan,
  service: PlanService,
  options: ServiceRepositoryOptions,
  fn: (repo: Repository) => Promise<T>,
): Promise<T> {
  const spec = plan.repositories[service.repository]!;
  const password = await resolveSecret(spec.password, options.env);
  const backend = options.openBackend(spec.location.path);
  try {
    const repo = await openRepository(backend, password, {
      ...(options.compression ? { compression: options.compression } : {}),
    });
    return await fn(repo);
  } finally {
    await backend.close();
  }
}
