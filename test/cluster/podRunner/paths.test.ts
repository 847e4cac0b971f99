import { describe, expect, it } from 'vitest';
import { mountMappings, translatePath } from './paths.ts';

const mounts = mountMappings(
  {
    name: 'c',
    volumeMounts: [
      { name: 'config', mountPath: '/etc/prognos/' },
      { name: 'models', mountPath: '/var/lib/models' },
      { name: 'cache', mountPath: '/var/lib/models/cache' },
      { name: 'one', mountPath: '/etc/app.yaml', subPath: 'app.yaml' },
    ],
  },
  (name) => `/state/pods/u/volumes/${name}`,
);

describe('translatePath', () => {
  it.each([
    ['/etc/prognos', '/state/pods/u/volumes/config'],
    ['/etc/prognos/config.yaml', '/state/pods/u/volumes/config/config.yaml'],
    ['/etc/prognosis/x', '/etc/prognosis/x'],
    ['/var/lib/models/v1.onnx', '/state/pods/u/volumes/models/v1.onnx'],
    ['/var/lib/models/cache/x', '/state/pods/u/volumes/cache/x'],
    ['/etc/app.yaml', '/state/pods/u/volumes/one/app.yaml'],
    ['--config=/etc/prognos/c.yaml', '--config=/state/pods/u/volumes/config/c.yaml'],
    ['KEY=/var/lib/models', 'KEY=/state/pods/u/volumes/models'],
    ['--port=8080', '--port=8080'],
    ['relative/etc/prognos', 'relative/etc/prognos'],
    ['', ''],
  ])('%s -> %s', (value, out) => expect(translatePath(value, mounts)).toBe(out));
});
