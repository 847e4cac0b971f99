// The file descriptors server reflection serves. @grpc/reflection serves what @grpc/proto-loader
// (protobufjs) derives from the .proto, which differs from what protoc writes in two ways strict
// clients refuse:
// - field names follow the loader's keepCase option, so a camelCase load describes `machineId`
//   where the .proto says `machine_id`;
// - a map field's implicit entry message is named after the field (`Features`) where protobuf
//   names it `<CamelCaseField>Entry` (`FeaturesEntry`); protobuf-go, and so grpcurl, rejects the
//   whole file ("is an invalid map: incorrect implicit map entry name").
// So reflection gets its own load with the names as written, with the map entries renamed.
import * as protoLoader from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor.js';
import type { IDescriptorProto, IFileDescriptorProto } from 'protobufjs/ext/descriptor.js';

const LABEL_REPEATED = 3;
const TYPE_MESSAGE = 11;

/** protoc's name for the entry message of map field `fieldName`: `sensor_values` → `SensorValuesEntry`. */
export function mapEntryName(fieldName: string): string {
  let name = '';
  let upperNext = true;
  for (const ch of fieldName) {
    if (ch === '_') upperNext = true;
    else {
      // Only ASCII letters change case, as protoc does (locale-free).
      name += upperNext && ch >= 'a' && ch <= 'z' ? ch.toUpperCase() : ch;
      upperNext = false;
    }
  }
  return `${name}Entry`;
}

/** Renames each map entry of `message` (and of its nested messages) and points the map field at it by full name. */
function renameMapEntries(message: IDescriptorProto, scope: string): void {
  const fullName = `${scope}.${message.name}`;
  const nested = message.nestedType ?? [];
  for (const field of message.field ?? []) {
    if (field.label !== LABEL_REPEATED || field.type !== TYPE_MESSAGE || !field.typeName) continue;
    const ref = field.typeName;
    const entry = nested.find(
      (n) => n.options?.mapEntry && (ref === n.name || ref === `${fullName}.${n.name}`),
    );
    if (!entry || !field.name) continue;
    entry.name = mapEntryName(field.name);
    field.typeName = `${fullName}.${entry.name}`;
  }
  for (const n of nested) if (!n.options?.mapEntry) renameMapEntries(n, fullName);
}

/** One serialized FileDescriptorProto with protoc's map entry names. */
export function withProtocMapEntryNames(bytes: Uint8Array): Uint8Array {
  const file = descriptor.FileDescriptorProto.decode(bytes) as IFileDescriptorProto;
  const scope = file.package ? `.${file.package}` : '';
  for (const message of file.messageType ?? []) renameMapEntries(message, scope);
  return descriptor.FileDescriptorProto.encode(file).finish();
}

/**
 * Loads `files` for @grpc/reflection: field names as written in the .proto and protoc's map entry
 * names. Serving uses its own load (PROTO_LOADER_OPTIONS); both describe the same wire format.
 */
export function reflectionDefinition(files: string[]): protoLoader.PackageDefinition {
  const definition = protoLoader.loadSync(files, { keepCase: true });
  const fixed = new Map<Uint8Array, Buffer>();
  const fix = (bytes: Buffer): Buffer => {
    let out = fixed.get(bytes);
    if (!out) {
      out = Buffer.from(withProtocMapEntryNames(bytes));
      fixed.set(bytes, out);
    }
    return out;
  };
  return Object.fromEntries(
    Object.entries(definition).map(([name, def]) => [
      name,
      'format' in def && Array.isArray(def.fileDescriptorProtos)
        ? { ...def, fileDescriptorProtos: def.fileDescriptorProtos.map(fix) }
        : def,
    ]),
  ) as protoLoader.PackageDefinition;
}
