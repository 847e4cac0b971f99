import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadCheckResult, ModelSpec } from '../../../contracts/loadCheck.ts';

const LOAD_CHECK_MAIN = fileURLToPath(
  new URL('../../../runtimes/inference/scoring/loadCheckMain.ts', import.meta.url),
);
const TIMEOUT_MS = 60_000;

/** The check's answer; `crashed` when the process died or timed out instead of answering. */
export type LoadVerdict = LoadCheckResult | { ok: false; crashed: true; message: string };
/** Rejects with the signal's reason when `signal` aborts (the child is killed). */
export type LoadCheck = (bytes: Uint8Array, spec: ModelSpec, signal?: AbortSignal) => Promise<LoadVerdict>;

/**
 * Loads the artifact exactly as the runtime will (loadCheck.ts), in a child process: ONNX Runtime's
 * arenas and thread pools (~35 MiB) leave with it, and a model that crashes or hangs the native
 * runtime fails its check instead of taking the operator down.
 */
export const runtimeLoadCheck: LoadCheck = (bytes, spec, signal) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD_CHECK_MAIN, JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: TIMEOUT_MS,
      ...(signal ? { signal, killSignal: 'SIGKILL' as const } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (error) => reject(signal?.aborted ? signal.reason : error));
    // The child may die before reading all of stdin (EPIPE): its exit says what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(bytes);
    child.on('close', (code, killedBy) => {
      if (signal?.aborted) return; // rejected on 'error' already
      const line = stdout.trim().split('\n').at(-1);
      if (code === 0 && line) {
        try {
          resolve(JSON.parse(line) as LoadCheckResult);
          return;
        } catch {
          // Not an answer: reported below with what the process printed.
        }
      }
      const how = killedBy ? `was killed by ${killedBy}` : `exited with code ${code}`;
      const detail = stderr.trim().split('\n').slice(-3).join(' ');
      resolve({
        ok: false,
        crashed: true,
        message: `ONNX Runtime ${how} while loading it${killedBy === 'SIGTERM' ? ` (timeout ${TIMEOUT_MS / 1000} s)` : ''}${detail ? `: ${detail}` : ''}`,
      });
    });
  });
