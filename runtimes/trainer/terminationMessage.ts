// The trainer Job's termination message: the TrainingResult as JSON on success, a short reason on
// failure. Kubernetes keeps at most 4096 bytes of it, so both are made to fit here rather than cut
// by the kubelet into invalid JSON: the warning (the one free-text field) is shortened first.
import { writeFile } from 'node:fs/promises';
import {
  MAX_TERMINATION_MESSAGE_BYTES,
  TERMINATION_MESSAGE_PATH,
  TERMINATION_MESSAGE_PATH_ENV,
  type TrainingResult,
} from '../../contracts/training.ts';

const utf8 = new TextEncoder();
const bytes = (text: string): number => utf8.encode(text).length;

/** `text` cut to at most `max` UTF-8 bytes on a character boundary, marked with an ellipsis when cut. */
export function truncateUtf8(text: string, max: number): string {
  if (bytes(text) <= max) return text;
  const room = max - bytes('…');
  let out = '';
  let used = 0;
  for (const c of text) {
    used += bytes(c);
    if (used > room) break;
    out += c;
  }
  return out + '…';
}

/** The result as JSON within the limit; only the warning is ever shortened. */
export function resultMessage(result: TrainingResult, max = MAX_TERMINATION_MESSAGE_BYTES): string {
  const json = JSON.stringify(result);
  if (bytes(json) <= max) return json;
  if (result.warning !== undefined) {
    const rest = bytes(JSON.stringify({ ...result, warning: '' }));
    // JSON escaping can grow the text; shorten until the whole document fits.
    for (let room = max - rest; room > 0; room = Math.floor(room * 0.9)) {
      const shortened = JSON.stringify({ ...result, warning: truncateUtf8(result.warning, room) });
      if (bytes(shortened) <= max) return shortened;
    }
  }
  throw new Error(`the training result does not fit in ${max} bytes: ${json.slice(0, 200)}`);
}

/** A failure's reason, one line, within the limit. */
export function failureMessage(error: unknown, max = MAX_TERMINATION_MESSAGE_BYTES): string {
  const message = error instanceof Error ? error.message : String(error);
  return truncateUtf8(`prognos-trainer: ${message.replace(/\s*\n\s*/g, ' | ')}`, max);
}

/**
 * Where the container's terminationMessagePath is: the contract's default, unless the process runs
 * without a container filesystem (the local pod runner) and is told another file.
 */
export function terminationMessagePath(env: NodeJS.ProcessEnv = process.env): string {
  return env[TERMINATION_MESSAGE_PATH_ENV] || TERMINATION_MESSAGE_PATH;
}

export async function writeTerminationMessage(text: string): Promise<void> {
  await writeFile(terminationMessagePath(), text);
}
