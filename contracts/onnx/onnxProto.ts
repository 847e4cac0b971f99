// Loads the onnx.proto subset once and exposes encode/decode for ModelProto, plus the one read the
// runtime needs from real artifacts: custom metadata (ORT's JS API does not expose it).
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const root = protobuf.parse(readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8'), {
  keepCase: true,
}).root;
const ModelProto = root.lookupType('onnx.ModelProto');

/** Plain-object form of the ModelProto fields Prognos uses (snake_case, as in onnx.proto). */
export interface ModelProtoObject {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name?: string;
  producer_version?: string;
  model_version?: number;
  doc_string?: string;
  graph: unknown;
  metadata_props?: { key: string; value: string }[];
}

export function encodeModel(model: ModelProtoObject): Uint8Array {
  const problem = ModelProto.verify(model);
  if (problem) throw new Error(`invalid ModelProto: ${problem}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** Custom metadata (ModelProto.metadata_props) as a map; throws when the bytes are not a ModelProto. */
export function readModelMetadata(bytes: Uint8Array): Map<string, string> {
  const decoded = ModelProto.toObject(ModelProto.decode(bytes), { arrays: true }) as ModelProtoObject;
  return new Map((decoded.metadata_props ?? []).map((e) => [e.key, e.value]));
}
