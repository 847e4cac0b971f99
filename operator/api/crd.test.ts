import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { customResourceDefinition, toStructural, type JsonSchema } from './crd.ts';
import { generatedFiles, repoRoot } from './generate.ts';
import { unresolvedInputs } from './inputs.ts';
import { KINDS } from './kinds.ts';
import type { MaintenanceModel } from './maintenanceModel.ts';
import type { RetrainPolicy } from './retrainPolicy.ts';
import type { SensorFleet } from './sensorFleet.ts';

interface Node {
  path: string;
  schema: JsonSchema;
}

/** Every schema node under `schema`, with a kubectl-explain-like path. */
function walk(schema: JsonSchema, path: string): Node[] {
  const nodes: Node[] = [{ path, schema }];
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  for (const [name, child] of Object.entries(properties)) nodes.push(...walk(child, `${path}.${name}`));
  if (schema['items'] !== undefined) nodes.push(...walk(schema['items'] as JsonSchema, `${path}[]`));
  if (typeof schema['additionalProperties'] === 'object') {
    nodes.push(...walk(schema['additionalProperties'] as JsonSchema, `${path}.*`));
  }
  return nodes;
}

const crds = KINDS.map((kind) => ({ kind, crd: customResourceDefinition(kind) }));
const rootOf = (crd: ReturnType<typeof customResourceDefinition>) =>
  crd.spec.versions[0]!.schema.openAPIV3Schema;

/** Keywords a structural schema may use (plus x-kubernetes-*), per apiextensions.k8s.io/v1. */
const STRUCTURAL_KEYWORDS = new Set([
  'type',
  'description',
  'format',
  'enum',
  'default',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'anyOf',
  'required',
  'properties',
  'additionalProperties',
  'items',
]);

describe('generated files', () => {
  it.each([...generatedFiles()])('%s is up to date', (path, content) => {
    let onDisk: string | undefined;
    try {
      onDisk = readFileSync(join(repoRoot, path), 'utf8');
    } catch {
      onDisk = undefined;
    }
    expect(
      onDisk === content,
      `${path} is stale or missing: run \`npm run generate\` and commit the result`,
    ).toBe(true);
  });
});

