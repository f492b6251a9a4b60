/**
 * helm/flowtrace/values.schema.json's `config` section against the collector's own schema
 * (collector/src/config/schema.ts): the chart's schema names the collector settings it owns (set
 * from other values) and the secrets it keeps out of the ConfigMap. If the collector renames or
 * adds such a setting and the chart's schema does not follow, the chart would silently accept a
 * secret in plain text, or refuse nothing: these checks fail first.
 *
 * The chart's schema is then applied by the real Helm (test/helm-chart.e2e.test.ts lints and
 * renders with it); here it is read as data.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { configSchema } from '../collector/src/config/schema.js';

interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  not?: JsonSchema;
}

const valuesSchema = JSON.parse(readFileSync(resolve(import.meta.dirname, '../helm/flowtrace/values.schema.json'), 'utf8')) as JsonSchema;
const configSection = valuesSchema.properties!.config!;

/** Zod wrappers that hold the schema of the value itself. */
interface ZodDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
}
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: ZodDef } })._zod.def;

/** Unwraps default/prefault/optional/nullable/pipe down to the value's own schema. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const def = defOf(s);
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return s;
  }
}

/** The collector's schema at a dotted path, or undefined when the collector has no such setting. */
function collectorSchemaAt(path: string[]): z.ZodType | undefined {
  let s: z.ZodType = configSchema;
  for (const key of path) {
    const def = defOf(unwrap(s));
    if (def.type !== 'object' || !def.shape?.[key]) return undefined;
    s = def.shape[key]!;
  }
  return s;
}

/** Every path the chart's schema names under `config`, and whether it refuses the key outright. */
function chartPaths(schema: JsonSchema, prefix: string[] = []): Array<{ path: string[]; refused: boolean }> {
  const out: Array<{ path: string[]; refused: boolean }> = [];
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const path = [...prefix, key];
    if (sub.not) out.push({ path, refused: true });
    else if (sub.properties) out.push(...chartPaths(sub, path));
    else out.push({ path, refused: false });
  }
  return out;
}

/** Every string setting of the collector whose name says it is a secret. */
function collectorSecretPaths(schema: z.ZodType = configSchema, prefix: string[] = []): string[][] {
  const def = defOf(unwrap(schema));
  if (def.type !== 'object' || !def.shape) return [];
  return Object.entries(def.shape).flatMap(([key, sub]) => {
    const path = [...prefix, key];
    const isSecretName = /(^|_)(password|secret|hash_key|private_key)$/.test(key);
    return isSecretName && defOf(unwrap(sub)).type === 'string' ? [path] : collectorSecretPaths(sub, path);
  });
}

describe("values.schema.json's config section follows the collector's schema", () => {
  const paths = chartPaths(configSection);

  it('names only settings the collector has', () => {
    expect(paths.length).toBeGreaterThan(10);
    const unknown = paths.filter((p) => collectorSchemaAt(p.path) === undefined).map((p) => p.path.join('.'));
    expect(unknown).toEqual([]);
  });

  it('keeps every secret setting of the collector out of the ConfigMap', () => {
    const secrets = collectorSecretPaths().map((p) => p.join('.'));
    // The walk finds what it must: a change that hid these would make the check below vacuous.
    expect(secrets).toEqual(expect.arrayContaining(['storage.clickhouse.password', 'storage.clickhouse.guest_password', 'auth.oidc.client_secret', 'processors.redact.hash_key']));
    const refused = new Set(paths.filter((p) => p.refused).map((p) => p.path.join('.')));
    expect(secrets.filter((s) => !refused.has(s))).toEqual([]);
  });

  it('says, for each refused setting, which value or Secret sets it instead', () => {
    for (const p of paths.filter((x) => x.refused)) {
      let s: JsonSchema = configSection;
      for (const key of p.path) s = s.properties![key]!;
      expect(s.description, p.path.join('.')).toMatch(/Set by the chart from|A secret: never in the ConfigMap|TLS comes from/);
    }
  });
});
