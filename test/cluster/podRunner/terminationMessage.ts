// A container's termination message, by the kubelet's rules (pkg/kubelet/kuberuntime,
// getTerminationMessage): what the process wrote to its terminationMessagePath, at most 4096 bytes;
// with terminationMessagePolicy FallbackToLogsOnError and a failed exit and nothing written, the tail
// of its log (at most 80 lines and 2048 bytes). A container here is a local process without its own
// filesystem, so each instance gets its own file, named by TERMINATION_MESSAGE_PATH_ENV.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { MAX_TERMINATION_MESSAGE_BYTES } from '../../../contracts/training.ts';

export const MAX_LOG_TAIL_BYTES = 2048;
export const MAX_LOG_TAIL_LINES = 80;

export interface TerminationInputs {
  /** The termination file's content (a few bytes over the limit at most); undefined when unreadable. */
  written: string | undefined;
  policy: string | undefined;
  exitCode: number;
  /** The instance's log output, read only when the policy falls back to it. */
  logTail: () => string;
}

/** Bytes of the termination file worth reading: the limit, and enough to finish a character cut by it. */
export const TERMINATION_READ_BYTES = MAX_TERMINATION_MESSAGE_BYTES + 4;

export function terminationMessage(inputs: TerminationInputs): string | undefined {
  const written = inputs.written ?? '';
  if (written !== '') return cutBytes(written, MAX_TERMINATION_MESSAGE_BYTES, 'head');
  if (inputs.policy !== 'FallbackToLogsOnError' || inputs.exitCode === 0) return undefined;
  const lines = inputs.logTail().split('\n');
  if (lines.at(-1) === '') lines.pop();
  const tail = lines.slice(-MAX_LOG_TAIL_LINES).join('\n');
  return tail === '' ? undefined : cutBytes(tail, MAX_LOG_TAIL_BYTES, 'tail');
}

/** Keeps the first (head) or last (tail) `max` bytes, as the kubelet does with its byte limits. */
function cutBytes(text: string, max: number, keep: 'head' | 'tail'): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  const part = keep === 'head' ? bytes.subarray(0, max) : bytes.subarray(bytes.length - max);
  // A multi-byte character cut in two decodes to U+FFFD; drop it.
  return part.toString('utf8').replace(/^\uFFFD|\uFFFD$/g, '');
}

/** Reads at most `max` bytes of `file` from `offset`; undefined when it cannot be read. */
export function readBounded(file: string, max: number, offset = 0): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(max);
    const n = readSync(fd, buffer, 0, max, offset);
    return buffer.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The last `max` bytes a log file gained after `from` (its size when the instance started). */
export function readLogTail(file: string, from: number, max: number): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return '';
  }
  const start = Math.max(from, size - max);
  return readBounded(file, size - start, start) ?? '';
}
