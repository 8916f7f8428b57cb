// One conformance suite for the store interfaces (ControlPlaneStore, DataPlaneStore, the
// unit of work, Elector): every driver runs it unchanged, from its own <driver>.test.ts.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ApiError } from '../../pkg/api/errors.js';
import { parseSelector } from '../../pkg/api/selector.js';
import type { ObjectKey, Resource, WatchEvent } from '../../pkg/api/types.js';
import { draft, Objects } from '../../pkg/store/objects.js';
import { resealStale } from '../../pkg/store/reseal.js';
import { KeySet, SealingError } from '../../pkg/store/sealing.js';
import type { ClaimOp, Store, Unit } from '../../pkg/store/types.js';
import { eventually } from '../helpers/orlojd.js';

/**
 * What a driver's store cannot mean, so that the tests of it are left out for that driver
 * alone (each is named with the reason). Unset means the driver has it.
 */
export interface DriverFeatures {
  /** Secrets are sealed at rest by the store (not when another system keeps them). */
  sealing?: boolean;
  /**
   * Objects' resourceVersions are the store's own revisions: dense (one per change, nothing
   * else takes one), the numbers of its change log and revision(), compacted by maintain().
   * Not so when resources live in a Kubernetes cluster, whose etcd revisions are shared with
   * everything else the cluster stores, and whose history the cluster compacts.
   */
  storeRevisions?: boolean;
}

export interface Driver {
  readonly features?: DriverFeatures;
  /** A new, empty store. */
  open(): Promise<Store>;
  /** The same store opened again (as after a restart), with these encryption keys if given. */
  reopen(old: Store, keys?: KeySet): Promise<Store>;
  /** Removes what open() made. */
  cleanup(): Promise<void>;
}

const DAY = 86_400_000;

const task = (name: string, labels?: Record<string, string>, input: Record<string, unknown> = {}, namespace = 'default'): Resource => ({
  apiVersion: 'orloj.dev/v1',
  kind: 'Task',
  metadata: { name, namespace, ...(labels ? { labels } : {}) },
  spec: { mode: 'run', input },
});

const key = (name: string, kind = 'Task', namespace = 'default'): ObjectKey => ({ kind, namespace, name });

const secretOf = (name: string, value: string): Resource => ({
  apiVersion: 'orloj.dev/v1',
  kind: 'Secret',
  metadata: { name, namespace: 'default' },
  spec: { data: { k: Buffer.from(value).toString('base64') } },
});
const valueOf = (o: { spec: Record<string, unknown> } | undefined): string =>
  Buffer.from((o?.spec.data as Record<string, string>).k!, 'base64').toString();
const newKey = (id: string) => ({ id, key: randomBytes(32) });

const failure = (p: Promise<unknown>): Promise<ApiError> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => {
      expect(e).to.be.instanceOf(ApiError);
      return e as ApiError;
    },
  );

/** Collects what a watch delivers. */
async function collect(store: Store, since: string | undefined, filter = {}) {
  const seen: WatchEvent[] = [];
  const stop = await store.control.watch(filter, since, (e) => seen.push(e));
  return { seen, stop, names: () => seen.map((e) => `${e.type}:${e.key.name}`) };
}

/** A delivery-shaped unit: claim the event, create a task under a free name, record and count it. */
function deliveryUnit(scope: string, eventId: string, nowMs: number, windowMs = DAY): Unit {
  const t = draft(task(`run-${eventId.replace(/[^a-z0-9-]/g, '')}`), 'default');
  return {
    origin: 'delivery',
    ops: [
      { op: 'claim', scope, key: eventId, expiresAt: nowMs + windowMs, nowMs },
      { op: 'create', object: t, uniqueName: true },
      { op: 'record', record: { ts: new Date(nowMs).toISOString(), owner: 'TaskWebhook/default/wh', eventId, outcome: 'accepted', httpStatus: 202 } },
      { op: 'count', scope, deltas: { accepted: 1 } },
    ],
  };
}

/** Whether the driver has a feature (unset: it has). */
export const has = (driver: Driver, f: keyof DriverFeatures): boolean => driver.features?.[f] !== false;

/**
 * An `it` for drivers with the feature. A driver without it has tests of its own for what it
 * does instead (the Kubernetes store: Secrets as core Secrets, 410 Gone from the cluster,
 * images in its journal), so nothing is registered here for it: a skip would test nothing.
 */
export function itIf(driver: Driver, f: keyof DriverFeatures) {
  return (title: string, fn: () => Promise<void>): void => {
    if (has(driver, f)) it(title, fn);
  };
}

