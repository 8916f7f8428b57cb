import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { singleProcessElector } from '../elector.js';
import { BodyCodec, type KeySet } from '../sealing.js';
import type { Elector, Maintenance, Store, Unit, UnitResult } from '../types.js';
import { SqliteControlPlane } from './control-plane.js';
import { SqliteDataPlane } from './data-plane.js';
import { openDatabase, startCheckpointer } from './db.js';
import { lockDataDir } from './lock.js';
import { Writer } from './writer.js';

export interface SqliteOptions {
  dataDir: string;
  /** Kinds whose objects live in namespaces (for "namespace is empty" checks). */
  namespacedKinds: string[];
  /** Per kind, label keys left out of the label index. */
  unindexedLabels: Record<string, string[]>;
  /** Kinds whose spec is encrypted at rest, with these keys. */
  sealedKinds: string[];
  keys: KeySet;
}

/** The embedded store: one SQLite file in WAL mode, one writer thread, reads on the main thread. */
export class SqliteStore implements Store {
  readonly control: SqliteControlPlane;
  readonly data: SqliteDataPlane;
  readonly elector: Elector = singleProcessElector();
  private readonly writer: Writer;
  private readonly stopCheckpointer: () => Promise<void>;
  private readonly db;
  private readonly unlock: () => void;
  private closing?: Promise<void>;

  constructor(opts: SqliteOptions) {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    this.unlock = lockDataDir(opts.dataDir);
    const codec = new BodyCodec(opts.keys, opts.sealedKinds);
    this.db = openDatabase(opts.dataDir);
    this.control = new SqliteControlPlane(this.db, codec);
    try {
      this.control.checkKeys();
    } catch (e) {
      this.db.close();
      this.unlock();
      throw e;
    }
    this.data = new SqliteDataPlane(this.db);
    this.writer = new Writer(
      join(opts.dataDir, 'orloj.db'),
      { namespacedKinds: opts.namespacedKinds, unindexedLabels: opts.unindexedLabels },
      codec,
      (from, rev, changes, records) => {
        this.control.publish(from, rev, changes);
        this.data.publish(records);
      },
      () => this.data.watched,
    );
    this.stopCheckpointer = startCheckpointer(opts.dataDir);
  }

  commit(unit: Unit): Promise<UnitResult> {
    return this.writer.commit(unit);
  }

  unpublished(): boolean {
    return this.writer.unpublished();
  }

  maintain(m: Maintenance): Promise<number> {
    return this.writer.maintain(m);
  }

  /** Commits what is queued and closes; again, it only waits for that. */
  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    await this.writer.close();
    await this.stopCheckpointer();
    await this.elector.close();
    this.control.close();
    this.db.close();
    this.unlock();
  }
}
