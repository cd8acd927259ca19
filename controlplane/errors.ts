// The one catalogue of API errors. Every error answer is {code, reason, message, details[]};
// store errors and fastify's own errors are translated here, and a 5xx never carries internals.
import type { ErrorBody, FieldError } from '../schemas/types.gen.ts';
import { isStoreError, type StoreError } from '../store/errors.ts';

export const REASONS = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  AlreadyExists: 409,
  Gone: 410,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
} as const;

export type Reason = keyof typeof REASONS;

export class ApiError extends Error {
  readonly code: number;

  constructor(
    readonly reason: Reason,
    message: string,
    readonly details: FieldError[] = [],
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = REASONS[reason];
  }

  toBody(): ErrorBody {
    return { code: this.code, reason: this.reason, message: this.message, details: this.details };
  }
}

export const badRequest = (message: string, details: FieldError[] = []) => new ApiError('BadRequest', message, details);
export const unauthorized = (message: string) => new ApiError('Unauthorized', message);
export const forbidden = (message: string) => new ApiError('Forbidden', message);
export const notFound = (message: string) => new ApiError('NotFound', message);
export const invalid = (message: string, details: FieldError[]) => new ApiError('Invalid', message, details);

/** Runs a parser of a query parameter; its Invalid errors become 400s (the request is malformed). */
export function parseParam<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (isStoreError(error) && error.code === 'Invalid') throw badRequest(error.message, 'details' in error ? (error.details as FieldError[]) : []);
    throw error;
  }
}

function fromStoreError(error: StoreError): ApiError {
  switch (error.code) {
    case 'NotFound':
      return new ApiError('NotFound', error.message);
    case 'AlreadyExists':
      return new ApiError('AlreadyExists', error.message);
    case 'Conflict':
      return new ApiError('Conflict', error.message);
    case 'Gone':
      return new ApiError('Gone', error.message);
    // Only the leader's own controllers write fenced (ObjectStore.fenced); never a request.
    case 'Fenced':
      return new ApiError('Conflict', error.message);
    case 'Invalid':
      return new ApiError('Invalid', error.message, 'details' in error ? (error.details as FieldError[]) : []);
  }
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
  validationContext?: string;
}

/** Any thrown value → the API error to answer with; `internal` is true for a 5xx to log. */
export function toApiError(error: unknown, bodyLimitBytes: number): { apiError: ApiError; internal: boolean } {
  if (error instanceof ApiError) return { apiError: error, internal: false };
  if (isStoreError(error)) return { apiError: fromStoreError(error), internal: false };
  const e = (error ?? {}) as FastifyLikeError;
  if (e.validation) {
    const where = e.validationContext ?? 'request';
    const details = e.validation.map((v) => ({
      path: [where, ...(v.instancePath ?? '').split('/').filter(Boolean), ...(v.params?.missingProperty ? [String(v.params.missingProperty)] : [])].join('.'),
      message: v.params?.additionalProperty ? `unknown field ${JSON.stringify(v.params.additionalProperty)}` : (v.message ?? 'is invalid'),
    }));
    return { apiError: badRequest(details.map((d) => `${d.path}: ${d.message}`).join('; '), details), internal: false };
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { apiError: new ApiError('PayloadTooLarge', `request body exceeds the limit of ${formatBytes(bodyLimitBytes)}`), internal: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { apiError: new ApiError('UnsupportedMediaType', 'unsupported Content-Type; send application/json or application/yaml'), internal: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { apiError: badRequest('the JSON body is empty'), internal: false };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { apiError: badRequest('Content-Length does not match the body'), internal: false };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { apiError: badRequest(e.message ?? 'bad request'), internal: false };
  }
  return { apiError: new ApiError('InternalError', 'internal error; the server log has the details'), internal: true };
}

export function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
