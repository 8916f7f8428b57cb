import type { Logger } from 'pino';
import type { Objects } from '../store/objects.js';
import type { Role, TokenAuth } from './auth.js';

/** What every API handler may use; built once in server.ts. */
export interface ServerDeps {
  store: Objects;
  auth: TokenAuth;
  log: Logger;
  maxRequestBytes: number;
  version: string;
  isReady: () => boolean;
  /** Aborted when the server shuts down: long-lived responses (watches) end then. */
  closing?: AbortSignal;
}

export interface RequestState {
  role: Role;
  requestId: string;
  log: Logger;
}
