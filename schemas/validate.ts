// validate(manifest): the one entry point that checks an object against its kind's schema,
// fills defaults and explains every failure as `path: what to do`.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { appendKey, pointerToPath } from './field-path.ts';
import { API_VERSION, KINDS, isKindName, type KindName } from './kinds.ts';
import { checkWorkloadSpec } from './workload-rules.ts';
import type { AgentMessage, FieldError, LatticeObject, ServedLatticeObject, ServerMessage } from './types.gen.ts';
import * as generated from './validators.gen.js';

// An error answer's details (api.schema.json), which is where every FieldError ends up.
export type { FieldError };

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

type SchemaNode = Record<string, unknown>;

// Compiled from schemas/*.schema.json by `npm run gen` (ajv's standalone code).
const KIND_VALIDATORS: Record<KindName, ValidateFunction> = {
  Workload: generated.Workload,
  Instance: generated.Instance,
  Agent: generated.Agent,
  Secret: generated.Secret,
  Event: generated.Event,
};

/**
 * Validates a manifest of any kind. Never mutates its argument: the returned value is a copy
 * with defaults filled in.
 */
export function validate(manifest: unknown): ValidationResult<ServedLatticeObject> {
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    return { ok: false, errors: [{ path: '', message: 'must be an object with apiVersion, kind, metadata and spec' }] };
  }
  const { apiVersion, kind } = manifest as { apiVersion?: unknown; kind?: unknown };
  const envelopeErrors: FieldError[] = [];
  if (apiVersion === undefined) envelopeErrors.push({ path: 'apiVersion', message: `is required; use "${API_VERSION}"` });
  else if (apiVersion !== API_VERSION)
    envelopeErrors.push({ path: 'apiVersion', message: `unknown apiVersion ${JSON.stringify(apiVersion)}; use "${API_VERSION}"` });
  if (kind === undefined) envelopeErrors.push({ path: 'kind', message: `is required; one of ${Object.keys(KINDS).join(', ')}` });
  else if (!isKindName(kind))
    envelopeErrors.push({ path: 'kind', message: `unknown kind ${JSON.stringify(kind)}; expected one of ${Object.keys(KINDS).join(', ')}` });
  if (envelopeErrors.length > 0 || !isKindName(kind)) return { ok: false, errors: envelopeErrors };

  let copy: LatticeObject;
  try {
    copy = structuredClone(manifest) as LatticeObject;
  } catch {
    return { ok: false, errors: [{ path: '', message: 'must be plain JSON data (no functions or other non-data values)' }] };
  }
  const check = KIND_VALIDATORS[kind];
  const errors = check(copy) ? [] : describeErrors(check.errors ?? [], copy);
  if (errors.length === 0) errors.push(...checkKindRules(copy));
  // The check filled in every default: the copy is the object as it will be served.
  return errors.length === 0 ? { ok: true, value: copy as ServedLatticeObject } : { ok: false, errors };
}

/** Rules a JSON Schema cannot say: scope and references between fields. */
function checkKindRules(object: LatticeObject): FieldError[] {
  const errors: FieldError[] = [];
  if (!KINDS[object.kind].namespaced && object.metadata.namespace !== undefined) {
    errors.push({ path: 'metadata.namespace', message: `${object.kind} is cluster-scoped and takes no namespace` });
  }
  if (object.kind === 'Workload') errors.push(...checkWorkloadSpec(object.spec, 'spec'));
  if (object.kind === 'Instance') errors.push(...checkWorkloadSpec(object.spec.template, 'spec.template'));
  return errors;
}

