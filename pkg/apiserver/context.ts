import type { Logger } from 'pino';
import type { Objects } from '../store/objects.js';
import type { Role, TokenAuth } from './auth.js';
import type { Watches } from './watch.js';

/** What every API handler may use; built once in server.ts. */
export interface ServerDeps {
  store: Objects;
  auth: TokenAuth;
  log: Logger;
  maxRequestBytes: number;
  version: string;
  isReady: () => boolean;
  /** Open watches, counted per token. */
  watches: Watches;
  /** Aborted when the server shuts down: long-lived responses (watches) end then. */
  closing?: AbortSignal;
}

export interface WatchLimits {
  /** Open watches one token may hold. */
  perToken: number;
  /** Bytes a live watch may have waiting for a slow client before it is dropped. */
  bufferBytes: number;
  heartbeatMs: number;
}

/** What one client may hold of the server: connections, time, buffered bytes, watches. */
export interface HttpLimits {
  maxConnections: number;
  headerTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxBodyBytesInFlight: number;
  watch: WatchLimits;
}

export interface RequestState {
  role: Role;
  /** Who the token is (its digest): the key of per-token limits, never logged. */
  subject: string;
  requestId: string;
  log: Logger;
  /** The template of the route the path matches, if any (a metrics label). */
  route?: string | RegExp;
}
