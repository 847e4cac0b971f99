/**
 * TypeBox schema → CustomResourceDefinition. Pure: the same input always gives the same object, so
 * the checked-in YAML can be compared with a fresh rendering.
 *
 * TypeBox speaks JSON Schema; the API server wants a structural OpenAPI v3 schema. The differences
 * are translated here, and anything this file does not know how to translate throws, so a new
 * TypeBox construct cannot slip into a CRD unnoticed.
 */
import type { TObject } from '@sinclair/typebox';
import { GROUP, VERSION } from './meta.ts';

export type JsonSchema = { [key: string]: unknown };

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  /** 0 shows in `kubectl get`; higher only with `-o wide`. */
  priority?: number;
}

export interface KindDefinition {
  kind: string;
  plural: string;
  shortNames: string[];
  /** The whole object's schema; its `spec` and `status` properties become the CRD's. */
  schema: TObject;
  printerColumns: PrinterColumn[];
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JsonSchema };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}

export const CATEGORY = 'prognos';

/** Keys passed through unchanged: the OpenAPI v3 subset structural schemas allow, plus Kubernetes extensions. */
const PASSTHROUGH = new Set([
  'type',
  'description',
  'default',
  'enum',
  'format',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
]);

/** Output key order, so the YAML reads top-down: what a field is, its limits, then its children and rules. */
const KEY_ORDER = [
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
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'x-kubernetes-validations',
];

function ordered(node: JsonSchema): JsonSchema {
  const rank = (key: string) => KEY_ORDER.indexOf(key);
  return Object.fromEntries(Object.entries(node).sort(([a], [b]) => rank(a) - rank(b)));
}

function isRecord(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A union of string literals (TypeBox's enum) → `type: string` + `enum`; int-or-string → its canonical anyOf. */
function fromAnyOf(node: JsonSchema, path: string): JsonSchema {
  const members = node['anyOf'] as JsonSchema[];
  if (members.every((m) => m['type'] === 'string' && typeof m['const'] === 'string')) {
    return { type: 'string', enum: members.map((m) => m['const']) };
  }
  if (node['x-kubernetes-int-or-string'] === true) {
    const pattern = members.find((m) => m['type'] === 'string')?.['pattern'];
    return {
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      ...(pattern === undefined ? {} : { pattern }),
    };
  }
  throw new Error(`${path}: anyOf is only supported for string enums and int-or-string`);
}

/**
 * Converts one TypeBox node (and everything under it) into structural OpenAPI. Symbol keys
 * (TypeBox's Kind markers) are not enumerable by Object.entries, so they vanish here.
 */
export function toStructural(node: unknown, path = ''): JsonSchema {
  if (!isRecord(node)) throw new Error(`${path}: schema node is not an object`);
  const out: JsonSchema = 'anyOf' in node ? fromAnyOf(node, path) : {};
  const preserveUnknown = node['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case 'anyOf':
        break;
      case 'const':
        out['type'] = 'string';
        out['enum'] = [value];
        break;
      case 'properties': {
        if (!isRecord(value)) throw new Error(`${path}: properties is not an object`);
        out['properties'] = Object.fromEntries(
          Object.entries(value).map(([name, child]) => [name, toStructural(child, `${path}.${name}`)]),
        );
        break;
      }
      case 'required': {
        // A field with a default is always present once stored, but the writer may omit it.
        const properties = node['properties'] as JsonSchema;
        const required = (value as string[]).filter(
          (name) => !('default' in (properties[name] as JsonSchema)),
        );
        if (required.length > 0) out['required'] = required;
        break;
      }
      case 'items':
        out['items'] = toStructural(value, `${path}[]`);
        break;
      case 'patternProperties': {
        // TypeBox's Record(String, X) is a map; structural schemas spell that additionalProperties: X.
        const patterns = Object.entries(value as JsonSchema);
        if (patterns.length !== 1 || patterns[0]![0] !== '^(.*)$') {
          throw new Error(`${path}: only Record(String, ...) maps are supported`);
        }
        out['additionalProperties'] = toStructural(patterns[0]![1], `${path}.*`);
        break;
      }
      case 'additionalProperties':
        // false: structural schemas forbid it beside properties (the server prunes unknown fields).
        // true: only on preserve-unknown-fields nodes, which say the same thing.
        if (value === true && !preserveUnknown)
          throw new Error(`${path}: open objects need x-kubernetes-preserve-unknown-fields`);
        if (isRecord(value)) throw new Error(`${path}: use Type.Record for maps`);
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        // JSON Schema's numeric form → OpenAPI v3.0's boolean form.
        out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
        out[key] = true;
        break;
      default:
        if (!PASSTHROUGH.has(key)) throw new Error(`${path}: unsupported schema keyword ${key}`);
        out[key] = value;
    }
  }
  return ordered(out);
}

/** The standard apiVersion/kind/metadata trio every CRD root carries; metadata's schema belongs to the API server. */
function rootSchema(def: KindDefinition): JsonSchema {
  const { spec, status, ...rest } = def.schema.properties;
  for (const key of ['apiVersion', 'kind', 'metadata']) {
    if (!(key in rest)) throw new Error(`${def.kind}: schema lacks ${key}`);
  }
  if (spec === undefined) throw new Error(`${def.kind}: schema lacks spec`);
  return {
    type: 'object',
    description: def.schema.description,
    properties: {
      apiVersion: {
        type: 'string',
        description:
          'Versioned schema of this representation of an object; servers convert recognized schemas to the latest internal value. Here: prognos.dev/v1alpha1.',
      },
      kind: {
        type: 'string',
        description: `REST resource this object represents, in CamelCase. Here: ${def.kind}.`,
      },
      // The API server owns metadata's schema and refuses a description or anything else here.
      metadata: { type: 'object' },
      spec: toStructural(spec, 'spec'),
      ...(status === undefined ? {} : { status: toStructural(status, 'status') }),
    },
    required: ['spec'],
  };
}

export function customResourceDefinition(def: KindDefinition): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'prognos' } },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.kind.toLowerCase(),
        shortNames: def.shortNames,
        categories: [CATEGORY],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: rootSchema(def) },
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
        },
      ],
    },
  };
}
