/**
 * Declaring a config section once, with TypeBox: the TypeScript type is `Static<typeof Section>`,
 * the defaults are the schema's `default`s and the JSON Schema is `publishedSchema(Section)`. Core's
 * sections, the adapters and any plugin use these (`banter` exports them).
 */
import { type SchemaOptions, type Static, type TSchema, Type } from '@sinclair/typebox';
import type { JSONSchema } from '../types.js';

/** A string that is one of `values`, written as JSON Schema's `enum` (its errors list the values). */
export function Enum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, enum: [...values] });
}

/** An object whose every value matches `values` (`additionalProperties`, as editors read it). */
export function StringMap<T extends TSchema>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<Record<string, Static<T>>>({ ...options, type: 'object', additionalProperties: values });
}

/**
 * The JSON Schema of a declaration as a file or ajv reads it: plain JSON (TypeBox's markers
 * dropped), and fields that have a default left out of `required` (ajv fills them in).
 */
export function publishedSchema(schema: TSchema): JSONSchema {
  return withoutDefaultedRequired(JSON.parse(JSON.stringify(schema)) as JSONSchema);
}

function withoutDefaultedRequired(node: unknown): JSONSchema {
  if (Array.isArray(node)) return node.map(withoutDefaultedRequired) as unknown as JSONSchema;
  if (!node || typeof node !== 'object') return node as JSONSchema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) copy[key] = key === 'default' || key === 'examples' ? value : withoutDefaultedRequired(value);
  const properties = copy.properties as Record<string, { default?: unknown }> | undefined;
  if (Array.isArray(copy.required) && properties) {
    const required = (copy.required as string[]).filter((name) => properties[name]?.default === undefined);
    if (required.length > 0) copy.required = required;
    else delete copy.required;
  }
  return copy;
}

/**
 * The schema of overrides of a declared section (a preset's, say): the same fields, none required,
 * without defaults, so that what an override leaves out stays as the section has it.
 */
export function overridesOf(schema: TSchema, description: string): JSONSchema {
  const strip = (node: JSONSchema): JSONSchema => {
    const { default: _default, required: _required, properties, ...rest } = node as JSONSchema & { properties?: Record<string, JSONSchema> };
    return properties ? { ...rest, properties: Object.fromEntries(Object.entries(properties).map(([name, child]) => [name, strip(child)])) } : rest;
  };
  return { ...strip(publishedSchema(schema)), description };
}

/**
 * A copy of `value` with the schema's defaults filled in where a field is missing, nested objects
 * included, as ajv's `useDefaults` does when core validates a section (for code that is handed a
 * section core did not validate, such as a test).
 */
export function applyDefaults<T>(schema: JSONSchema, value: unknown): T {
  const copy = structuredClone(value ?? (schema as { default?: unknown }).default ?? {});
  fill(schema, copy);
  return copy as T;
}

function fill(schema: JSONSchema, value: unknown): void {
  const properties = (schema as { properties?: Record<string, JSONSchema & { default?: unknown }> }).properties;
  if (!properties || !value || typeof value !== 'object' || Array.isArray(value)) return;
  const object = value as Record<string, unknown>;
  for (const [name, child] of Object.entries(properties)) {
    if (object[name] === undefined && child.default !== undefined) object[name] = structuredClone(child.default);
    fill(child, object[name]);
  }
}
