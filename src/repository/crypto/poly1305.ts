/**
 * Poly1305 from libsodium, through sodium-native's native binding.
 *
 * The package's own entry point finds its binding through a general addon resolver
 * (require-addon and friends): ~25 ms and ~11 MiB of resident memory in every process and
 * worker thread that loads it, more than libsodium itself. Its prebuilt binding lies at a
 * fixed place in the package, so we load that file directly (~2 ms, ~1 MiB) and keep the
 * package's loader only as the fallback (a platform without a prebuilt binding, a binding
 * built from source).
 *
 * The binding checks buffer sizes with C asserts, which would abort the process; the sizes are
 * checked here first.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LifeboatError } from '../../core/errors.js';

export const POLY1305_TAG_SIZE = 16;
export const POLY1305_KEY_SIZE = 32;

interface OnetimeauthBinding {
  /** Returns 0 on success. */
  crypto_onetimeauth(out: Uint8Array, input: Uint8Array, key: Uint8Array): number;
  /** True when the tag matches (constant time). */
  crypto_onetimeauth_verify(tag: Uint8Array, input: Uint8Array, key: Uint8Array): boolean;
}

/** Where the binding came from: the prebuilt file loaded directly, or the package's loader. */
export type BindingSource = 'prebuilt' | 'package';

/** The package's own functions: they check the status themselves (throwing) and return nothing. */
interface PackageOnetimeauth {
  crypto_onetimeauth(out: Uint8Array, input: Uint8Array, key: Uint8Array): void;
  crypto_onetimeauth_verify(tag: Uint8Array, input: Uint8Array, key: Uint8Array): boolean;
}

/**
 * The binding from `source`, or from the package when the prebuilt file cannot be used (then
 * `source` says so). Exported for the tests, which check both paths.
 */
export function loadBinding(want: BindingSource = 'prebuilt'): {
  binding: OnetimeauthBinding;
  source: BindingSource;
} {
  const require = createRequire(import.meta.url);
  if (want === 'prebuilt') {
    try {
      const root = dirname(require.resolve('sodium-native/package.json'));
      const file = join(
        root,
        'prebuilds',
        `${process.platform}-${process.arch}`,
        'sodium-native.node',
      );
      const direct = require(file) as Partial<OnetimeauthBinding>;
      if (
        typeof direct.crypto_onetimeauth === 'function' &&
        typeof direct.crypto_onetimeauth_verify === 'function'
      ) {
        return { binding: direct as OnetimeauthBinding, source: 'prebuilt' };
      }
    } catch {
      // No usable prebuilt binding here: the package's loader knows the other places.
    }
  }
  const pkg = require('sodium-native') as PackageOnetimeauth;
  return {
    binding: {
      crypto_onetimeauth: (out, input, key) => {
        pkg.crypto_onetimeauth(out, input, key);
        return 0;
      },
      crypto_onetimeauth_verify: (tag, input, key) =>
        pkg.crypto_onetimeauth_verify(tag, input, key),
    },
    source: 'package',
  };
}

const { binding, source } = loadBinding();
export const POLY1305_BINDING: BindingSource = source;

function checkSizes(tag: Uint8Array, key: Uint8Array): void {
  if (tag.byteLength !== POLY1305_TAG_SIZE || key.byteLength !== POLY1305_KEY_SIZE) {
    throw new LifeboatError(
      'INTERNAL',
      `poly1305: tag of ${tag.byteLength} bytes and key of ${key.byteLength} bytes ` +
        `(${POLY1305_TAG_SIZE} and ${POLY1305_KEY_SIZE} needed)`,
    );
  }
}

/** Writes the Poly1305 tag of `input` under the one-time `key` into `tag`. */
export function poly1305(tag: Uint8Array, input: Uint8Array, key: Uint8Array): void {
  checkSizes(tag, key);
  const status = binding.crypto_onetimeauth(tag, input, key);
  if (status !== 0) throw new LifeboatError('INTERNAL', `poly1305 failed (status ${status})`);
}

/** Whether `tag` is the Poly1305 tag of `input` under `key`, compared in constant time. */
export function poly1305Verify(tag: Uint8Array, input: Uint8Array, key: Uint8Array): boolean {
  checkSizes(tag, key);
  return binding.crypto_onetimeauth_verify(tag, input, key);
}
