import { describe, expect, it } from 'vitest';
import { MAX_DEAD_LETTER_PAYLOAD_BYTES, buildDeadLetter } from './deadLetterMessage.ts';

const source = { model: 'pump', version: 'v3' };
const bytes = (s: string) => new TextEncoder().encode(s);

describe('buildDeadLetter', () => {
  it('keeps reason, field, machine id and a UTF-8 payload as text', () => {
    const m = buildDeadLetter(
      {
        ok: false,
        reason: 'out_of_range',
        field: 'vibration',
        detail: '99 outside [0, 50]',
        machineId: 'm-1',
      },
      { subject: 'plant.pumps.m-1.readings', data: bytes('{"vibration":99}'), receivedAt: 42 },
      source,
    );
    expect(m).toEqual({
      schema: 1,
      reason: 'out_of_range',
      field: 'vibration',
      detail: '99 outside [0, 50]',
      machineId: 'm-1',
      subject: 'plant.pumps.m-1.readings',
      receivedAt: 42,
      model: 'pump',
      version: 'v3',
      payload: '{"vibration":99}',
      payloadBytes: 16,
      truncated: false,
    });
  });

  it('encodes non-UTF-8 payloads as base64 and omits absent field/machine id', () => {
    const data = new Uint8Array([0xff, 0xfe, 0x00, 0x41]);
    const m = buildDeadLetter(
      { ok: false, reason: 'malformed_json', detail: 'x' },
      { subject: 's', data, receivedAt: 1 },
      source,
    );
    expect(m.payload).toBeUndefined();
    expect(m.payloadBase64).toBe(Buffer.from(data).toString('base64'));
    expect('field' in m).toBe(false);
    expect('machineId' in m).toBe(false);
  });

  it('cuts oversized payloads and says so', () => {
    const data = bytes('x'.repeat(MAX_DEAD_LETTER_PAYLOAD_BYTES + 10));
    const m = buildDeadLetter(
      { ok: false, reason: 'oversized', detail: 'big' },
      { subject: 's', data, receivedAt: 1 },
      source,
    );
    expect(m.truncated).toBe(true);
    expect(m.payloadBytes).toBe(MAX_DEAD_LETTER_PAYLOAD_BYTES + 10);
    expect(m.payload).toHaveLength(MAX_DEAD_LETTER_PAYLOAD_BYTES);
  });
});
