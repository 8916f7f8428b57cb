import { BodyCodec, type KeySet } from '../sealing.js';
import type { DeliveryRecord, Maintenance, SharedSettings, Store, Unit, UnitResult } from '../types.js';
import type { WatchEvent } from '../../api/types.js';
import { connect, reach, type Sql } from './connect.js';
import { PgControlPlane } from './control-plane.js';
import { PgDataPlane } from './data-plane.js';
import { PgElector } from './elector.js';
import { migrate } from './schema.js';
import { PgWriter } from './writer.js';

export interface PostgresOptions {
  url: string;
  namespacedKinds: string[];
  sealedKinds: string[];
  keys: KeySet;
}

function sharedSettings(sql: Sql): SharedSettings {
  return {
    async setOnce(key, value) {
      const k = `shared:${key}`;
      await sql`INSERT INTO meta (key, value) VALUES (${k}, ${value}) ON CONFLICT (key) DO NOTHING`;
      const [row] = await sql<Array<{ value: string }>>`SELECT value FROM meta WHERE key = ${k}`;
      return row!.value;
    },
    async put(key, value) {
      await sql`INSERT INTO meta (key, value) VALUES (${`shared:${key}`}, ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
    },
  };
}

/** The channel every commit notifies, with its revision. */
const CHANNEL = 'orloj';

/** The shared store: PostgreSQL, for several replicas of orlojd. */
export class PostgresStore implements Store {
  readonly control: PgControlPlane;
  readonly data: PgDataPlane;
  readonly elector: PgElector;
  readonly shared: SharedSettings;
  private readonly writer: PgWriter;
  /** Publication, in revision order: this replica's commits and other replicas' notifications. */
  private chain: Promise<void> = Promise.resolve();
  private unlisten?: () => Promise<void>;
  private closing?: Promise<void>;

  private constructor(private readonly sql: Sql, opts: PostgresOptions) {
    const codec = new BodyCodec(opts.keys, opts.sealedKinds);
    this.control = new PgControlPlane(sql, codec);
    this.data = new PgDataPlane(sql);
    this.elector = new PgElector(opts.url, sql);
    this.shared = sharedSettings(sql);
    this.writer = new PgWriter(sql, { namespacedKinds: opts.namespacedKinds, codec }, (rev, changes, records) => this.published(rev, changes, records), () => this.data.watched);
  }

  /** Connects, migrates, opens every sealed body once (a wrong key fails here), then listens and elects. */
  static async open(opts: PostgresOptions): Promise<PostgresStore> {
    const sql = connect(opts.url);
    try {
      await reach(sql, opts.url);
      await migrate(sql);
      const store = new PostgresStore(sql, opts);
      await store.start();
      return store;
    } catch (e) {
      await sql.end({ timeout: 1 }).catch(() => undefined);
      throw e;
    }
  }

  private async start(): Promise<void> {
    await this.control.start();
    await this.control.checkKeys();
    await this.data.start();
    // On every (re)connect of the listener, catch up: notifications sent while it was away are lost.
    const listening = await this.sql.listen(CHANNEL, (rev) => void this.caughtUp(Number(rev)), () => void this.caughtUp());
    this.unlisten = listening.unlisten;
    this.elector.start();
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    // A failed read leaves `published` where it was: the next notification or commit reads it again.
    this.chain = next.catch(() => undefined);
    return this.chain;
  }

  private published(rev: number, changes: WatchEvent[], records: DeliveryRecord[]): Promise<void> {
    return this.serial(async () => {
      await this.control.publish(rev, changes);
      await this.data.publish(records);
    });
  }

  private caughtUp(rev?: number): Promise<void> {
    return this.serial(async () => {
      await this.control.caughtUpTo(rev);
      await this.data.catchUp();
    });
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

  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    await this.writer.close();
    await this.elector.close();
    await this.unlisten?.().catch(() => undefined);
    await this.chain;
    this.control.close();
    await this.sql.end({ timeout: 5 });
  }
}
