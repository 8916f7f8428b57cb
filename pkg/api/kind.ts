import type Router from '@koa/router';
import type { ServerDeps } from '../apiserver/context.js';
import type { Reconciler } from '../controller/manager.js';
import type { ReceiverKind } from '../receiver/types.js';
import type { Objects } from '../store/objects.js';
import type { Op } from '../store/types.js';
import type { Cause } from './errors.js';
import type { Resource, Spec, StoredResource } from './types.js';

/** A JSON Schema object, as ajv and CRD openAPIV3Schema take it. */
export type JSONSchema = Record<string, unknown>;

/** A table column; `jsonPath` is shared by `orlojctl get` and the CRD printer columns. */
export interface Column {
  name: string;
  jsonPath: string;
  /** Shown only with `-o wide`. */
  wide?: boolean;
}

/**
 * Everything the API server, store, CLI and CRD generator need to know about a kind.
 * A new kind is one of these (in pkg/api/kinds/) plus, optionally, one reconciler.
 */
export interface KindDef {
  kind: string;
  plural: string;
  singular: string;
  /** kubectl-style short names and spellings accepted by the CLI and the API. */
  aliases: string[];
  namespaced: boolean;
  specSchema: JSONSchema;
  statusSchema?: JSONSchema;
  columns: Column[];
  /** Turns write-only input into its stored form (e.g. Secret stringData → data). */
  normalizeSpec?(spec: Spec): Spec;
  /**
   * Its spec is encrypted at rest (the store driver seals it as it stores it); metadata
   * stays plain, so names and labels remain queryable.
   */
  sensitive?: boolean;
  /**
   * Hides what a reader must not see (e.g. Secret values). Given the object as it was
   * before an apply, it marks the hidden values the apply changes, so a dry run can say
   * that a value changed without either value leaving the server.
   */
  redact?(obj: StoredResource, before?: StoredResource): StoredResource;
  /** Checks beyond the schema, on every write through the API. */
  validate?(obj: Resource): Cause[];
  /**
   * Checks against the objects it references that exist now, on every write through the API
   * (its reconciler checks again: they may change later). `get` reads one in its namespace.
   */
  checkRefs?(obj: Resource, get: (kind: string, name: string) => Promise<StoredResource | undefined>): Promise<Cause[]>;
  /**
   * Preconditions committed with a write (e.g. a Namespace must be empty to be deleted);
   * `force` is the caller's ?force=true on a delete.
   */
  admit?(obj: StoredResource, action: 'create' | 'update' | 'delete', opts: { force: boolean }): Op[];
  /**
   * Label keys whose values are unique per object (an event id): not worth an index entry
   * each. Selectors on them still work, by scanning the kind.
   */
  unindexedLabels?: string[];
  /** Objects of other kinds, in the same namespace, that an object depends on. */
  refs?(obj: StoredResource): Ref[];
  /**
   * The kind's server side, loaded only by orlojd (the CLI never pays for it): its
   * reconciler, its receiver (deliveries; a receiver kind without a reconciler of its own
   * gets the shared receiver reconciler), and routes of its own.
   */
  server?: () => Promise<KindServer>;
}

export interface KindServer {
  reconciler?: (store: Objects) => Reconciler;
  receiver?: ReceiverKind;
  routes?: (router: Router, deps: ServerDeps) => void;
}

export interface Ref {
  kind: string;
  name: string;
}
