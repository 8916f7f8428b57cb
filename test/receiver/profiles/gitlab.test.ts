import { expect } from 'chai';
import { gitlab } from '../../../pkg/receiver/profiles/gitlab.js';
import { resolveOptions } from '../../../pkg/receiver/profiles/index.js';
import { runProfileConformance, toRequest } from './conformance.js';

runProfileConformance(gitlab, { signsBody: false, replayGuard: false });

describe('gitlab profile', () => {
  const opts = resolveOptions(gitlab, {});
  const key = Buffer.from('gl-token');

  it('compares the token and reads the event headers', () => {
    const req = toRequest({ 'X-Gitlab-Token': 'gl-token', 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': 'u-1' }, '{}');
    expect(gitlab.verify(req, [key], opts, 0)).to.deep.equal({ ok: true });
    expect(gitlab.eventId(req, opts)).to.equal('u-1');
    expect(gitlab.eventType(req, opts)).to.equal('Push Hook');
    expect(gitlab.verify(toRequest({ 'X-Gitlab-Token': 'gl-token ' }, '{}'), [key], opts, 0).ok).to.equal(false);
  });

  it('falls back to Idempotency-Key for the event id', () => {
    expect(gitlab.eventId(toRequest({ 'Idempotency-Key': 'k-1' }, '{}'), opts)).to.equal('k-1');
    expect(gitlab.eventId(toRequest({}, '{}'), opts)).to.equal(undefined);
  });
});