describe.each(crds)('$kind.kind CRD', ({ kind, crd }) => {
  const nodes = walk(rootOf(crd), kind.kind.toLowerCase());

  it('names, short name, category, scope and status subresource', () => {
    expect(crd.metadata.name).toBe(`${kind.plural}.prognos.dev`);
    expect(crd.spec.names.shortNames).toEqual(kind.shortNames);
    expect(crd.spec.names.categories).toEqual(['prognos']);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.versions[0]!.subresources).toEqual({ status: {} });
  });

  it('describes every property at every depth', () => {
    const undescribed = nodes.flatMap(({ path, schema }) =>
      Object.entries((schema['properties'] ?? {}) as Record<string, JsonSchema>)
        // metadata: the API server forbids describing it and supplies ObjectMeta's own docs.
        .filter(([name]) => `${path}.${name}` !== `${kind.kind.toLowerCase()}.metadata`)
        .filter(([, child]) => typeof child['description'] !== 'string' || child['description'] === '')
        .map(([name]) => `${path}.${name}`),
    );
    expect(undescribed).toEqual([]);
  });

  it('is a structural schema', () => {
    const problems: string[] = [];
    for (const { path, schema } of nodes) {
      for (const key of Object.keys(schema)) {
        if (!STRUCTURAL_KEYWORDS.has(key) && !key.startsWith('x-kubernetes-'))
          problems.push(`${path}: keyword ${key}`);
      }
      const intOrString = schema['x-kubernetes-int-or-string'] === true;
      if (intOrString) {
        if (JSON.stringify(schema['anyOf']) !== JSON.stringify([{ type: 'integer' }, { type: 'string' }])) {
          problems.push(`${path}: int-or-string must be anyOf [integer, string]`);
        }
      } else if (typeof schema['type'] !== 'string') {
        problems.push(`${path}: no type`);
      }
      if ('anyOf' in schema && !intOrString) problems.push(`${path}: anyOf outside int-or-string`);
      if ('properties' in schema && 'additionalProperties' in schema) {
        problems.push(`${path}: properties and additionalProperties together`);
      }
      if (schema['type'] === 'object' && !('properties' in schema) && !('additionalProperties' in schema)) {
        const opaque = schema['x-kubernetes-preserve-unknown-fields'] === true || path.endsWith('.metadata');
        if (!opaque) problems.push(`${path}: object without properties`);
      }
      for (const name of (schema['required'] ?? []) as string[]) {
        if (!(name in ((schema['properties'] ?? {}) as object)))
          problems.push(`${path}: required ${name} undeclared`);
      }
      if (schema['x-kubernetes-list-type'] === 'map') {
        const item = schema['items'] as JsonSchema;
        // The API server wants each key present on every item: required, or defaulted.
        const props = (item['properties'] ?? {}) as Record<string, JsonSchema>;
        for (const key of schema['x-kubernetes-list-map-keys'] as string[]) {
          if (!((item['required'] ?? []) as string[]).includes(key) && props[key]?.['default'] === undefined)
            problems.push(`${path}: map key ${key} neither required nor defaulted`);
        }
      }
      for (const validation of (schema['x-kubernetes-validations'] ?? []) as JsonSchema[]) {
        if (typeof validation['rule'] !== 'string' || typeof validation['message'] !== 'string') {
          problems.push(`${path}: validation without rule and message`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('bounds what CEL may iterate: spec arrays have maxItems, strings with rules have maxLength', () => {
    const specNodes = nodes.filter(({ path }) => path.includes('.spec'));
    const unbounded = specNodes
      .filter(
        ({ schema }) =>
          (schema['type'] === 'array' && schema['maxItems'] === undefined) ||
          (schema['type'] === 'string' &&
            'x-kubernetes-validations' in schema &&
            schema['maxLength'] === undefined),
      )
      .map(({ path }) => path);
    expect(unbounded).toEqual([]);
  });

  it('has every default valid against its own field', () => {
    const invalid = nodes
      .filter(({ schema }) => 'default' in schema && schema['type'] !== 'object')
      .filter(({ schema }) => {
        const d = schema['default'];
        if (Array.isArray(schema['enum']) && !schema['enum'].includes(d)) return true;
        if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern']).test(String(d)))
          return true;
        if (typeof schema['minimum'] === 'number' && (d as number) < schema['minimum']) return true;
        if (typeof schema['maximum'] === 'number' && (d as number) > schema['maximum']) return true;
        return false;
      })
      .map(({ path }) => path);
    expect(invalid).toEqual([]);
  });

  it('has printer columns on paths that exist', () => {
    for (const column of kind.printerColumns) {
      if (column.jsonPath.startsWith('.metadata')) continue;
      const path = column.jsonPath.replace(/\[\?\(@\.type=="\w+"\)\]/, '[]');
      expect(nodes.map((n) => n.path.slice(kind.kind.length))).toContain(path);
    }
  });
});

describe('toStructural', () => {
  it.each<[string, unknown, JsonSchema]>([
    [
      'string literal unions become enums',
      Type.Union([Type.Literal('a'), Type.Literal('b')], { description: 'd', default: 'a' }),
      { type: 'string', description: 'd', enum: ['a', 'b'], default: 'a' },
    ],
    ['a lone literal becomes a one-value enum', Type.Literal('x'), { type: 'string', enum: ['x'] }],
    [
      'records become additionalProperties maps',
      Type.Record(Type.String(), Type.Integer()),
      { type: 'object', additionalProperties: { type: 'integer' } },
    ],
    [
      'numeric exclusiveMinimum becomes OpenAPI v3.0 boolean form',
      Type.Number({ exclusiveMinimum: 0 }),
      { type: 'number', minimum: 0, exclusiveMinimum: true },
    ],
    [
      'closed objects lose additionalProperties and defaulted fields leave required',
      Type.Object({ a: Type.String(), b: Type.String({ default: 'x' }) }, { additionalProperties: false }),
      {
        type: 'object',
        required: ['a'],
        properties: { a: { type: 'string' }, b: { type: 'string', default: 'x' } },
      },
    ],
    [
      'int-or-string keeps its canonical anyOf and hoists the pattern',
      Type.Union([Type.Integer(), Type.String({ pattern: '^[0-9]+m$' })], {
        'x-kubernetes-int-or-string': true,
      }),
      {
        anyOf: [{ type: 'integer' }, { type: 'string' }],
        pattern: '^[0-9]+m$',
        'x-kubernetes-int-or-string': true,
      },
    ],
  ])('%s', (_name, input, expected) => {
    expect(toStructural(input)).toEqual(expected);
  });

  it.each<[string, unknown, RegExp]>([
    ['general unions', Type.Union([Type.String(), Type.Number()]), /anyOf is only supported/],
    ['unknown keywords', Type.String({ $id: 'X' }), /unsupported schema keyword \$id/],
    [
      'open objects without preserve-unknown-fields',
      Type.Object({}, { additionalProperties: true }),
      /open objects/,
    ],
    ['non-record pattern maps', Type.Record(Type.Number(), Type.String()), /only Record\(String/],
  ])('rejects %s', (_name, input, error) => {
    expect(() => toStructural(input, 'x')).toThrow(error);
  });
});

const samplesDir = join(repoRoot, 'config', 'samples');
const schemaByKind = new Map<string, TObject>(KINDS.map((k) => [k.kind, k.schema]));

interface Sample {
  file: string;
  object: { kind: string; metadata: { name: string }; spec: unknown };
}

const samples: Sample[] = readdirSync(samplesDir)
  .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(samplesDir, file), 'utf8')).map((doc) => ({
      file,
      object: doc.toJS() as Sample['object'],
    })),
  );

/** What the API server does before validating: apply the schema's defaults. */
function defaulted(schema: TObject, object: unknown): unknown {
  return Value.Default(schema, Value.Clone(object));
}

function errorsOf(object: { kind: string }): string[] {
  const schema = schemaByKind.get(object.kind);
  if (schema === undefined) return [`unknown kind ${object.kind}`];
  return [...Value.Errors(schema, defaulted(schema, object))].map((e) => `${e.path}: ${e.message}`);
}

describe('samples', () => {
  it('cover every kind and are all listed in config/samples/kustomization.yaml', () => {
    expect(new Set(samples.map((s) => s.object.kind))).toEqual(new Set(KINDS.map((k) => k.kind)));
    const kustomization = parse(readFileSync(join(samplesDir, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    expect([...kustomization.resources].sort()).toEqual([...new Set(samples.map((s) => s.file))].sort());
  });

  it.each(samples.map((s) => [`${s.file} (${s.object.kind}/${s.object.metadata.name})`, s.object] as const))(
    '%s matches the schema',
    (_name, object) => {
      expect(errorsOf(object)).toEqual([]);
    },
  );

  it('models read only inputs their fleet provides, and policies name a sample model', () => {
    const fleets = new Map(
      samples
        .filter((s) => s.object.kind === 'SensorFleet')
        .map((s) => [s.object.metadata.name, s.object as SensorFleet]),
    );
    const models = samples
      .filter((s) => s.object.kind === 'MaintenanceModel')
      .map((s) => s.object as MaintenanceModel);
    for (const model of models) {
      const fleet = fleets.get(model.spec.fleetRef.name);
      expect(fleet, `fleet of ${model.metadata.name}`).toBeDefined();
      const inputs = [...model.spec.model.inputs, ...(model.spec.rollout?.candidate?.inputs ?? [])];
      expect(unresolvedInputs(fleet!.spec, inputs), model.metadata.name!).toEqual([]);
    }
    const modelNames = models.map((m) => m.metadata.name);
    for (const policy of samples.filter((s) => s.object.kind === 'RetrainPolicy')) {
      expect(modelNames).toContain((policy.object as RetrainPolicy).spec.modelRef.name);
    }
  });
});

describe('the TypeBox check catches what the schema forbids', () => {
  const model = samples.find((s) => s.object.kind === 'MaintenanceModel')!.object;
  const withSpec = (patch: (spec: Record<string, object>) => void) => {
    const copy = structuredClone(model) as { kind: string; spec: Record<string, object> };
    patch(copy.spec);
    return copy;
  };

  it.each<[string, { kind: string }, string]>([
    ['an unknown field', withSpec((s) => Object.assign(s, { replicas: 2 })), '/spec/replicas'],
    ['a short sha256', withSpec((s) => Object.assign(s['model']!, { sha256: 'abc' })), '/spec/model/sha256'],
    ['an unknown task', withSpec((s) => Object.assign(s, { task: 'forecast' })), '/spec/task'],
    [
      'a step weight of 100',
      withSpec((s) => Object.assign(s['rollout']!, { steps: [{ weight: 100 }] })),
      '/spec/rollout/steps/0/weight',
    ],
    [
      'an input of an unknown aggregation',
      withSpec((s) => Object.assign(s['model']!, { inputs: ['vibration.p99'] })),
      '/spec/model/inputs/0',
    ],
    [
      'a bad duration',
      withSpec((s) => Object.assign(s['rollout']!, { steps: [{ weight: 10, pause: '5 minutes' }] })),
      '/spec/rollout/steps/0/pause',
    ],
  ])('%s', (_name, object, path) => {
    expect(
      errorsOf(object).some((e) => e.startsWith(`${path}:`)),
      errorsOf(object).join('\n'),
    ).toBe(true);
  });
});
