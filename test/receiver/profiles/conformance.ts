// One conformance suite for every signature profile; each <name>.test.ts runs it and adds known-answer vectors.
import { expect } from 'chai';
import { resolveOptions } from '../../../pkg/receiver/profiles/index.js';
import type { DeliveryRequest, ProfileOptions, SignatureProfile } from '../../../pkg/receiver/profiles/types.js';

export interface Capabilities {
  /** A signature covers the body; false for shared-token profiles (gitlab, static-header). */
  signsBody: boolean;
  /** The delivery carries a timestamp checked against maxSkewSeconds. */
  replayGuard: boolean;
  /** For providers that send several signatures in one header: merge two signings' headers into one. */
  mergeSignatures?: (first: Record<string, string>, second: Record<string, string>) => Record<string, string>;
}

/** What the HTTP layer hands a profile: lower-cased header names. */
export function toRequest(headers: Record<string, string>, body: Buffer | string): DeliveryRequest {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return { headers: lower, body: Buffer.isBuffer(body) ? body : Buffer.from(body) };
}

export const NOW = Date.UTC(2026, 10, 23, 18, 0, 0);
const SECRET = 'conformance-secret-K9xw';
const OTHER = 'other-secret-Q7zv';
const EVENT_ID = 'evt_conformance_1';
// One body that satisfies every profile reading ids or types from JSON (stripe, slack, standard-webhooks).
const BODY = Buffer.from(JSON.stringify({ id: EVENT_ID, event_id: EVENT_ID, type: 'test.event', event: { type: 'test.event' } }));

