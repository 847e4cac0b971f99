import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import descriptor from 'protobufjs/ext/descriptor.js';
import type { IDescriptorProto, IFileDescriptorProto } from 'protobufjs/ext/descriptor.js';
import { describe, expect, it } from 'vitest';
import { PROTO_FILE } from './grpcServer.ts';
import { mapEntryName, reflectionDefinition } from './reflectionDescriptors.ts';

function filesOf(files: string[]): IFileDescriptorProto[] {
  const definition = reflectionDefinition(files);
  const byName = new Map<string, IFileDescriptorProto>();
  for (const def of Object.values(definition)) {
    if (!('format' in def) || !Array.isArray(def.fileDescriptorProtos)) continue;
    for (const bytes of def.fileDescriptorProtos) {
      const file = descriptor.FileDescriptorProto.decode(bytes) as IFileDescriptorProto;
      byName.set(file.name!, file);
    }
  }
  return [...byName.values()];
}

const message = (
  parent: { messageType?: IDescriptorProto[]; nestedType?: IDescriptorProto[] },
  name: string,
) => (parent.messageType ?? parent.nestedType ?? []).find((m) => m.name === name)!;

describe('mapEntryName', () => {
  it.each([
    ['features', 'FeaturesEntry'],
    ['sensor_values', 'SensorValuesEntry'],
    ['already_Camel', 'AlreadyCamelEntry'],
    ['x1_y2', 'X1Y2Entry'],
    ['_leading', 'LeadingEntry'],
    ['a__b', 'ABEntry'],
    ['élan', 'élanEntry'],
  ])('%s → %s', (field, entry) => {
    expect(mapEntryName(field)).toBe(entry);
  });
});

describe('reflectionDefinition', () => {
  it('describes Reading as the .proto does: snake_case fields, features → FeaturesEntry', () => {
    const file = filesOf([PROTO_FILE]).find((f) => f.package === 'prognos.inference.v1')!;
    const reading = message(file, 'Reading');
    expect(reading.field!.map((f) => f.name)).toEqual(['machine_id', 'ts_ms', 'features']);
    const features = reading.field!.find((f) => f.name === 'features')!;
    expect(features.typeName).toBe('.prognos.inference.v1.Reading.FeaturesEntry');
    expect(reading.nestedType!.map((n) => [n.name, n.options?.mapEntry])).toEqual([['FeaturesEntry', true]]);
  });

  it('renames map entries of nested messages and leaves other message fields alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prognos-reflection-'));
    const proto = join(dir, 'maps.proto');
    writeFileSync(
      proto,
      `syntax = "proto3";
package t.v1;
message Outer {
  message Inner { map<string, Outer> by_name = 1; }
  map<int32, Inner> inner_by_id = 1;
  repeated Inner inners = 2;
}
service S { rpc Get(Outer) returns (Outer); }
`,
    );
    const file = filesOf([proto])[0]!;
    const outer = message(file, 'Outer');
    const byField = Object.fromEntries(outer.field!.map((f) => [f.name, f.typeName]));
    expect(byField).toEqual({ inner_by_id: '.t.v1.Outer.InnerByIdEntry', inners: 'Inner' });
    const inner = message(outer, 'Inner');
    expect(inner.field![0]!.typeName).toBe('.t.v1.Outer.Inner.ByNameEntry');
    expect(inner.nestedType!.map((n) => n.name)).toEqual(['ByNameEntry']);
    expect(outer.nestedType!.map((n) => n.name).sort()).toEqual(['Inner', 'InnerByIdEntry']);
  });
});
