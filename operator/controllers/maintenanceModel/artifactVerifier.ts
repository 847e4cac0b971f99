import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { InferenceSession } from 'onnxruntime-node';
import type { OnnxSignature, Refusal } from './inputsCheck.ts';

export type FetchResult = { ok: true; bytes: Uint8Array } | { ok: false; refusal: Refusal };
export type VerifyResult = { ok: true; signature: OnnxSignature } | { ok: false; refusal: Refusal };

const FETCH_TIMEOUT_MS = 30_000;
const CACHE_LIMIT = 512;

/** Reads an artifact from file://, https:// or nats-os://<bucket>/<object> (on the fleet's NATS). */
export async function fetchArtifact(uri: string, nats: () => Promise<NatsConnection>): Promise<FetchResult> {
  const unreachable = (detail: string): FetchResult => ({
    ok: false,
    refusal: { reason: 'ArtifactUnreachable', message: `cannot fetch ${uri}: ${detail}` },
  });
  try {
    if (uri.startsWith('file://')) return { ok: true, bytes: await readFile(fileURLToPath(uri)) };
    if (uri.startsWith('https://')) {
      const response = await fetch(uri, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!response.ok) return unreachable(`HTTP ${response.status}`);
      return { ok: true, bytes: new Uint8Array(await response.arrayBuffer()) };
    }
    if (uri.startsWith('nats-os://')) {
      const [bucket = '', ...rest] = uri.slice('nats-os://'.length).split('/');
      const store = await new Objm(await nats()).open(bucket);
      const bytes = await store.getBlob(rest.join('/'));
      return bytes ? { ok: true, bytes } : unreachable(`no object ${rest.join('/')} in bucket ${bucket}`);
    }
    return unreachable('unsupported scheme');
  } catch (error) {
    return unreachable(error instanceof Error ? error.message : String(error));
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Loads the graph in ONNX Runtime (the same engine the runtime uses) just to read its signature. */
export async function onnxSignature(bytes: Uint8Array): Promise<OnnxSignature> {
  const session = await InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    return {
      inputs: session.inputMetadata.map((meta) => {
        const dims = meta.isTensor ? meta.shape : [];
        const last = dims.at(-1);
        return typeof last === 'number' && last > 0 && dims.length >= 2
          ? { name: meta.name, width: last }
          : { name: meta.name };
      }),
      outputs: [...session.outputNames],
    };
  } finally {
    await session.release();
  }
}

/**
 * Fetches, digests and parses artifacts, remembering each verified (uri, sha256): a steady model is
 * not refetched on every reconcile, and a changed spec.model is verified exactly once.
 */
export class ArtifactVerifier {
  readonly #verified = new Map<string, OnnxSignature>();
  readonly #fetch: typeof fetchArtifact;

  constructor(fetch: typeof fetchArtifact = fetchArtifact) {
    this.#fetch = fetch;
  }

  isVerified(uri: string, sha256: string): boolean {
    return this.#verified.has(`${uri}|${sha256}`);
  }

  async verify(uri: string, sha256: string, nats: () => Promise<NatsConnection>): Promise<VerifyResult> {
    const key = `${uri}|${sha256}`;
    const cached = this.#verified.get(key);
    if (cached) return { ok: true, signature: cached };
    const fetched = await this.#fetch(uri, nats);
    if (!fetched.ok) return fetched;
    const digest = sha256Hex(fetched.bytes);
    if (digest !== sha256) {
      return {
        ok: false,
        refusal: {
          reason: 'ArtifactDigestMismatch',
          message: `${uri} has sha256 ${digest}, spec.model.sha256 is ${sha256}`,
        },
      };
    }
    let signature: OnnxSignature;
    try {
      signature = await onnxSignature(fetched.bytes);
    } catch (error) {
      return {
        ok: false,
        refusal: {
          reason: 'ArtifactInvalid',
          message: `${uri} is not a loadable ONNX model: ${(error as Error).message}`,
        },
      };
    }
    if (this.#verified.size >= CACHE_LIMIT) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(key, signature);
    return { ok: true, signature };
  }
}
