import { describe, expect, it } from 'vitest';
import { imageRepository, resolveImage, resolveLocalImage } from './images.ts';
import { repoRoot } from './binaries.ts';

const all = (): boolean => true;

describe('imageRepository', () => {
  it.each([
    ['ghcr.io/prognos/prognos:v1', 'ghcr.io/prognos/prognos'],
    ['ghcr.io/prognos/prognos', 'ghcr.io/prognos/prognos'],
    ['localhost:5000/prognos/prognos:dev', 'localhost:5000/prognos/prognos'],
    ['localhost:5000/prognos/prognos', 'localhost:5000/prognos/prognos'],
    ['prognos/prognos@sha256:abc', 'prognos/prognos'],
    ['prognos.dev/testbox:1@sha256:abc', 'prognos.dev/testbox'],
  ])('%s -> %s', (image, repo) => expect(imageRepository(image)).toBe(repo));
});

describe('resolveImage', () => {
  it.each([
    ['ghcr.io/prognos/prognos:v1', ['prognos-operator'], ['--x'], 'operator/main.ts', ['--x']],
    [
      'prognos/prognos:latest',
      ['prognos-inference', '--a'],
      ['--b'],
      'runtimes/inference/main.ts',
      ['--a', '--b'],
    ],
    ['prognos/prognos', ['prognos-trainer'], undefined, 'runtimes/trainer/main.ts', []],
    ['prognos/prognos', undefined, ['--leader-elect'], 'operator/main.ts', ['--leader-elect']],
    [
      'prognos.dev/testbox:1',
      ['serve'],
      ['--port', '80'],
      'test/cluster/testbox.ts',
      ['serve', '--port', '80'],
    ],
    ['prognos.dev/testbox:1', ['testbox', 'run'], undefined, 'test/cluster/testbox.ts', ['run']],
  ])('%s %j %j runs %s %j', (image, command, args, entry, argv) => {
    expect(resolveImage(image, command, args, all)).toEqual({ ok: true, entry, args: argv });
  });

  it('refuses an image it cannot run with ErrImagePull and names the runnable images', () => {
    const r = resolveImage('nginx:1.27', undefined, undefined, all);
    expect(r).toMatchObject({ ok: false, reason: 'ErrImagePull' });
    expect(!r.ok && r.message).toMatch(/nginx:1\.27.*ghcr\.io\/prognos\/prognos/);
  });

  it('refuses an unknown Prognos executable with ImageNotRunnable', () => {
    const r = resolveImage('prognos/prognos', ['sh', '-c', 'x'], undefined, all);
    expect(r).toMatchObject({ ok: false, reason: 'ImageNotRunnable' });
    expect(!r.ok && r.message).toMatch(/"sh".*prognos-operator/);
  });

  it('refuses an entry that does not exist with ImageNotRunnable', () => {
    const r = resolveImage('prognos/prognos', ['prognos-trainer'], undefined, () => false);
    expect(r).toMatchObject({ ok: false, reason: 'ImageNotRunnable' });
    expect(!r.ok && r.message).toMatch(/runtimes\/trainer\/main\.ts/);
  });

  it('gives the testbox a content digest as image ID', () => {
    const r = resolveLocalImage(repoRoot, 'prognos.dev/testbox:1', ['serve'], undefined);
    expect(r.ok && r.imageID).toMatch(/^prognos\.dev\/testbox@sha256:[0-9a-f]{64}$/);
  });
});
