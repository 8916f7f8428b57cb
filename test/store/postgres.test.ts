import { randomBytes } from 'node:crypto';
import { openStore } from '../../pkg/store/factory.js';
import { KeySet } from '../../pkg/store/sealing.js';
import type { Store } from '../../pkg/store/types.js';
import { dropDatabase, freshDatabase } from '../helpers/postgres.js';
import { runStoreConformance, type Driver } from './conformance.js';
import { runDocumentConformance } from './documents-conformance.js';
import { runJobConformance } from './jobs-conformance.js';
import { runNamesConformance } from './names-conformance.js';
import { runQueueConformance } from './queue-conformance.js';

/** The shared driver in-process, on a new database of a real PostgreSQL server for each test. */
let url = '';
let keys: KeySet;
const postgres: Driver = {
  async open(): Promise<Store> {
    url = await freshDatabase('conformance');
    keys = new KeySet([{ id: 'test', key: randomBytes(32) }]);
    return openStore({ storage: 'postgres', dataDir: '', postgresUrl: url, keys });
  },
  async reopen(old: Store, newKeys?: KeySet): Promise<Store> {
    await old.close();
    keys = newKeys ?? keys;
    return openStore({ storage: 'postgres', dataDir: '', postgresUrl: url, keys });
  },
  async cleanup(): Promise<void> {
    await dropDatabase(url);
  },
};

runStoreConformance('postgres', postgres);
runDocumentConformance('postgres', postgres);
runQueueConformance('postgres', postgres);
runJobConformance('postgres', postgres);
runNamesConformance('postgres', postgres);
