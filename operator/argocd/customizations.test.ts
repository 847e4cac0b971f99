import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { MaintenanceModel } from '../api/maintenanceModel.ts';
import { RetrainPolicy } from '../api/retrainPolicy.ts';
import { SensorFleet } from '../api/sensorFleet.ts';
import { customizations, readObject } from './customizations.ts';

const SCHEMAS: Record<string, TSchema> = { MaintenanceModel, SensorFleet, RetrainPolicy };

// The samples stand for objects as the API server returns them (defaults applied): each must follow the schema.
describe.each(customizations())('the $kind samples', (c) => {
  const files = ['testdata', 'actions/testdata'].flatMap((d) => {
    const dir = join(c.dir, d);
    return readdirSync(c.dir).includes(d.split('/')[0]!) ? readdirSync(dir).map((f) => join(d, f)) : [];
  });

  it.each(files)('%s follows the schema', (file) => {
    const schema = SCHEMAS[c.kind]!;
    const obj = Value.Default(schema, readObject(c.dir, file));
    const errors = [...Value.Errors(schema, obj)].map((e) => `${e.path}: ${e.message}`);
    expect(errors).toEqual([]);
  });
});
