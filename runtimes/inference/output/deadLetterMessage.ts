// The JSON body published on prognos.deadletter.<ns>.<fleet> for a rejected reading. Versioned
// (`schema: 1`); consumers key on `reason` (see deadLetterReason.ts) and `field`.
import type { Rejection } from './deadLetterReason.ts';

/** Payloads are kept up to this size so one hostile message cannot make a huge dead letter. */
export const MAX_DEAD_LETTER_PAYLOAD_BYTES = 64 * 1024;

export interface DeadLetterMessage {
  schema: 1;
  reason: Rejection['reason'];
  field?: string;
  detail: string;
  machineId?: string;
  /** Subject the reading arrived on. */
  subject: string;
  receivedAt: number;
  /** Who rejected it. */
  model: string;
  version: string;
  /** The original payload as text when it is valid UTF-8, else base64 in payloadBase64. */
  payload?: string;
  payloadBase64?: string;
  /** Original size; the payload is cut to MAX_DEAD_LETTER_PAYLOAD_BYTES. */
  payloadBytes: number;
  truncated: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function buildDeadLetter(
  rejection: Rejection,
  original: { subject: string; data: Uint8Array; receivedAt: number },
  source: { model: string; version: string },
): DeadLetterMessage {
  const truncated = original.data.byteLength > MAX_DEAD_LETTER_PAYLOAD_BYTES;
  const kept = truncated ? original.data.subarray(0, MAX_DEAD_LETTER_PAYLOAD_BYTES) : original.data;
  const message: DeadLetterMessage = {
    schema: 1,
    reason: rejection.reason,
    detail: rejection.detail,
    subject: original.subject,
    receivedAt: original.receivedAt,
    model: source.model,
    version: source.version,
    payloadBytes: original.data.byteLength,
    truncated,
  };
  if (rejection.field !== undefined) message.field = rejection.field;
  if (rejection.machineId !== undefined) message.machineId = rejection.machineId;
  try {
    // A cut can split a multi-byte character; then base64 is the faithful form.
    message.payload = strictUtf8.decode(kept);
  } catch {
    message.payloadBase64 = Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString('base64');
  }
  return message;
}
