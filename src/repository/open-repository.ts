/**
 * Creating and opening repositories (restic design, "Keys, Encryption and MAC"): every key
 * file holds the same master key encrypted with a password-derived key; opening tries each
 * key file until one verifies.
 */
import { hostname, userInfo } from 'node:os';
import { LifeboatError } from '../core/errors.js';
import type { Backend } from '../storage/backend.js';
import { randomPolynomial } from './chunker/polynomial.js';
import { decodeConfig, encodeConfig, newConfig } from './config.js';
import type { KdfParams } from './crypto/key-file.js';
import { createKeyFile, openKeyFile } from './crypto/key-file.js';
import { MasterKey } from './crypto/master-key.js';
import type { RepositoryOptions } from './repository.js';
import { Repository } from './repository.js';

export interface InitOptions extends RepositoryOptions {
  kdf?: KdfParams;
  /** Use this polynomial instead of a random one (tests, copying chunk boundaries). */
  polynomial?: bigint;
}

export async function initRepository(
  backend: Backend,
  password: string,
  options: InitOptions = {},
): Promise<Repository> {
  if (await backend.hasConfig()) {
    throw new LifeboatError('REPOSITORY_EXISTS', `${backend.location}: repository already exists`);
  }
  await backend.create();
  const key = MasterKey.generate();
  const config = newConfig(options.polynomial ?? randomPolynomial());
  const keyFile = await createKeyFile(password, key, {
    username: currentUser(),
    hostname: hostname(),
    ...(options.kdf ? { kdf: options.kdf } : {}),
  });
  // restic design: the key first, then the config; a repository without config is not one.
  await backend.save({ type: 'key', name: keyFile.id }, keyFile.bytes);
  await backend.save({ type: 'config', name: 'config' }, key.encrypt(encodeConfig(config)));
  return new Repository(backend, key, config, keyFile.id, options);
}

export async function openRepository(
  backend: Backend,
  password: string,
  options: RepositoryOptions = {},
): Promise<Repository> {
  if (!(await backend.hasConfig())) {
    throw new LifeboatError('NO_REPOSITORY', `${backend.location}: no repository here (no config)`);
  }
  const { key, keyId } = await findKey(backend, password);
  const sealed = await backend.load({ type: 'config', name: 'config' });
  let plain: Buffer;
  try {
    plain = key.decrypt(sealed);
  } catch (cause) {
    throw new LifeboatError('INTEGRITY', 'config: ciphertext verification failed', { cause });
  }
  return new Repository(backend, key, decodeConfig(plain), keyId, options);
}

async function findKey(backend: Backend, password: string) {
  let tried = 0;
  for await (const f of backend.list('key')) {
    tried++;
    const bytes = await backend.load({ type: 'key', name: f.name });
    const key = await openKeyFile(bytes, password);
    if (key) return { key, keyId: f.name };
  }
  if (tried === 0) {
    throw new LifeboatError('NO_REPOSITORY', `${backend.location}: repository has no key files`);
  }
  throw new LifeboatError('WRONG_PASSWORD', `wrong password or no key found (tried ${tried})`);
}

export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}
