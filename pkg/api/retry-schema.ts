/** `retry: {max_attempts, backoff_seconds}`, the same for every kind that retries outbound requests; only the defaults differ. */
export interface RetrySpec {
  max_attempts: number;
  backoff_seconds: number[];
}

export const retrySchema = (defaults: RetrySpec) => ({
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    max_attempts: { type: 'integer', minimum: 1, maximum: 100, default: defaults.max_attempts },
    backoff_seconds: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 86400 }, minItems: 1, maxItems: 100, default: defaults.backoff_seconds },
  },
});
