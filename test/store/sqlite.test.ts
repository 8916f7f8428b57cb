import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../pkg/store/factory.js';
import { loadKeys } from '../../pkg/store/keys.js';
import type { KeySet } from '../../pkg/store/sealing.js';
import type { Store } from '../../pkg/store/types.js';
import { runStoreConformance, type Driver } from './conformance.js';
import { runDocumentConformance } from './documents-conformance.js';
import { runJobConformance } from './jobs-conformance.js';
import { runNamesConformance } from './names-conformance.js';
import { runQueueConformance } from './queue-conformance.js';

/** The embedded driver in-process: a real database file and the real writer thread. */
let dir = '';
let keys: KeySet;
const sqlite: Driver = {
  async open(): Promise<Store> {
    dir = mkdtempSync(join(tmpdir(), 'orloj-store-'));
    keys = loadKeys(dir).keys;
    return openStore({ storage: 'sqlite', dataDir: dir, keys });
  },
  async reopen(old: Store, newKeys?: KeySet): Promise<Store> {
    await old.close();
    keys = newKeys ?? keys;
    return openStore({ storage: 'sqlite', dataDir: dir, keys });
  },
  async cleanup(): Promise<void> {
    rmSync(dir, { recursive: true, force: true });
  },
};

runStoreConformance('sqlite', sqlite);
runDocumentConformance('sqlite', sqlite);
runQueueConformance('sqlite', sqlite);
runJobConformance('sqlite', sqlite);
runNamesConformance('sqlite', sqlite);
