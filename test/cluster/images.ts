import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The images the pod runner can run, and how each maps onto a local entry point. There is no container
 * engine: a "container" is `scripts/node24 <entry.ts> <args...>` started from the repository root.
 */

/** The Prognos image's binaries (see Dockerfile) and the source entry point each one runs. */
export const prognosBinaries: Readonly<Record<string, string>> = {
  'prognos-operator': 'operator/main.ts',
  'prognos-inference': 'runtimes/inference/main.ts',
  'prognos-trainer': 'runtimes/trainer/main.ts',
};

/** The Dockerfile's ENTRYPOINT: what runs when a container gives no `command`. */
export const prognosDefaultEntrypoint = 'prognos-operator';

export const prognosRepositories: readonly string[] = ['ghcr.io/prognos/prognos', 'prognos/prognos'];
export const testboxRepository = 'prognos.dev/testbox';
export const testboxEntry = 'test/cluster/testbox.ts';

export type ImageResolution =
  | { ok: true; entry: string; args: string[]; imageID: string }
  | { ok: false; reason: 'ErrImagePull' | 'ImageNotRunnable'; message: string };

/** Splits `registry/repo:tag@sha256:...` into its repository (without tag or digest). */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  return lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
}

/**
 * Resolves a container's image, command and args (already $(VAR)-expanded) to the entry file to run
 * and its arguments. Pure apart from `fileExists`, so it is table-testable.
 */
export function resolveImage(
  image: string,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
  fileExists: (relativePath: string) => boolean,
): Omit<Extract<ImageResolution, { ok: true }>, 'imageID'> | Extract<ImageResolution, { ok: false }> {
  const repository = imageRepository(image);
  const argv = [...(command ?? []), ...(args ?? [])];
  if (repository === testboxRepository) {
    if (!fileExists(testboxEntry)) return notRunnable(`entry ${testboxEntry} for ${image} does not exist`);
    return { ok: true, entry: testboxEntry, args: argv[0] === 'testbox' ? argv.slice(1) : argv };
  }
  if (prognosRepositories.includes(repository)) {
    // Kubernetes semantics: `command` replaces the image ENTRYPOINT, `args` replace its CMD.
    const binary = command && command.length > 0 ? command[0]! : prognosDefaultEntrypoint;
    const rest = command && command.length > 0 ? [...command.slice(1), ...(args ?? [])] : [...(args ?? [])];
    const entry = prognosBinaries[binary];
    if (entry === undefined) {
      return notRunnable(
        `image ${image} has no executable "${binary}"; command[0] must be one of ${Object.keys(prognosBinaries).join(', ')}`,
      );
    }
    if (!fileExists(entry))
      return notRunnable(`entry ${entry} for ${binary} (image ${image}) does not exist yet`);
    return { ok: true, entry, args: rest };
  }
  return {
    ok: false,
    reason: 'ErrImagePull',
    message: `image "${image}" cannot be run by the Prognos pod runner (no container engine); runnable images: ${[...prognosRepositories, testboxRepository].map((r) => `${r}:<tag>`).join(', ')}`,
  };
}

function notRunnable(message: string): Extract<ImageResolution, { ok: false }> {
  return { ok: false, reason: 'ImageNotRunnable', message };
}

/** Resolves against the repository on disk; the image ID is the digest of the entry file's content. */
export function resolveLocalImage(
  repoRoot: string,
  image: string,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
): ImageResolution {
  const resolved = resolveImage(image, command, args, (p) => existsSync(join(repoRoot, p)));
  if (!resolved.ok) return resolved;
  const digest = createHash('sha256')
    .update(readFileSync(join(repoRoot, resolved.entry)))
    .digest('hex');
  return { ...resolved, imageID: `${imageRepository(image)}@sha256:${digest}` };
}
