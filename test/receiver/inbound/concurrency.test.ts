import { expect } from 'chai';
import { Orlojd } from '../../helpers/orlojd.js';
import { put, secret } from '../../helpers/fixtures.js';
import { send } from '../../helpers/deliveries.js';
import { collection, document, documents, readyInbound } from './helpers.js';

describe('InboundWebhook under concurrent copies of one event', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  it('50 concurrent copies of one event: one document at version 1, one answer duplicate: false', async () => {
    await collection(d, 'orders');
    await put(d, secret('shop', { key: 'shop-secret' }));
    const st = await readyInbound(d, 'shop', { collection: 'orders', secret_ref: 'shop' });
    const body = JSON.stringify({ id: 'order-1', total: 42 });
    // Each copy signed on its own (as a sender's retries are), with the same event id.
    const answers = await Promise.all(Array.from({ length: 50 }, () => send(d, st.endpointPath, { secret: 'shop-secret', body, eventId: 'evt-order-1' })));
    expect(answers.map((a) => a.status)).to.deep.equal(Array(50).fill(202));
    expect(answers.filter((a) => a.body.duplicate === false)).to.have.length(1);
    expect(new Set(answers.map((a) => a.body.itemId))).to.deep.equal(new Set(['order-1']));
    expect((await document(d, 'orders', 'order-1')).body.meta.version).to.equal(1);
    expect((await documents(d, 'orders')).map((x) => x.id)).to.deep.equal(['order-1']);
  });
});
