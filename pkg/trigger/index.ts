// Which triggers a change can fire, found by what it changed (a collection, or run tasks of a
// namespace) instead of a scan of every trigger. Fed by a watch of Trigger objects; it also
// says which writes must keep images in the change log (what a message carries).
import type { TriggerSpec } from '../api/kinds/trigger.js';
import { parseSelector, type Requirement } from '../api/selector.js';
import type { StoredResource, WatchEvent } from '../api/types.js';
import { findCondition } from '../controller/conditions.js';
import type { ControlPlaneStore } from '../store/types.js';

export interface IndexedTrigger {
  object: StoredResource;
  spec: TriggerSpec;
  /** `Trigger/namespace/name`: the owner of its delivery records. */
  owner: string;
  selector: Requirement[];
}

const TASK = 'Task';
const docKey = (namespace: string, collection: string): string => `${namespace}/${collection}`;

/** The collection a trigger watches: its own, or (resolved by its reconciler) its Source's. */
function collectionOf(t: StoredResource): string | undefined {
  const spec = t.spec as unknown as TriggerSpec;
  if (spec.resource) return undefined;
  return spec.collection ?? (typeof t.status?.collection === 'string' && t.status.collection ? t.status.collection : undefined);
}

export class TriggerIndex {
  private readonly byUid = new Map<string, IndexedTrigger>();
  private readonly byCollection = new Map<string, Set<string>>();
  private readonly byTaskNamespace = new Map<string, Set<string>>();
  private stop?: () => void;
  /** Called whenever a trigger changes, with what it was (the engine looks again at what it held back). */
  onChange: (t: IndexedTrigger | undefined, before: IndexedTrigger | undefined) => void = () => {};

  /** Lists every trigger (page by page), then follows changes from the list's revision. */
  async start(control: ControlPlaneStore): Promise<void> {
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await control.list('Trigger', { limit: 500, continue: cont });
      for (const o of page.items) this.apply({ type: 'ADDED', key: { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }, object: o, origin: 'system', revision: Number(o.metadata.resourceVersion) });
      rv ||= page.resourceVersion;
      cont = page.continue;
    } while (cont);
    this.stop = await control.watch({ kind: 'Trigger' }, rv, (e) => this.apply(e));
  }

  close(): void {
    this.stop?.();
  }

  get(uid: string): IndexedTrigger | undefined {
    return this.byUid.get(uid);
  }

  get empty(): boolean {
    return this.byUid.size === 0;
  }

  all(): IterableIterator<IndexedTrigger> {
    return this.byUid.values();
  }

  forCollection(namespace: string, collection: string): IndexedTrigger[] {
    return this.members(this.byCollection.get(docKey(namespace, collection)));
  }

  forTasks(namespace: string): IndexedTrigger[] {
    return this.members(this.byTaskNamespace.get(namespace));
  }

  /** Whether writes to this collection (or run tasks of this namespace) keep their images. */
  imagesFor(kind: string, namespace: string, collection?: string): boolean {
    if (collection !== undefined) return this.byCollection.has(docKey(namespace, collection));
    return kind === TASK && this.byTaskNamespace.has(namespace);
  }

  private members(uids: Set<string> | undefined): IndexedTrigger[] {
    const out: IndexedTrigger[] = [];
    for (const uid of uids ?? []) out.push(this.byUid.get(uid)!);
    return out;
  }

  private apply(e: WatchEvent): void {
    const uid = e.object.metadata.uid;
    const before = this.byUid.get(uid);
    this.remove(uid);
    if (e.type === 'DELETED') return this.onChange(undefined, before);
    const spec = e.object.spec as unknown as TriggerSpec;
    let selector: Requirement[] = [];
    try {
      selector = parseSelector(spec.label_selector);
    } catch {
      return; // refused at apply; an object that predates the check fires nothing
    }
    const t: IndexedTrigger = { object: e.object, spec, owner: `Trigger/${e.object.metadata.namespace}/${e.object.metadata.name}`, selector };
    this.byUid.set(uid, t);
    const ns = e.object.metadata.namespace;
    const col = collectionOf(e.object);
    if (col) add(this.byCollection, docKey(ns, col), uid);
    else if (spec.resource === 'tasks') add(this.byTaskNamespace, ns, uid);
    this.onChange(t, before);
  }

  private remove(uid: string): void {
    const t = this.byUid.get(uid);
    if (!t) return;
    this.byUid.delete(uid);
    for (const m of [this.byCollection, this.byTaskNamespace]) {
      for (const [k, set] of m) if (set.delete(uid) && !set.size) m.delete(k);
    }
  }
}

function add(m: Map<string, Set<string>>, k: string, uid: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(uid);
}

/** Whether a trigger fires on a change at `revision`: Ready since before it. */
export function isActive(t: IndexedTrigger, revision: number): boolean {
  const since = t.object.status?.sinceRevision;
  return findCondition(t.object.status?.conditions, 'Ready')?.status === 'True' && typeof since === 'number' && revision > since;
}
