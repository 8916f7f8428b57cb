import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../pkg/store/factory.js';
import { loadKeys } from '../../pkg/store/keys.js';
import { Orlojd } from '../helpers/orlojd.js';

describe('store: one orlojd per data dir', function () {
  let a: Orlojd;
  before(async () => {
    a = await Orlojd.start();
  });
  after(async () => a.destroy());

  it('refuses a second orlojd on a data dir in use, and takes over the lock of one killed with -9', async () => {
    const second = await Orlojd.start({ dataDir: a.dataDir }).then(
      (d) => d,
      (e: Error) => e,
    );
    if (!(second instanceof Error)) {
      await second.destroy();
      throw new Error('a second orlojd started on the same data dir');
    }
    expect(second.message).to.match(/exited with 1/);
    expect(second.message).to.include(`the data dir ${a.dataDir} is in use by another orlojd (pid ${a.proc.pid})`);
    await a.kill9();
    await a.restart();
    expect((await a.api('GET', '/v1/tasks')).status).to.equal(200);
  });
});

describe('store: closing', function () {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orloj-close-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('releases the data dir even when closed right after opening, and may be closed again', async () => {
    const store = await openStore({ storage: 'sqlite', dataDir: dir, keys: loadKeys(dir).keys });
    await store.close();
    expect(existsSync(join(dir, 'orlojd.lock'))).to.equal(false);
    await store.close();
  });
});
