// Machine-readable reasons a reading is rejected. They appear verbatim in dead-letter messages,
// metrics labels and telemetry, so they are part of the data-plane contract: add, never rename.
export const DEAD_LETTER_REASONS = [
  'oversized',
  'malformed_json',
  'not_an_object',
  'bad_machine_id',
  'missing_field',
  'wrong_type',
  'not_finite',
  'out_of_range',
  'bad_timestamp',
  'timestamp_in_future',
] as const;

export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export interface Rejection {
  ok: false;
  reason: DeadLetterReason;
  /** The offending field (JSON field name, or `subject` for a subject token); absent for whole-message faults. */
  field?: string;
  /** Human-readable explanation. */
  detail: string;
  /** Present when the machine id was already known when the reading was rejected. */
  machineId?: string;
}
