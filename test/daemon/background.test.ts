import { expect } from 'chai';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { every } from '../../pkg/daemon/background.js';
import { eventually } from '../helpers/orlojd.js';

describe('daemon background jobs', () => {
  it('log a failing job and keep running it', async () => {
    const lines: string[] = [];
    const log = pino(new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    let runs = 0;
    const t = every(5, async () => {
      runs++;
      throw new Error('disk on fire');
    }, log, 'pruning');
    try {
      await eventually(async () => runs >= 3);
    } finally {
      clearInterval(t);
    }
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; err?: { message: string } });
    expect(logged.length).to.be.at.least(2);
    expect(logged[0]).to.deep.include({ msg: 'pruning failed' });
    expect(logged[0]!.err?.message).to.equal('disk on fire');
  });
});
