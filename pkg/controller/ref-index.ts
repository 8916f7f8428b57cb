import type { Ref } from '../api/kind.js';
import type { ObjectKey } from '../api/types.js';

const k = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

/**
 * Who refers to what, kept from the watch stream: a change to an object finds the objects
 * that depend on it by lookup, never by listing every object of the dependent kind.
 */
export class RefIndex {
  private readonly dependents = new Map<string, Map<string, ObjectKey>>();
  private readonly refsOf = new Map<string, string[]>();

  /** Replaces what `from` refers to (refs are in its namespace); [] forgets it. */
  set(from: ObjectKey, refs: Ref[]): void {
    const id = k(from.kind, from.namespace, from.name);
    for (const r of this.refsOf.get(id) ?? []) {
      const d = this.dependents.get(r);
      d?.delete(id);
      if (d && !d.size) this.dependents.delete(r);
    }
    const keys = refs.map((r) => k(r.kind, from.namespace, r.name));
    if (keys.length) this.refsOf.set(id, keys);
    else this.refsOf.delete(id);
    for (const r of keys) {
      let d = this.dependents.get(r);
      if (!d) this.dependents.set(r, (d = new Map()));
      d.set(id, from);
    }
  }

  /** The objects that refer to `to`. */
  of(to: ObjectKey): Iterable<ObjectKey> {
    return this.dependents.get(k(to.kind, to.namespace, to.name))?.values() ?? [];
  }
}
