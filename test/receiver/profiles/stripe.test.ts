import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { resolveOptions } from '../../../pkg/receiver/profiles/index.js';
import { stripe } from '../../../pkg/receiver/profiles/stripe.js';
import { NOW, runProfileConformance, toRequest } from './conformance.js';

runProfileConformance(stripe, {
  signsBody: true,
  replayGuard: true,
  // Stripe sends one t= and one v1= per active secret.
  mergeSignatures: (a, b) => ({ 'Stripe-Signature': `${a['Stripe-Signature']},${b['Stripe-Signature'].replace(/^t=\d+,/, '')}` }),
});

// Mirrors stripe-node's webhooks.generateTestHeaderString (scheme v1, HMAC-SHA256 of `${t}.${payload}`).
function generateTestHeaderString(o: { payload: string; secret: string; timestamp: number; scheme?: string }): string {
  const sig = createHmac('sha256', o.secret).update(`${o.timestamp}.${o.payload}`, 'utf8').digest('hex');
  return `t=${o.timestamp},${o.scheme ?? 'v1'}=${sig}`;
}

describe('stripe profile', () => {
  const opts = resolveOptions(stripe, {});
  const secret = 'whsec_test_secret';
  const payload = JSON.stringify({ id: 'evt_test_webhook', object: 'event', type: 'payment_intent.succeeded' }, null, 2);
  const timestamp = Math.floor(NOW / 1000);

  it('accepts a header built like the Stripe SDK test helper', () => {
    const req = toRequest({ 'Stripe-Signature': generateTestHeaderString({ payload, secret, timestamp }) }, payload);
    expect(stripe.verify(req, [Buffer.from(secret)], opts, NOW)).to.deep.equal({ ok: true });
    expect(stripe.eventId(req, opts)).to.equal('evt_test_webhook');
    expect(stripe.eventType(req, opts)).to.equal('payment_intent.succeeded');
  });

  it('accepts a header with a v0 entry and two v1 entries, ignoring v0', () => {
    const good = generateTestHeaderString({ payload, secret, timestamp }).split(',')[1];
    const v0 = generateTestHeaderString({ payload, secret, timestamp, scheme: 'v0' }).split(',')[1];
    const bad = `v1=${'ab'.repeat(32)}`;
    const req = toRequest({ 'Stripe-Signature': `t=${timestamp},${v0},${bad},${good},v9=zz` }, payload);
    expect(stripe.verify(req, [Buffer.from(secret)], opts, NOW).ok).to.equal(true);
    // A v0 signature alone is never enough.
    const onlyV0 = toRequest({ 'Stripe-Signature': `t=${timestamp},${v0}` }, payload);
    expect(stripe.verify(onlyV0, [Buffer.from(secret)], opts, NOW).ok).to.equal(false);
  });

  it('takes the event id from the body unless the override header is present', () => {
    const o = resolveOptions(stripe, { eventIdHeader: 'X-Request-Id' });
    expect(stripe.eventId(toRequest({}, payload), o)).to.equal('evt_test_webhook');
    expect(stripe.eventId(toRequest({ 'X-Request-Id': 'r-1' }, payload), o)).to.equal('r-1');
    expect(stripe.eventId(toRequest({}, 'not json'), opts)).to.equal(undefined);
  });
});
