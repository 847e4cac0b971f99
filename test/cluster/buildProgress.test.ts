import { describe, expect, it } from 'vitest';
import { buildProgressReporter, formatDuration, progressLine } from './buildProgress.ts';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [59_999, '59s'],
    [60_000, '1m00s'],
    [754_000, '12m34s'],
  ])('%d ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('progressLine', () => {
  it('names the step, its time and the build so far', () => {
    expect(progressLine({ step: 'building etcd v3.6.8', startedAt: 100_000 }, 40_000, 190_000)).toBe(
      '    building etcd v3.6.8: 1m30s (build 2m30s so far)',
    );
  });
});

describe('buildProgressReporter', () => {
  const reporter = (isTTY: boolean) => {
    const out: string[] = [];
    let t = 0;
    const r = buildProgressReporter({
      write: (s) => out.push(s),
      logFile: '/cache/build.log',
      isTTY,
      tickMs: 1_000_000,
      now: () => t,
    });
    return { r, out, at: (ms: number) => (t = ms) };
  };

  it('prints nothing when nothing was built (every binary cached)', () => {
    const { r, out } = reporter(false);
    r.done(true);
    expect(out).toEqual([]);
  });

  it('prints a header with the log once, each step as it starts, and the total', () => {
    const { r, out, at } = reporter(false);
    r.onStep({ step: 'fetching the Kubernetes v1.36.3 modules', startedAt: 0 });
    at(65_000);
    r.onStep({ step: 'building kube-apiserver v1.36.3', startedAt: 65_000 });
    at(400_000);
    r.done(true);
    const text = out.join('');
    expect(text.match(/build log: \/cache\/build\.log/g)).toHaveLength(1);
    expect(text).toContain(
      '==> fetching the Kubernetes v1.36.3 modules\n==> building kube-apiserver v1.36.3\n',
    );
    expect(text).toMatch(/Built after 6m40s\.\n$/);
  });

  it('rewrites one terminal line per tick and ends it before the next step and on failure', () => {
    const out: string[] = [];
    let t = 0;
    const r = buildProgressReporter({
      write: (s) => out.push(s),
      logFile: 'l',
      isTTY: true,
      tickMs: 5,
      now: () => t,
    });
    r.onStep({ step: 'building etcd v3.6.8', startedAt: 0 });
    t = 2_000;
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        r.onStep({ step: 'building helm v3.22.0', startedAt: 2_000 });
        r.done(false);
        const text = out.join('');
        expect(text).toContain('\r\x1b[2K    building etcd v3.6.8: 2s (build 2s so far)');
        expect(text).toMatch(/so far\)\n==> building helm v3\.22\.0\n/);
        expect(text).toMatch(/Build failed after 2s\.\n$/);
        resolve();
      }, 50),
    );
  });
});
