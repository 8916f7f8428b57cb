import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../../pkg/api/errors.js';
import { parseSelector } from '../../pkg/api/selector.js';
import type { Resource, WatchEvent } from '../../pkg/api/types.js';
import { openDatabase } from '../../pkg/store/sqlite/db.js';
import { SqliteResourceStore } from '../../pkg/store/sqlite/resource-store.js';

const task = (name: string, labels?: Record<string, string>, input: Record<string, unknown> = {}): Resource => ({
  apiVersion: 'orloj.dev/v1',
  kind: 'Task',
  metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
  spec: { mode: 'run', input },
});

/** The SQLite store in-process, on a real database file in a temp dir. */
describe('SqliteResourceStore', function () {
  let dir: string;
  let store: SqliteResourceStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orloj-store-'));
    store = new SqliteResourceStore(openDatabase(dir));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives every write a new store-wide revision and writes nothing for an identical apply', async () => {
    const a = await store.apply(task('a'));
    const b = await store.apply(task('b'));
    expect(Number(b.object.metadata.resourceVersion)).to.equal(Number(a.object.metadata.resourceVersion) + 1);
    const again = await store.apply(task('a'));
    expect(again.outcome).to.equal('unchanged');
    expect(store.revision()).to.equal(b.object.metadata.resourceVersion);
  });

  it('refuses createOnly on an existing name and a stale precondition', async () => {
    const a = await store.apply(task('a'));
    await store.apply(task('a', undefined, { x: 1 }));
    const dup = await store.apply(task('a'), { createOnly: true }).catch((e: unknown) => e);
    expect((dup as ApiError).reason).to.equal('AlreadyExists');
    const stale = await store.updateStatus({ kind: 'Task', namespace: 'default', name: 'a' }, { phase: 'Running' }, { resourceVersion: a.object.metadata.resourceVersion }).catch((e: unknown) => e);
    expect((stale as ApiError).code).to.equal(409);
  });

  it('selects by every label operator, through the label index', async () => {
    await store.apply(task('red-1', { team: 'red', tier: 'web' }));
    await store.apply(task('red-2', { team: 'red' }));
    await store.apply(task('blue', { team: 'blue', tier: 'db' }));
    await store.apply(task('plain'));
    const names = async (sel: string) => (await store.list('Task', { labelSelector: parseSelector(sel) })).items.map((o) => o.metadata.name);
    expect(await names('team=red')).to.deep.equal(['red-1', 'red-2']);
    expect(await names('team in (red, blue),tier')).to.deep.equal(['blue', 'red-1']);
    expect(await names('team!=red')).to.deep.equal(['blue', 'plain']);
    expect(await names('team notin (red),!tier')).to.deep.equal(['plain']);
    // Relabelling moves the object in the index.
    await store.apply(task('red-2', { team: 'blue' }));
    expect(await names('team=red')).to.deep.equal(['red-1']);
    await store.delete({ kind: 'Task', namespace: 'default', name: 'red-1' });
    expect(await names('team=red')).to.deep.equal([]);
  });

  it('replays changes after a revision, including deletions, then streams live ones', async () => {
    await store.apply(task('before'));
    const since = store.revision();
    await store.apply(task('added'));
    await store.apply(task('before', undefined, { changed: true }));
    await store.delete({ kind: 'Task', namespace: 'default', name: 'added' });
    const seen: WatchEvent[] = [];
    const stop = store.watch({ kind: 'Task' }, since, (e) => seen.push(e));
    await store.apply(task('live'));
    stop();
    await store.apply(task('after-stop'));
    expect(seen.map((e) => `${e.type}:${e.object.metadata.name}`)).to.deep.equal(['MODIFIED:before', 'DELETED:added', 'ADDED:live']);
  });

  it('answers 410 Gone for a watch from before compacted tombstones', async () => {
    await store.apply(task('x'));
    const old = store.revision();
    await store.delete({ kind: 'Task', namespace: 'default', name: 'x' });
    expect(await store.compact(0)).to.equal(1);
    expect(() => store.watch({}, old, () => undefined)).to.throw(ApiError).with.property('code', 410);
    expect(() => store.watch({}, store.revision(), () => undefined)()).not.to.throw();
  });

  it('a re-created object is new: new uid, generation 1', async () => {
    const first = await store.apply(task('again'));
    await store.delete({ kind: 'Task', namespace: 'default', name: 'again' });
    const second = await store.apply(task('again'));
    expect(second.outcome).to.equal('created');
    expect(second.object.metadata.uid).not.to.equal(first.object.metadata.uid);
    expect(second.object.metadata.generation).to.equal(1);
  });

  it('keeps everything across a reopen of the database file', async () => {
    await store.apply(task('kept', { a: 'b' }));
    const rev = store.revision();
    await store.close();
    store = new SqliteResourceStore(openDatabase(dir));
    expect(store.revision()).to.equal(rev);
    expect((await store.list('Task', { labelSelector: parseSelector('a=b') })).items).to.have.length(1);
  });
});
