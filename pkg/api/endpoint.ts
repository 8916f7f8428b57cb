import { randomBytes } from 'node:crypto';

export const DELIVERY_PREFIX = '/v1/webhook-deliveries/';

/** 192 random bits, URL-safe: unguessable, and unique across every receiver kind. */
export function newEndpointId(): string {
  return randomBytes(24).toString('base64url');
}

export function endpointPath(id: string): string {
  return `${DELIVERY_PREFIX}${id}`;
}

export const ENDPOINT_ID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