export function runStoreConformance(name: string, driver: Driver): void {
  const storeRevs = has(driver, 'storeRevisions');
  const itSealing = itIf(driver, 'sealing');
  const itLog = itIf(driver, 'storeRevisions');
  describe(`${name} store conformance`, function () {
    let store: Store;
    let objects: Objects;
    /** Where a watch of what follows starts: a list's resourceVersion, as Kubernetes clients take it. */
    const listedAt = async (kind = 'Task'): Promise<string> => (await store.control.list(kind, { limit: 1 })).resourceVersion;
    beforeEach(async () => {
      store = await driver.open();
      objects = new Objects(store);
    });
    afterEach(async () => {
      await store.close();
      await driver.cleanup();
    });

    describe('resources', () => {
      it('gives every write a new store-wide revision and writes nothing for an identical apply', async () => {
        const a = await objects.apply(task('a'));
        const b = await objects.apply(task('b'));
        if (storeRevs) expect(Number(b.object.metadata.resourceVersion)).to.equal(Number(a.object.metadata.resourceVersion) + 1);
        else expect(Number(b.object.metadata.resourceVersion)).to.be.greaterThan(Number(a.object.metadata.resourceVersion));
        const again = await objects.apply(task('a'));
        expect(again.outcome).to.equal('unchanged');
        expect(again.object.metadata.resourceVersion).to.equal(a.object.metadata.resourceVersion);
        if (storeRevs) expect(store.control.revision()).to.equal(b.object.metadata.resourceVersion);
        const changed = await objects.apply(task('a', undefined, { x: 1 }));
        expect(changed.outcome).to.equal('configured');
        expect(changed.object.metadata.generation).to.equal(2);
      });

      it('refuses createOnly on an existing name and a stale resourceVersion with 409', async () => {
        const a = await objects.apply(task('a'));
        await objects.apply(task('a', undefined, { x: 1 }));
        expect((await failure(objects.apply(task('a'), { createOnly: true }))).reason).to.equal('AlreadyExists');
        const stale = await failure(objects.updateStatus(key('a'), { phase: 'Running' }, { resourceVersion: a.object.metadata.resourceVersion }));
        expect(stale.code).to.equal(409);
        const staleApply = { ...task('a', undefined, { x: 2 }), metadata: { ...task('a').metadata, resourceVersion: a.object.metadata.resourceVersion } };
        expect((await failure(objects.apply(staleApply))).reason).to.equal('Conflict');
        expect((await failure(objects.delete(key('a'), { resourceVersion: a.object.metadata.resourceVersion }))).reason).to.equal('Conflict');
      });

      it('selects by every label operator, indexed or not', async () => {
        await objects.apply(task('red-1', { team: 'red', tier: 'web', 'orloj.dev/webhook-event-id': 'e1' }));
        await objects.apply(task('red-2', { team: 'red', 'orloj.dev/webhook-event-id': 'e2' }));
        await objects.apply(task('blue', { team: 'blue', tier: 'db' }));
        await objects.apply(task('plain'));
        const names = async (sel: string) => (await objects.list('Task', { labelSelector: parseSelector(sel) })).items.map((o) => o.metadata.name);
        expect(await names('team=red')).to.deep.equal(['red-1', 'red-2']);
        expect(await names('team in (red, blue),tier')).to.deep.equal(['blue', 'red-1']);
        expect(await names('team!=red')).to.deep.equal(['blue', 'plain']);
        expect(await names('team notin (red),!tier')).to.deep.equal(['plain']);
        expect(await names('orloj.dev/webhook-event-id=e2')).to.deep.equal(['red-2']);
        expect(await names('orloj.dev/webhook-event-id')).to.deep.equal(['red-1', 'red-2']);
        expect(await names('!orloj.dev/webhook-event-id')).to.deep.equal(['blue', 'plain']);
        await objects.apply(task('red-2', { team: 'blue' }));
        expect(await names('team=red')).to.deep.equal(['red-1']);
        await objects.delete(key('red-1'));
        expect(await names('team=red')).to.deep.equal([]);
      });

      it('pages a list with a continue token', async () => {
        for (const n of ['a', 'b', 'c', 'd', 'e']) await objects.apply(task(n));
        const first = await objects.list('Task', { limit: 2 });
        expect(first.items.map((o) => o.metadata.name)).to.deep.equal(['a', 'b']);
        const second = await objects.list('Task', { limit: 2, continue: first.continue });
        expect(second.items.map((o) => o.metadata.name)).to.deep.equal(['c', 'd']);
        const last = await objects.list('Task', { limit: 2, continue: second.continue });
        expect(last.items.map((o) => o.metadata.name)).to.deep.equal(['e']);
        expect(last.continue).to.equal(undefined);
      });

      it('never leaves an object out of a list while its status is being rewritten', async () => {
        const n = 40;
        for (let i = 0; i < n; i++) await objects.apply(task(`s-${i}`));
        let writing = true;
        const writer = (async () => {
          for (let round = 0; writing; round++) {
            await Promise.all(Array.from({ length: n }, (_, i) => objects.updateStatus(key(`s-${i}`), { phase: 'Running', round })));
          }
        })();
        try {
          for (let i = 0; i < 30; i++) expect((await objects.list('Task')).items).to.have.length(n);
        } finally {
          writing = false;
          await writer;
        }
      });

      it('merges status patches, keeps other fields, and skips an object re-created under the same name', async () => {
        const a = await objects.apply(task('m'));
        await objects.updateStatus(key('m'), { phase: 'Running', endpointID: 'keep-me' });
        await objects.mergeStatus(key('m'), a.object.metadata.uid, { acceptedCount: 3 });
        expect((await objects.get('Task', 'default', 'm'))!.status).to.include({ phase: 'Running', endpointID: 'keep-me', acceptedCount: 3 });
        await objects.delete(key('m'));
        await objects.apply(task('m'));
        const rev = store.control.revision();
        const before = (await objects.get('Task', 'default', 'm'))!.metadata.resourceVersion;
        await objects.mergeStatus(key('m'), a.object.metadata.uid, { acceptedCount: 9 });
        const after = (await objects.get('Task', 'default', 'm'))!;
        expect(after.status).not.to.have.property('acceptedCount');
        expect(after.metadata.resourceVersion).to.equal(before);
        expect(store.control.revision()).to.equal(rev);
      });

      it('indexes status.endpointID: found by it, unique across kinds, freed on delete', async () => {
        await objects.apply(task('e1'));
        await objects.apply(task('e2'));
        await objects.updateStatus(key('e1'), { endpointID: 'endpoint-1' });
        expect((await store.control.findByEndpointId('endpoint-1'))?.metadata.name).to.equal('e1');
        const taken = await failure(objects.updateStatus(key('e2'), { endpointID: 'endpoint-1' }));
        expect(taken.reason).to.equal('Conflict');
        expect(taken.message).to.include('endpoint ID');
        const dup = await failure(objects.apply(task('e1'), { createOnly: true }));
        expect(dup.reason).to.equal('AlreadyExists');
        await objects.delete(key('e1'));
        expect(await store.control.findByEndpointId('endpoint-1')).to.equal(undefined);
        await objects.updateStatus(key('e2'), { endpointID: 'endpoint-1' });
        expect((await store.control.findByEndpointId('endpoint-1'))?.metadata.name).to.equal('e2');
      });

      it('admits objects only into existing namespaces, and deletes a namespace only when empty', async () => {
        const missing = await failure(objects.apply(task('x', undefined, {}, 'team-a')));
        expect(missing.reason).to.equal('NotFound');
        await objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Namespace', metadata: { name: 'team-a' }, spec: {} });
        await objects.apply(task('x', undefined, {}, 'team-a'));
        const busy = await failure(objects.delete({ kind: 'Namespace', namespace: '', name: 'team-a' }));
        expect(busy.reason).to.equal('Conflict');
        expect(busy.message).to.include('not empty');
        await objects.delete(key('x', 'Task', 'team-a'));
        await objects.delete({ kind: 'Namespace', namespace: '', name: 'team-a' });
        expect(await objects.get('Namespace', '', 'team-a')).to.equal(undefined);
      });

      it('a re-created object is new: new uid, generation 1', async () => {
        const first = await objects.apply(task('again', undefined, { v: 1 }));
        await objects.apply(task('again', undefined, { v: 2 }));
        await objects.delete(key('again'));
        const second = await objects.apply(task('again'));
        expect(second.outcome).to.equal('created');
        expect(second.object.metadata.uid).not.to.equal(first.object.metadata.uid);
        expect(second.object.metadata.generation).to.equal(1);
      });

      it('keeps nothing of a deleted object but its identity: a Secret\'s values go with it', async () => {
        const since = await listedAt('Secret');
        await objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Secret', metadata: { name: 'gone', namespace: 'default' }, spec: { data: { k: Buffer.from('s3cret-value').toString('base64') } } });
        await objects.delete(key('gone', 'Secret'));
        expect(await objects.get('Secret', 'default', 'gone')).to.equal(undefined);
        const w = await collect(store, since, { kind: 'Secret' });
        w.stop();
        expect(w.names()).to.deep.equal(['DELETED:gone']);
        expect(JSON.stringify(w.seen[0]!.object)).not.to.include(Buffer.from('s3cret-value').toString('base64'));
      });
    });

    describe('encryption at rest', () => {
      itSealing('reads Secrets sealed with any key of the set; a reseal moves them to the first, and the old key can go', async () => {
        const [k1, k2] = [newKey('k1'), newKey('k2')];
        store = await driver.reopen(store, new KeySet([k1]));
        objects = new Objects(store);
        await objects.apply(secretOf('old', 'sealed-with-k1'));
        await objects.apply(task('plain'));
        store = await driver.reopen(store, new KeySet([k2, k1]));
        objects = new Objects(store);
        expect(valueOf(await objects.get('Secret', 'default', 'old'))).to.equal('sealed-with-k1');
        expect((await store.control.stale()).map((o) => o.metadata.name)).to.deep.equal(['old']);
        expect(await resealStale(store)).to.deep.equal({ sealed: 1, purged: true });
        expect(await store.control.stale()).to.deep.equal([]);
        const status = await objects.updateStatus(key('old', 'Secret'), { keys: 1 });
        expect(valueOf(status)).to.equal('sealed-with-k1');
        store = await driver.reopen(store, new KeySet([k2]));
        objects = new Objects(store);
        expect(valueOf((await objects.list('Secret')).items[0])).to.equal('sealed-with-k1');
        const refused = await driver.reopen(store, new KeySet([k1])).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(refused).to.be.instanceOf(SealingError);
        expect((refused as Error).message).to.include('Secret default/old').and.include('"k2"');
        store = await driver.reopen(store, new KeySet([k2]));
      });

      itSealing('refuses a key set whose key has the id of the sealing one but other bytes', async () => {
        const k1 = newKey('k1');
        store = await driver.reopen(store, new KeySet([k1]));
        await new Objects(store).apply(secretOf('s', 'v'));
        const refused = await driver.reopen(store, new KeySet([newKey('k1')])).then(() => undefined, (e: unknown) => e);
        expect((refused as Error).message).to.match(/encryption key "k1" does not open Secret default\/s/);
        store = await driver.reopen(store, new KeySet([k1]));
      });
    });

    describe('change log and watch', () => {
      it('replays changes after a revision, deletions included, then streams live ones', async () => {
        await objects.apply(task('before'));
        const since = await listedAt();
        await objects.apply(task('added'));
        await objects.apply(task('before', undefined, { changed: true }));
        await objects.delete(key('added'));
        const w = await collect(store, since, { kind: 'Task' });
        await objects.apply(task('live'));
        w.stop();
        await objects.apply(task('after-stop'));
        expect(w.names()).to.deep.equal(['MODIFIED:before', 'DELETED:added', 'ADDED:live']);
        expect(w.seen.map((e) => e.revision)).to.deep.equal([...w.seen.map((e) => e.revision)].sort((x, y) => x - y));
      });

      it('shows DELETED then ADDED to a watch resumed across a delete and re-create of a name', async () => {
        const first = await objects.apply(task('phoenix'));
        const since = await listedAt();
        await objects.delete(key('phoenix'));
        const second = await objects.apply(task('phoenix', undefined, { reborn: true }));
        const w = await collect(store, since, { kind: 'Task' });
        w.stop();
        expect(w.names()).to.deep.equal(['DELETED:phoenix', 'ADDED:phoenix']);
        expect(w.seen[0]!.object.metadata.uid).to.equal(first.object.metadata.uid);
        expect(w.seen[1]!.object.metadata.uid).to.equal(second.object.metadata.uid);
      });

      it('records who made each change', async () => {
        const since = Number(store.control.revision());
        const watchFrom = await listedAt();
        await objects.apply(task('by-api'));
        await objects.as('reconciler').updateStatus(key('by-api'), { phase: 'Running' });
        await store.commit(deliveryUnit('scope-1', 'ev-1', Date.now()));
        const changes = await store.control.changes(since, 10);
        expect(changes.map((c) => `${c.type}:${c.origin}`)).to.deep.equal(['ADDED:api', 'MODIFIED:reconciler', 'ADDED:delivery']);
        // A replay shows each object once, at its newest change, with that change's origin.
        const w = await collect(store, watchFrom, { kind: 'Task' });
        w.stop();
        expect(w.seen.map((e) => `${e.type}:${e.origin}`)).to.deep.equal(['ADDED:reconciler', 'ADDED:delivery']);
      });

      it('replays a long history in pages, in order, without missing what commits meanwhile', async () => {
        const since = await listedAt();
        await Promise.all(Array.from({ length: 2500 }, (_, i) => objects.apply(task(`h-${i}`))));
        const w = await collect(store, since, { kind: 'Task' });
        await objects.apply(task('h-live'));
        await eventually(async () => w.seen.length === 2501);
        w.stop();
        const revs = w.seen.map((e) => e.revision);
        expect(revs.every((r, i) => i === 0 || r > revs[i - 1]!)).to.equal(true);
        expect(new Set(w.seen.map((e) => e.key.name)).size).to.equal(2501);
      });

      it('publishes every change once, in revision order, while API writes interleave with delivery units', async () => {
        const live = await collect(store, undefined, {});
        const from = await listedAt();
        const writes: Promise<unknown>[] = [];
        const now = Date.now();
        for (let i = 0; i < 300; i++) {
          writes.push(store.commit(deliveryUnit('scope-order', `e-${i}`, now)));
          if (i % 15 === 0) writes.push(objects.apply(task(`api-${i}`)));
        }
        await Promise.all(writes);
        live.stop();
        const revs = live.seen.map((e) => e.revision);
        expect(revs).to.have.length(320);
        if (storeRevs) {
          expect(revs.every((rv, i) => i === 0 || rv === revs[i - 1]! + 1)).to.equal(true);
          expect(String(revs[revs.length - 1])).to.equal(store.control.revision());
        } else expect(revs.every((rv, i) => i === 0 || rv > revs[i - 1]!)).to.equal(true);
        const replayed = await collect(store, from, {});
        replayed.stop();
        expect(replayed.seen.map((e) => e.revision)).to.deep.equal(revs);
        if (storeRevs) expect((await store.control.changes(Number(from), 1000)).map((c) => c.revision)).to.deep.equal(revs);
      });

      itLog('answers 410 Gone exactly below the compacted revision', async () => {
        await objects.apply(task('x'));
        const old = Number(store.control.revision());
        await objects.delete(key('x'));
        await objects.apply(task('y'));
        const upTo = old + 1;
        await store.maintain({ compactTo: upTo, chunk: 1000 });
        expect((await failure(store.control.watch({}, String(upTo - 1), () => undefined))).code).to.equal(410);
        expect((await failure(store.control.changes(upTo - 1, 10))).code).to.equal(410);
        const w = await collect(store, String(upTo), {});
        w.stop();
        expect(w.names()).to.deep.equal(['ADDED:y']);
      });

      it('keeps everything across a reopen', async () => {
        const kept = await objects.apply(task('kept', { a: 'b' }));
        const rev = store.control.revision();
        store = await driver.reopen(store);
        objects = new Objects(store);
        expect(store.control.revision()).to.equal(rev);
        expect((await objects.list('Task', { labelSelector: parseSelector('a=b') })).items).to.have.length(1);
        const next = await objects.apply(task('after'));
        if (storeRevs) expect(Number(next.object.metadata.resourceVersion)).to.equal(Number(rev) + 1);
        else expect(Number(next.object.metadata.resourceVersion)).to.be.greaterThan(Number(kept.object.metadata.resourceVersion));
      });
    });

    describe('units of work and the data plane', () => {
      const created = (r: Awaited<ReturnType<Store['commit']>>): string => {
        if (r.held) throw new Error('held');
        return r.writes[1]!.name;
      };

      it('lets one unit hold a claim; copies, even in the same transaction, get its result', async () => {
        const now = Date.now();
        const results = await Promise.all(['a', 'b', 'a', 'c', 'a', 'b'].map((e) => store.commit(deliveryUnit('s', e, now))));
        const fresh = results.filter((r) => !r.held);
        expect(fresh).to.have.length(3);
        const byEvent = new Map(['a', 'b', 'c'].map((e, i) => [e, created(fresh[i]!)]));
        const held = results.filter((r) => r.held) as Array<{ held: true; result: string }>;
        expect(held.map((h) => h.result).sort()).to.deep.equal([byEvent.get('a'), byEvent.get('a'), byEvent.get('b')].sort());
        expect((await objects.list('Task')).items).to.have.length(3);
        expect((await store.data.counters(['s'])).get('s')).to.deep.equal({ accepted: 3 });
        expect((await store.data.claim('s', 'a', now))?.result).to.equal(byEvent.get('a'));
      });

      it('claims again after expiry, and a taken name becomes name-2', async () => {
        const t0 = Date.now();
        const first = created(await store.commit(deliveryUnit('s', 'x', t0, 60_000)));
        expect((await store.commit(deliveryUnit('s', 'x', t0 + 1000, 60_000))).held).to.equal(true);
        expect(await store.data.claim('s', 'x', t0 + 61_000)).to.equal(undefined);
        const later = created(await store.commit(deliveryUnit('s', 'x', t0 + 61_000, 60_000)));
        expect(later).to.equal(`${first}-2`);
        // Records name what their unit created.
        const records = await store.data.listDeliveries({ owner: 'TaskWebhook/default/wh' });
        expect(records.map((r) => r.result)).to.deep.equal([later, first]);
      });

      it('holds a unit with two claims when either is held, and then claims neither', async () => {
        const now = Date.now();
        const twoClaims = (eventId: string, sig: string): Unit => {
          const u = deliveryUnit('s', eventId, now);
          u.ops.splice(1, 0, { op: 'claim', scope: 's/sig', key: sig, expiresAt: now + DAY, nowMs: now });
          return u;
        };
        // In one batch and across batches alike: the second and third are held, by a different claim each.
        const [first, sameSig, sameId] = await Promise.all([twoClaims('e-1', 'sig-1'), twoClaims('e-2', 'sig-1'), twoClaims('e-1', 'sig-2')].map((u) => store.commit(u)));
        if (first!.held) throw new Error('the first unit was held');
        const task = first!.writes[2]!.name;
        expect(sameSig).to.include({ held: true, result: task, op: 1 });
        expect(sameId).to.include({ held: true, result: task, op: 0 });
        expect(await store.data.claim('s/sig', 'sig-1', now)).to.include({ result: task });
        expect(await store.data.claim('s', 'e-2', now)).to.equal(undefined);
        expect(await store.data.claim('s/sig', 'sig-2', now)).to.equal(undefined);
        const late = await store.commit(twoClaims('e-3', 'sig-1'));
        expect(late).to.include({ held: true, result: task, op: 1 });
        expect((await objects.list('Task')).items).to.have.length(1);
        expect((await store.data.counters(['s'])).get('s')).to.deep.equal({ accepted: 1 });
      });

      it('holds brief claims like others: given back by a refused unit, kept across a restart, free once expired, then pruned', async () => {
        await objects.apply(task('taken'));
        const now = Date.now();
        const brief = (key: string, expiresAt = now + 5000): ClaimOp => ({ op: 'claim', scope: 'b/sig', key, expiresAt, nowMs: now, brief: true });
        const withSig = (eventId: string, sig: ClaimOp, nowMs = now): Unit => {
          const u = deliveryUnit('b', eventId, nowMs);
          u.ops.splice(1, 0, { ...sig, nowMs });
          return u;
        };
        const first = await store.commit(withSig('b-1', brief('s-1')));
        if (first.held) throw new Error('the first unit was held');
        const task1 = first.writes[2]!.name;
        expect(await store.commit(withSig('b-2', brief('s-1')))).to.include({ held: true, result: task1, op: 1 });
        const refused = await failure(store.commit({ origin: 'delivery', ops: [brief('s-2'), { op: 'create', object: draft(task('taken'), 'default') }] }));
        expect(refused.reason).to.equal('AlreadyExists');
        expect((await store.commit(withSig('b-3', brief('s-2')))).held).to.equal(false);
        store = await driver.reopen(store);
        objects = new Objects(store);
        expect(await store.commit(withSig('b-4', brief('s-1')))).to.include({ held: true, result: task1, op: 1 });
        expect(await store.commit(withSig('b-5', brief('s-2')))).to.include({ held: true, op: 1 });
        expect((await store.commit(withSig('b-6', brief('s-1', now + 60_000), now + 5000))).held).to.equal(false);
        expect(await store.maintain({ claimsBefore: now + 10_000, chunk: 100 })).to.be.at.least(1);
        store = await driver.reopen(store);
        objects = new Objects(store);
        expect(await store.commit(withSig('b-7', brief('s-1'), now + 6000))).to.include({ held: true, op: 1 });
        expect((await store.commit(withSig('b-8', brief('s-2'), now + 6000))).held).to.equal(false);
      });

      it('trims an owner\'s rejected records to its newest, leaving its other records and other owners\' alone', async () => {
        const ts = new Date().toISOString();
        const rec = (owner: string, eventId: string, outcome: 'accepted' | 'rejected') =>
          ({ op: 'record', record: { ts, owner: `TaskWebhook/default/${owner}`, eventId, outcome, httpStatus: outcome === 'rejected' ? 401 : 202 } }) as const;
        const ops = [];
        for (let i = 0; i < 6; i++) ops.push(rec('flooded', `r-${i}`, 'rejected'), rec('other', `o-${i}`, 'rejected'));
        ops.splice(3, 0, rec('flooded', 'a-1', 'accepted'));
        await store.commit({ origin: 'delivery', ops });
        await store.commit({ origin: 'delivery', ops: [rec('flooded', 'r-6', 'rejected'), { op: 'trim', owner: 'TaskWebhook/default/flooded', outcome: 'rejected', keep: 2 }] });
        const ids = async (owner: string) => (await store.data.listDeliveries({ owner: `TaskWebhook/default/${owner}` })).map((r) => r.eventId);
        expect(await ids('flooded')).to.deep.equal(['r-6', 'r-5', 'a-1']);
        expect(await ids('other')).to.have.length(6);
        // Retention counts the records that are left, not the ids trimming skipped.
        expect(await store.maintain({ keepRecords: 8, chunk: 100 })).to.equal(1);
        expect(await ids('other')).to.deep.equal(['o-5', 'o-4', 'o-3', 'o-2', 'o-1']);
        expect(await ids('flooded')).to.deep.equal(['r-6', 'r-5', 'a-1']);
        expect(await store.maintain({ keepRecords: 8, chunk: 100 })).to.equal(0);
      });

      it('refuses a unit that cannot commit alone; the rest of its batch commits', async () => {
        await objects.apply(task('exists'));
        const now = Date.now();
        const ok = ['p-1', 'p-2', 'p-3'].map((e) => store.commit(deliveryUnit('s', e, now)));
        const bad = store.commit({ origin: 'api', ops: [{ op: 'create', object: draft(task('fine'), 'default') }, { op: 'create', object: draft(task('exists'), 'default') }] });
        const [good, refused] = await Promise.all([Promise.all(ok), failure(bad)]);
        expect(good.every((r) => !r.held)).to.equal(true);
        expect(refused.reason).to.equal('AlreadyExists');
        expect(await objects.get('Task', 'default', 'fine')).to.equal(undefined);
        expect((await objects.list('Task')).items).to.have.length(4);
      });

      it('a refused unit keeps none of its claims: the event can be claimed again', async () => {
        await objects.apply(task('taken'));
        const now = Date.now();
        const claims = [
          { op: 'claim' as const, scope: 'r', key: 'ev', expiresAt: now + DAY, nowMs: now },
          { op: 'claim' as const, scope: 'r/sig', key: 'sig', expiresAt: now + DAY, nowMs: now },
        ];
        const refused = await failure(store.commit({ origin: 'delivery', ops: [...claims, { op: 'create', object: draft(task('taken'), 'default') }] }));
        expect(refused.reason).to.equal('AlreadyExists');
        expect(await store.data.claim('r', 'ev', now)).to.equal(undefined);
        expect(await store.data.claim('r/sig', 'sig', now)).to.equal(undefined);
        const ok = await store.commit({ origin: 'delivery', ops: [...claims, { op: 'create', object: draft(task('fresh'), 'default') }] });
        expect(ok.held).to.equal(false);
        expect((await store.data.claim('r/sig', 'sig', now))?.result).to.equal('fresh');
        // Held by its second claim: the first, taken on the way, is given back.
        const half = await store.commit({ origin: 'delivery', ops: [{ ...claims[0]!, key: 'other' }, claims[1]!, { op: 'create', object: draft(task('never'), 'default') }] });
        expect(half).to.deep.include({ held: true, result: 'fresh' });
        expect(await store.data.claim('r', 'other', now)).to.equal(undefined);
      });

      it('counts, records newest first, and prunes expired claims and old records in chunks', async () => {
        const t0 = Date.now();
        for (let i = 0; i < 5; i++) await store.commit(deliveryUnit('p', `r-${i}`, t0, 1000));
        await store.commit({ origin: 'delivery', ops: [{ op: 'count', scope: 'p', deltas: { rejected: 2, accepted: 1 } }] });
        expect((await store.data.counters(['p', 'none'])).get('p')).to.deep.equal({ accepted: 6, rejected: 2 });
        expect((await store.data.counters(['none'])).has('none')).to.equal(false);
        expect((await store.data.listDeliveries({ limit: 2 })).map((r) => r.eventId)).to.deep.equal(['r-4', 'r-3']);
        expect(await store.maintain({ claimsBefore: t0 + 2000, chunk: 3 })).to.equal(3);
        expect(await store.maintain({ claimsBefore: t0 + 2000, keepRecords: 2, chunk: 100 })).to.equal(2 + 3);
        expect(await store.data.listDeliveries({})).to.have.length(2);
        expect(await store.data.claim('p', 'r-0', t0)).to.equal(undefined);
      });

      it('lists the records after an id oldest first, with the other filters and the limit', async () => {
        const ts = new Date().toISOString();
        const rec = (owner: string, eventId: string) => ({ op: 'record', record: { ts, owner: `TaskWebhook/default/${owner}`, eventId, outcome: 'accepted', httpStatus: 202 } }) as const;
        await store.commit({ origin: 'delivery', ops: [rec('a', 'a-1'), rec('b', 'b-1'), rec('a', 'a-2'), rec('a', 'a-3'), rec('b', 'b-2')] });
        const all = await store.data.listDeliveries({});
        const idOf = (eventId: string): number => all.find((r) => r.eventId === eventId)!.id!;
        const events = async (q: Parameters<typeof store.data.listDeliveries>[0]) => (await store.data.listDeliveries(q)).map((r) => r.eventId);
        expect(await events({ after: 0 })).to.deep.equal(['a-1', 'b-1', 'a-2', 'a-3', 'b-2']);
        expect(await events({ after: idOf('b-1') })).to.deep.equal(['a-2', 'a-3', 'b-2']);
        expect(await events({ after: idOf('a-1'), owner: 'TaskWebhook/default/a', limit: 1 })).to.deep.equal(['a-2']);
        expect(await events({ after: idOf('b-2') })).to.deep.equal([]);
        // Without it, newest first as before.
        expect(await events({ owner: 'TaskWebhook/default/b' })).to.deep.equal(['b-2', 'b-1']);
      });

      it('watches delivery records: replays those after an id, then streams new ones, by owner', async () => {
        const now = Date.now();
        await store.commit(deliveryUnit('w', 'r-1', now));
        const [first] = await store.data.listDeliveries({ limit: 1 });
        await store.commit(deliveryUnit('w', 'r-2', now));
        const seen: string[] = [];
        const stop = await store.data.watchDeliveries({ owner: 'TaskWebhook/default/wh' }, first!.id, (r) => seen.push(`${r.eventId}:${r.result ?? ''}`));
        const other: string[] = [];
        const stopOther = await store.data.watchDeliveries({ owner: 'TaskWebhook/default/other' }, undefined, (r) => other.push(r.eventId ?? ''));
        const r3 = await store.commit(deliveryUnit('w', 'r-3', now));
        await store.commit({ origin: 'delivery', ops: [{ op: 'record', record: { ts: new Date(now).toISOString(), owner: 'TaskWebhook/default/wh', eventId: 'r-4', outcome: 'rejected', httpStatus: 401 } }] });
        stop();
        stopOther();
        await store.commit(deliveryUnit('w', 'r-5', now));
        const created = r3.held ? '' : r3.writes[1]!.name;
        expect(seen).to.deep.equal([`r-2:run-r-2`, `r-3:${created}`, 'r-4:']);
        expect(other).to.deep.equal([]);
      });

      it('keeps a test delivery\'s flag through every read (list, get, watch replay, live watch, reopen); other records have none', async () => {
        const now = Date.now();
        const rec = (eventId: string, test?: true) =>
          ({ op: 'record', record: { ts: new Date(now).toISOString(), owner: 'TaskWebhook/default/wh', eventId, outcome: 'accepted', httpStatus: 202, ...(test ? { test } : {}) } }) as const;
        const live: Array<[string | undefined, boolean | undefined]> = [];
        const stop = await store.data.watchDeliveries({}, undefined, (r) => live.push([r.eventId, r.test]));
        // One unit with both (one batch, as a flood would write them), then one each.
        await store.commit({ origin: 'delivery', ops: [rec('t-1', true), rec('real-1')] });
        await store.commit({ origin: 'delivery', ops: [rec('real-2')] });
        await store.commit({ origin: 'delivery', ops: [rec('t-2', true)] });
        const flags = (rs: Array<{ eventId?: string; test?: boolean }>) => rs.map((r) => [r.eventId, 'test' in r ? r.test : 'absent']);
        const expected = [['t-2', true], ['real-2', 'absent'], ['real-1', 'absent'], ['t-1', true]];
        expect(flags(await store.data.listDeliveries({}))).to.deep.equal(expected);
        const [newest] = await store.data.listDeliveries({ limit: 1 });
        expect(await store.data.getDelivery(newest!.id!)).to.include({ eventId: 't-2', test: true });
        const replayed: Array<{ eventId?: string; test?: boolean }> = [];
        const stopReplay = await store.data.watchDeliveries({}, 0, (r) => replayed.push(r));
        await eventually(async () => replayed.length === 4 && live.length === 4);
        stop();
        stopReplay();
        expect(flags(replayed)).to.deep.equal([...expected].reverse());
        expect(live).to.deep.equal([['t-1', true], ['real-1', undefined], ['real-2', undefined], ['t-2', true]]);
        store = await driver.reopen(store);
        expect(flags(await store.data.listDeliveries({}))).to.deep.equal(expected);
      });

      it('records events about objects, a repeat counting up', async () => {
        for (let i = 0; i < 2; i++) await objects.recordEvent(key('a'), 'Warning', 'Broken', 'it broke');
        await objects.recordEvent(key('a'), 'Normal', 'Fixed', 'it works');
        const events = await store.control.listEvents({ kind: 'Task', name: 'a' });
        expect(events.map((e) => `${e.reason}:${e.count}`)).to.deep.equal(['Fixed:1', 'Broken:2']);
      });
    });

    describe('elector', () => {
      it('tells whether this process leads, and tells again on every change', async () => {
        const seen: boolean[] = [];
        const off = store.elector.onChange((l) => seen.push(l));
        await eventually(async () => seen.length > 0);
        off();
        expect(seen[seen.length - 1]).to.equal(store.elector.isLeader());
      });
    });
  });
}

