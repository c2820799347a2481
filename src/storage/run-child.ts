/** Test support: runs a small ES-module script in a child node process (crash tests). */
import { spawn } from 'node:child_process';

/** Runs `script` in a child node process; resolves with its exit code, signal and output. */
export async function runChild(script: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const append = (c: Buffer) => {
    out += c.toString();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => {
    child.on('exit', (c, s) => {
      done([c, s]);
    });
  });
  return { code, signal, out };
}
