// Errors carry the Kubernetes Status shape so every layer can throw one and the API
// server answers it verbatim.

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  /** A change a production namespace takes only by promotion (a 403). */
  | 'PromotionRequired'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'RequestTimeout'
  | 'Gone'
  | 'PreconditionFailed'
  | 'Invalid'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'ExpectationFailed'
  | 'MethodNotAllowed'
  | 'TooManyRequests'
  | 'RequestHeaderFieldsTooLarge'
  | 'InternalError'
  | 'ServiceUnavailable';

const codes: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  PromotionRequired: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  AlreadyExists: 409,
  RequestTimeout: 408,
  Conflict: 409,
  Gone: 410,
  PreconditionFailed: 412,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  ExpectationFailed: 417,
  Invalid: 422,
  TooManyRequests: 429,
  RequestHeaderFieldsTooLarge: 431,
  InternalError: 500,
  ServiceUnavailable: 503,
};

export interface Cause {
  field?: string;
  message: string;
  /** Why, where a client may act on it (e.g. DestinationNotAllowed). */
  reason?: string;
}

export interface StatusDetails {
  kind?: string;
  name?: string;
  causes?: Cause[];
  /** A busy server's hint (also sent as Retry-After): try again after this many seconds. */
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  readonly code: number;
  constructor(
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.code = codes[reason];
  }

  toStatus(): StatusBody {
    return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: this.code, reason: this.reason, message: this.message, details: this.details };
  }
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  status: 'Failure' | 'Success';
  code: number;
  reason?: string;
  message: string;
  details?: StatusDetails;
}

export const notFound = (kind: string, name: string, namespace?: string): ApiError =>
  new ApiError('NotFound', `${kind} "${namespace ? `${namespace}/` : ''}${name}" not found`, { kind, name });

/** A write at a stale resourceVersion (the Kubernetes wording, which clients recognise). */
export const conflict = (kind: string, name: string): ApiError =>
  new ApiError('Conflict', `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { kind, name });

export const alreadyExists = (kind: string, name: string): ApiError => new ApiError('AlreadyExists', `${kind} "${name}" already exists`, { kind, name });

export const isApiError = (e: unknown): e is ApiError => e instanceof ApiError;
