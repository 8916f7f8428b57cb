import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { newSigningSecret, signingHeaders, signingKeyOf } from '../../pkg/trigger/signing.js';

describe('trigger signing', () => {
  const body = Buffer.from(JSON.stringify({ type: 'incident.create', data: { id: 'inc-1', note: 'naïve ☃ 𝄞' } }));
  const message = (extra: Partial<Parameters<typeof signingHeaders>[1]> = {}) => ({
    id: 'msg_2f1c9a', timestampSec: Math.floor(Date.now() / 1000), body, eventType: 'incident.create', ...extra,
  });
  // The documented formula, computed here without the code under test.
  const orlojSignature = (key: Buffer, ts: number, b: Buffer) => `sha256=${createHmac('sha256', key).update(`${ts}.`).update(b).digest('hex')}`;

  it('signs so the standardwebhooks library verifies, and names the event', () => {
    const secret = newSigningSecret();
    const msg = message();
    const headers = signingHeaders([signingKeyOf(secret)], msg);
    expect(new Webhook(secret).verify(body, headers)).to.deep.equal(JSON.parse(body.toString()));
    expect(headers).to.include({
      'X-Orloj-Timestamp': String(msg.timestampSec),
      'X-Orloj-Event': 'incident.create',
      'webhook-id': msg.id,
      'webhook-timestamp': String(msg.timestampSec),
    });
    expect(Object.keys(headers).sort()).to.deep.equal(
      ['X-Orloj-Event', 'X-Orloj-Signature', 'X-Orloj-Timestamp', 'webhook-id', 'webhook-signature', 'webhook-timestamp'].sort());
  });

  it('signs X-Orloj-Signature as sha256=<hex HMAC(timestamp + "." + body)>', () => {
    const key = signingKeyOf(newSigningSecret());
    const msg = message();
    expect(signingHeaders([key], msg)['X-Orloj-Signature']).to.equal(orlojSignature(key, msg.timestampSec, body));
  });

  it('signs with every key, so each key alone verifies', () => {
    const secrets = [newSigningSecret(), newSigningSecret()];
    const keys = secrets.map(signingKeyOf);
    const msg = message();
    const headers = signingHeaders(keys, msg);
    for (const s of secrets) expect(() => new Webhook(s).verify(body, headers), s).not.to.throw();
    expect(headers['webhook-signature']!.split(' ')).to.have.length(2);
    expect(headers['X-Orloj-Signature']).to.equal(keys.map((k) => orlojSignature(k, msg.timestampSec, body)).join(','));
    expect(() => new Webhook(newSigningSecret()).verify(body, headers)).to.throw(WebhookVerificationError, 'No matching signature found');
  });

  it('fails verification for a tampered body, id or timestamp', () => {
    const secret = newSigningSecret();
    const msg = message();
    const headers = signingHeaders([signingKeyOf(secret)], msg);
    const wh = new Webhook(secret);
    const tampered = Buffer.from(body.toString().replace('inc-1', 'inc-2'));
    expect(() => wh.verify(tampered, headers)).to.throw(WebhookVerificationError, 'No matching signature found');
    expect(() => wh.verify(body, { ...headers, 'webhook-id': 'msg_other' })).to.throw(WebhookVerificationError);
    expect(() => wh.verify(body, { ...headers, 'webhook-timestamp': String(msg.timestampSec - 1) })).to.throw(WebhookVerificationError);
    expect(headers['X-Orloj-Signature']).not.to.equal(orlojSignature(signingKeyOf(secret), msg.timestampSec, tampered));
  });

  it('matches the standardwebhooks reference vector', () => {
    // From the library's own tests: a fixed secret, id, time and payload.
    const headers = signingHeaders([signingKeyOf('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')], {
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestampSec: 1614265330, body: Buffer.from('{"test": 2432232314}'), eventType: 'test',
    });
    expect(headers['webhook-signature']).to.equal('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('takes a whsec_ value as the key it encodes, and any other value as its UTF-8 bytes', () => {
    expect(signingKeyOf('whsec_AP8A')).to.deep.equal(Buffer.from([0, 255, 0]));
    expect(signingKeyOf('plain-secret')).to.deep.equal(Buffer.from('plain-secret'));
    expect(signingKeyOf('sécret')).to.deep.equal(Buffer.from('sécret', 'utf8'));
    // Not base64 after the prefix, or nothing after it: the value is its own bytes.
    expect(signingKeyOf('whsec_not base64!')).to.deep.equal(Buffer.from('whsec_not base64!'));
    expect(signingKeyOf('whsec_')).to.deep.equal(Buffer.from('whsec_'));
    // A receiver holding such a value verifies with the raw-key form of the library.
    const msg = message();
    const headers = signingHeaders([signingKeyOf('plain-secret')], msg);
    expect(() => new Webhook(Buffer.from('plain-secret'), { format: 'raw' }).verify(body, headers)).not.to.throw();
  });

  it('generates whsec_ secrets of 32 random bytes', () => {
    const a = newSigningSecret();
    expect(a).to.match(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(signingKeyOf(a)).to.have.length(32);
    expect(newSigningSecret()).not.to.equal(a);
  });

  it('refuses to sign without a key, with an empty key, or with a header that would break', () => {
    const key = signingKeyOf(newSigningSecret());
    expect(() => signingHeaders([], message())).to.throw('no key to sign with');
    expect(() => signingHeaders([key, Buffer.alloc(0)], message())).to.throw('empty signing key');
    expect(() => signingHeaders([key], message({ timestampSec: 1.5 }))).to.throw('timestampSec');
    expect(() => signingHeaders([key], message({ eventType: 'a\r\nX-Injected: 1' }))).to.throw(TypeError, 'X-Orloj-Event');
    expect(() => signingHeaders([key], message({ id: 'msg\n1' }))).to.throw(TypeError, 'webhook-id');
  });
});
