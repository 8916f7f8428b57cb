import { expect } from 'chai';
import Stripe from 'stripe';
import { resolveOptions } from '../../../pkg/receiver/profiles/index.js';
import { stripe } from '../../../pkg/receiver/profiles/stripe.js';
import { NOW, runProfileConformance, toRequest } from './conformance.js';

runProfileConformance(stripe, {
  signsBody: true,
  replayGuard: true,
  // Stripe sends one t= and one v1= per active secret.
  mergeSignatures: (a, b) => ({ 'Stripe-Signature': `${a['Stripe-Signature']},${b['Stripe-Signature'].replace(/^t=\d+,/, '')}` }),
});

// Headers come from the Stripe SDK itself (stripe-node's test helper), never from our signer.
const sdkHeader = (o: { payload: string; secret: string; timestamp: number; scheme?: string }): string =>
  Stripe.webhooks.generateTestHeaderString(o);

describe('stripe profile', () => {
  const opts = resolveOptions(stripe, {});
  const secret = 'whsec_test_secret';
  const payload = JSON.stringify({ id: 'evt_test_webhook', object: 'event', type: 'payment_intent.succeeded' }, null, 2);
  const timestamp = Math.floor(NOW / 1000);

  it('accepts a header made by the Stripe SDK', () => {
    const req = toRequest({ 'Stripe-Signature': sdkHeader({ payload, secret, timestamp }) }, payload);
    expect(stripe.verify(req, [Buffer.from(secret)], opts, NOW)).to.include({ ok: true });
    expect(stripe.eventId(req, opts)).to.equal('evt_test_webhook');
    expect(stripe.eventType(req, opts)).to.equal('payment_intent.succeeded');
  });

  it('rejects an SDK header for another secret, another body or a stale timestamp', () => {
    const other = toRequest({ 'Stripe-Signature': sdkHeader({ payload, secret: 'whsec_other', timestamp }) }, payload);
    expect(stripe.verify(other, [Buffer.from(secret)], opts, NOW)).to.deep.equal({ ok: false, reason: 'signature mismatch' });
    const tampered = toRequest({ 'Stripe-Signature': sdkHeader({ payload, secret, timestamp }) }, payload.replace('succeeded', 'failed'));
    expect(stripe.verify(tampered, [Buffer.from(secret)], opts, NOW)).to.deep.equal({ ok: false, reason: 'signature mismatch' });
    const stale = toRequest({ 'Stripe-Signature': sdkHeader({ payload, secret, timestamp: timestamp - 301 }) }, payload);
    expect(stripe.verify(stale, [Buffer.from(secret)], opts, NOW)).to.deep.equal({ ok: false, reason: 'timestamp outside allowed skew of 300s' });
  });

  it('accepts SDK headers over arbitrary UTF-8 payloads and secrets', () => {
    const payloads = ['', '{}', JSON.stringify({ id: 'evt_ü', note: 'naïve ☃ 𝄞' }), 'x'.repeat(70_000)];
    const secrets = ['whsec_A', 'whsec_ünïcødé', 'no-prefix-secret'];
    for (const p of payloads) {
      for (const s of secrets) {
        const req = toRequest({ 'Stripe-Signature': sdkHeader({ payload: p, secret: s, timestamp }) }, p);
        expect(stripe.verify(req, [Buffer.from(s)], opts, NOW), `${s} / ${p.slice(0, 20)}`).to.include({ ok: true });
      }
    }
  });

  it('accepts a header with a v0 entry and two v1 entries, ignoring v0', () => {
    const good = sdkHeader({ payload, secret, timestamp }).split(',')[1];
    const v0 = sdkHeader({ payload, secret, timestamp, scheme: 'v0' }).split(',')[1];
    expect(v0).to.match(/^v0=/);
    const bad = `v1=${'ab'.repeat(32)}`;
    const req = toRequest({ 'Stripe-Signature': `t=${timestamp},${v0},${bad},${good},v9=zz` }, payload);
    expect(stripe.verify(req, [Buffer.from(secret)], opts, NOW).ok).to.equal(true);
    // A v0 signature alone is never enough.
    const onlyV0 = toRequest({ 'Stripe-Signature': `t=${timestamp},${v0}` }, payload);
    expect(stripe.verify(onlyV0, [Buffer.from(secret)], opts, NOW).ok).to.equal(false);
  });

  it('signs (for orlojctl webhook send) what the Stripe SDK verifies', () => {
    const header = stripe.sign(Buffer.from(payload), Buffer.from(secret), opts, NOW, 'ignored')['Stripe-Signature']!;
    expect(Stripe.webhooks.signature!.verifyHeader(payload, header, secret, 300, undefined, NOW)).to.equal(true);
    const event = Stripe.webhooks.constructEvent(payload, header, secret, 300, undefined, NOW);
    expect(event.id).to.equal('evt_test_webhook');
    expect(() => Stripe.webhooks.signature!.verifyHeader(payload, header, 'whsec_other', 300, undefined, NOW)).to.throw();
  });

  it('takes the event id from the body unless the override header is present', () => {
    const o = resolveOptions(stripe, { eventIdHeader: 'X-Request-Id' });
    expect(stripe.eventId(toRequest({}, payload), o)).to.equal('evt_test_webhook');
    expect(stripe.eventId(toRequest({ 'X-Request-Id': 'r-1' }, payload), o)).to.equal('r-1');
    expect(stripe.eventId(toRequest({}, 'not json'), opts)).to.equal(undefined);
  });
});