export function runProfileConformance(profile: SignatureProfile, caps: Capabilities): void {
  const opts = resolveOptions(profile, {});
  const key = Buffer.from(SECRET);
  const other = Buffer.from(OTHER);
  const sigHeader = opts.signatureHeader.toLowerCase();

  const signed = (k: Buffer, atMs = NOW, o: ProfileOptions = opts): Record<string, string> => {
    const h = profile.sign(BODY, k, o, atMs, EVENT_ID);
    if (profile.defaults.eventTypeHeader) h[profile.defaults.eventTypeHeader] = 'test.event';
    return h;
  };
  const deliver = (k: Buffer, atMs = NOW): DeliveryRequest => toRequest(signed(k, atMs), BODY);
  const verify = (req: DeliveryRequest, keys: Buffer[], o: ProfileOptions = opts) => profile.verify(req, keys, o, NOW);
  const reasonOf = (req: DeliveryRequest, keys: Buffer[]): string => {
    const r = verify(req, keys);
    if (r.ok) throw new Error('expected rejection');
    expect(r.reason).to.be.a('string').that.is.not.empty;
    return r.reason;
  };
  const without = (req: DeliveryRequest, name: string): DeliveryRequest => {
    const headers = { ...req.headers };
    delete headers[name.toLowerCase()];
    return { headers, body: req.body };
  };

  // Every rejection the suite can provoke, so the secret check covers them all.
  const failures = (): Array<[string, DeliveryRequest, Buffer[]]> => {
    const list: Array<[string, DeliveryRequest, Buffer[]]> = [
      ['wrong secret', deliver(other), [key]],
      ['wrong secret (reverse)', deliver(key), [other]],
      ['missing signature header', without(deliver(key), sigHeader), [key]],
      ['garbage signature', toRequest({ ...signed(key), [sigHeader]: `${SECRET},${OTHER}` }, BODY), [key, other]],
      ['no keys', deliver(key), []],
    ];
    if (caps.signsBody) list.push(['tampered body', { ...deliver(key), body: Buffer.from(BODY.toString() + ' ') }, [key]]);
    if (caps.replayGuard) {
      list.push(['stale', deliver(key, NOW - (opts.maxSkewSeconds + 1) * 1000), [key]]);
      list.push(['future', deliver(key, NOW + (opts.maxSkewSeconds + 1) * 1000), [key]]);
    }
    return list;
  };

  describe(`${profile.name} profile conformance`, () => {
    it('accepts a valid delivery, naming the signature that matched when the profile signs', () => {
      const r = verify(deliver(key), [key]);
      expect(r.ok).to.equal(true);
      const named = r.ok ? r.signature : undefined;
      if (caps.signsBody) expect(named).to.be.instanceOf(Buffer).with.length(32);
      else expect(named).to.equal(undefined);
      // The same delivery again names the same bytes; one signed with another key, others.
      if (caps.signsBody) expect(verify(deliver(key), [key])).to.deep.equal(r);
      if (caps.signsBody) expect(verify(deliver(other), [other])).not.to.deep.equal(r);
    });

    if (caps.signsBody) {
      it('rejects a tampered body', () => {
        expect(reasonOf({ ...deliver(key), body: Buffer.from(BODY.toString().replace('test.event', 'test.evenT')) }, [key])).to.equal('signature mismatch');
      });
    } else {
      it('accepts a tampered body (shared token: nothing signs the body)', () => {
        expect(verify({ ...deliver(key), body: Buffer.from('tampered') }, [key]).ok).to.equal(true);
      });
    }

    it('rejects a wrong secret, garbage signatures and an empty key list', () => {
      reasonOf(deliver(other), [key]);
      reasonOf(toRequest({ ...signed(key), [sigHeader]: 'not a signature' }, BODY), [key]);
      reasonOf(deliver(key), []);
    });

    it('rejects a delivery without the signature header, naming the header', () => {
      expect(reasonOf(without(deliver(key), sigHeader), [key])).to.include(opts.signatureHeader);
    });

    if (caps.replayGuard) {
      it('accepts timestamps inside the skew window, both directions', () => {
        const edge = (opts.maxSkewSeconds - 1) * 1000;
        expect(verify(deliver(key, NOW - edge), [key]).ok).to.equal(true);
        expect(verify(deliver(key, NOW + edge), [key]).ok).to.equal(true);
      });
      it('rejects stale and future timestamps', () => {
        const beyond = (opts.maxSkewSeconds + 1) * 1000;
        const reason = `timestamp outside allowed skew of ${opts.maxSkewSeconds}s`;
        expect(reasonOf(deliver(key, NOW - beyond), [key])).to.equal(reason);
        expect(reasonOf(deliver(key, NOW + beyond), [key])).to.equal(reason);
      });
      if (opts.timestampHeader) {
        it('rejects a missing or unparseable timestamp header', () => {
          reasonOf(without(deliver(key), opts.timestampHeader), [key]);
          const bad = toRequest({ ...signed(key), [opts.timestampHeader]: 'yesterday' }, BODY);
          expect(reasonOf(bad, [key])).to.equal('invalid timestamp');
        });
      }
    } else {
      it('needs no timestamp: accepts a delivery signed 30 days ago (dedup is the replay guard)', () => {
        expect(verify(deliver(key, NOW - 30 * 86400_000), [key]).ok).to.equal(true);
      });
    }

    const merge = caps.mergeSignatures;
    if (merge) {
      it('accepts several signatures in one header when any one matches', () => {
        const bad = signed(other), good = signed(key);
        // The signature named is the one that matched, wherever it stands in the header.
        const alone = verify(toRequest(good, BODY), [key]);
        expect(verify(toRequest(merge(bad, good), BODY), [key])).to.deep.equal(alone);
        expect(verify(toRequest(merge(good, bad), BODY), [key])).to.deep.equal(alone);
        expect(verify(toRequest(merge(bad, bad), BODY), [key]).ok).to.equal(false);
      });
    }

    it('tries every key: rotation accepts old and new, dropping the old key rejects it', () => {
      expect(verify(deliver(other), [other, key]).ok).to.equal(true);
      expect(verify(deliver(key), [other, key]).ok).to.equal(true);
      expect(verify(deliver(other), [key]).ok).to.equal(false);
    });

    it('extracts the event id and type', () => {
      const req = deliver(key);
      expect(profile.eventId(req, opts)).to.equal(EVENT_ID);
      expect(profile.eventType(req, opts)).to.equal('test.event');
    });

    it('honours an event id header override', () => {
      const o = resolveOptions(profile, { eventIdHeader: 'X-Override-Id' });
      const req = toRequest({ ...signed(key, NOW, o), 'X-Override-Id': 'ovr-1' }, BODY);
      expect(verify(req, [key], o).ok).to.equal(true);
      expect(profile.eventId(req, o)).to.equal('ovr-1');
    });

    it('never puts a secret in a failure reason', () => {
      const secrets = [SECRET, OTHER, key.toString('hex'), key.toString('base64'), other.toString('hex')];
      for (const [name, req, keys] of failures()) {
        const reason = reasonOf(req, keys);
        for (const s of secrets) expect(reason, name).to.not.include(s);
      }
    });
  });
}
