/**
 * The closest thing to a mount namespace without one: rewrites the path argument of `node:fs` calls
 * that fall under a mountPath (see paths.ts), so code that hard-codes a path, like client-node's
 * in-cluster config reading /var/run/secrets/kubernetes.io/serviceaccount/token, finds the volume.
 * Installed into container processes by the preload mountShim.ts.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { translatePath, type MountMapping } from './paths.ts';

/** Carries the container's mappings (JSON array of {mountPath, localPath}) to the preload. */
export const mountsEnvVar = 'PROGNOS_POD_MOUNTS';

const pathFunctions = [
  'access',
  'accessSync',
  'appendFile',
  'appendFileSync',
  'createReadStream',
  'createWriteStream',
  'exists',
  'existsSync',
  'lstat',
  'lstatSync',
  'mkdir',
  'mkdirSync',
  'open',
  'openSync',
  'opendir',
  'opendirSync',
  'readdir',
  'readdirSync',
  'readFile',
  'readFileSync',
  'realpath',
  'realpathSync',
  'rm',
  'rmSync',
  'stat',
  'statSync',
  'unlink',
  'unlinkSync',
  'watch',
  'watchFile',
  'writeFile',
  'writeFileSync',
] as const;
const promiseFunctions = [
  'access',
  'appendFile',
  'lstat',
  'mkdir',
  'open',
  'opendir',
  'readdir',
  'readFile',
  'realpath',
  'rm',
  'stat',
  'unlink',
  'writeFile',
] as const;

/** Replaces each named function of `target` by one that translates its first (path) argument. */
export function wrapPathFunctions(
  target: Record<string, unknown>,
  names: readonly string[],
  mounts: readonly MountMapping[],
): void {
  for (const name of names) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    const wrapped = function (this: unknown, first: unknown, ...rest: unknown[]): unknown {
      const path = typeof first === 'string' ? translatePath(first, mounts) : first;
      return (original as (...a: unknown[]) => unknown).call(this, path, ...rest);
    };
    // Keep util.promisify.custom and similar properties (fs.exists, fs.realpath.native).
    Object.assign(wrapped, original);
    target[name] = wrapped;
  }
}

/** Wraps `node:fs` and `node:fs/promises` (and their ESM named exports) for these mounts. */
export function installFsPathShim(mounts: readonly MountMapping[]): void {
  wrapPathFunctions(fs as unknown as Record<string, unknown>, pathFunctions, mounts);
  wrapPathFunctions(fs.promises as unknown as Record<string, unknown>, promiseFunctions, mounts);
  syncBuiltinESMExports();
}
