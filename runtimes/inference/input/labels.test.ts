import { describe, expect, it } from 'vitest';
import { MAX_LABEL_FUTURE_MS, MAX_NOTE_CHARS, buildLabel, labelMachine } from './labels.ts';

const now = 1_700_000_000_000;
const ok = { machineId: 'pump-7', event: 'repair', tsMs: now - 1000, note: '' };

describe('buildLabel', () => {
  it('builds a versioned label; ts 0 means now; an empty note is left out', () => {
    expect(buildLabel(ok, now, 'grpc')).toEqual({
      ok: true,
      label: { schema: 1, machineId: 'pump-7', event: 'repair', ts: now - 1000, source: 'grpc' },
    });
    const r = buildLabel({ ...ok, tsMs: 0, note: 'bearing' }, now, 'grpc');
    expect(r.ok && r.label.ts).toBe(now);
    expect(r.ok && r.label.note).toBe('bearing');
  });

  it.each([
    ['machine id with a dot', { machineId: 'a.b' }, 'machine_id', 'bad_machine_id'],
    ['empty machine id', { machineId: '' }, 'machine_id', 'bad_machine_id'],
    ['unknown event', { event: 'exploded' }, 'event', 'unknown_event'],
    ['negative time', { tsMs: -5 }, 'ts_ms', 'bad_timestamp'],
    ['time far in the future', { tsMs: now + MAX_LABEL_FUTURE_MS + 1 }, 'ts_ms', 'timestamp_in_future'],
    ['note too long', { note: 'x'.repeat(MAX_NOTE_CHARS + 1) }, 'note', 'too_long'],
  ])('rejects %s', (_name, patch, field, reason) => {
    expect(buildLabel({ ...ok, ...patch }, now, 'grpc')).toMatchObject({ ok: false, field, reason });
  });
});

describe('labelMachine', () => {
  const token = { subjectToken: 3 };
  it.each([
    ['the event names it', 'prognos.labels.plant-a.pumps.pump-1', { machineId: 'pump-7' }, token, 'pump-7'],
    ['the fleet subject token', 'plant-a.pumps.pump-3.events', { event: 'repair' }, token, 'pump-3'],
    ['a JSON field', 'plant-a.pumps.events', { unit: 'pump-4' }, { field: 'unit' }, 'pump-4'],
    ['nothing usable', 'plant-a.pumps.events', { unit: 4 }, { field: 'unit' }, undefined],
    ['an id that is no subject token', 'x.y.z', { machineId: 'pump 7' }, token, undefined],
  ])('%s', (_why, subject, event, source, expected) => {
    expect(labelMachine(subject, event, source)).toBe(expected);
  });
});