/** One message per path, the most specific first. */
function describeErrors(raw: ErrorObject[], document: unknown): FieldError[] {
  // A failed anyOf/oneOf that carries its own x-error explains itself; its branches' errors
  // would only confuse ("must have required property image", "must have required property command").
  // Branches therefore never $ref: their errors' schemaPath must start with the composite's.
  const explainedComposites = raw
    .filter((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf') && typeof (e.parentSchema as SchemaNode)?.['x-error'] === 'string')
    .map((e) => e.schemaPath);
  const byPath = new Map<string, string>();
  for (const error of raw) {
    if (explainedComposites.some((p) => error.schemaPath.startsWith(`${p}/`))) continue;
    if (error.keyword === 'propertyNames') continue; // reported by the inner rule, with the key
    const { path, message } = describeError(error, document);
    if (!byPath.has(path)) byPath.set(path, message);
  }
  return [...byPath].map(([path, message]) => ({ path, message }));
}

const EXPLAINED_BY_X_ERROR = new Set(['pattern', 'minLength', 'maxLength', 'anyOf', 'oneOf']);

function describeError(error: ErrorObject, document: unknown): FieldError {
  let path = pointerToPath(error.instancePath, document);
  if (error.propertyName !== undefined) path = appendKey(path, error.propertyName);
  const schema = (error.parentSchema ?? {}) as SchemaNode;
  const params = error.params as Record<string, unknown>;
  const custom = schema['x-error'];
  if (typeof custom === 'string' && EXPLAINED_BY_X_ERROR.has(error.keyword)) return { path, message: custom };
  switch (error.keyword) {
    case 'required':
      return { path: appendKey(path, String(params.missingProperty)), message: 'is required' };
    case 'additionalProperties': {
      const known = Object.keys((schema.properties as object | undefined) ?? {});
      const hint = known.length > 0 ? `; known fields: ${known.join(', ')}` : '';
      return { path: appendKey(path, String(params.additionalProperty)), message: `unknown field${hint}` };
    }
    case 'type':
    case 'minimum':
    case 'maximum':
      return { path, message: describeNumberOrType(schema, String(params.type ?? schema.type)) };
    case 'enum':
      return { path, message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'minLength':
      return { path, message: params.limit === 1 ? 'must not be empty' : `must be at least ${params.limit} characters` };
    case 'maxLength':
      return { path, message: `must be at most ${params.limit} characters` };
    case 'minItems':
      return { path, message: `must have at least ${params.limit} item${params.limit === 1 ? '' : 's'}` };
    case 'maxItems':
      return { path, message: `must have at most ${params.limit} items` };
    case 'uniqueItems':
      return { path, message: `must not repeat an item (items ${params.j} and ${params.i} are equal)` };
    case 'format':
      return { path, message: params.format === 'date-time' ? 'must be an RFC 3339 date-time such as 2026-01-02T15:04:05Z' : `must be a valid ${params.format}` };
    case 'pattern':
      return { path, message: `must match ${String(params.pattern)}` };
    default:
      return { path, message: error.message ?? 'is invalid' };
  }
}

function describeNumberOrType(schema: SchemaNode, type: string): string {
  const { minimum, maximum } = schema as { minimum?: number; maximum?: number };
  const noun = type === 'integer' ? 'an integer' : type === 'number' ? 'a number' : undefined;
  if (noun && minimum !== undefined && maximum !== undefined) return `must be ${noun} from ${minimum} to ${maximum}`;
  if (noun && minimum !== undefined) return `must be ${noun} of at least ${minimum}`;
  if (noun && maximum !== undefined) return `must be ${noun} of at most ${maximum}`;
  const article = /^[aeiou]/.test(type) ? 'an' : 'a';
  return `must be ${article} ${type}`;
}

function validateMessage<T>(check: ValidateFunction, message: unknown): ValidationResult<T> {
  if (check(message)) return { ok: true, value: message as T };
  return { ok: false, errors: describeErrors(check.errors ?? [], message) };
}

/** A message an agent sent: checked before the control plane acts on it. */
export function validateAgentMessage(message: unknown): ValidationResult<AgentMessage> {
  return validateMessage(generated.AgentMessage, message);
}

/** A message the control plane sent: checked before the agent acts on it. */
export function validateServerMessage(message: unknown): ValidationResult<ServerMessage> {
  return validateMessage(generated.ServerMessage, message);
}

/** `path: message` lines, for logs, CLI output and error bodies. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('\n');
}
