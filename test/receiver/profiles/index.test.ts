import { expect } from 'chai';
import { getProfile, profileNames, profiles, resolveOptions } from '../../../pkg/receiver/profiles/index.js';

describe('profile registry', () => {
  it('registers every profile under its own name', () => {
    expect([...profileNames].sort()).to.deep.equal(['generic', 'github', 'gitlab', 'slack', 'standard-webhooks', 'static-header', 'stripe']);
    for (const [name, p] of profiles) expect(p.name).to.equal(name);
    expect(getProfile('nope')).to.equal(undefined);
  });

  it('resolves overrides, treating undefined and empty strings as the default', () => {
    const github = getProfile('github')!;
    expect(resolveOptions(github, {})).to.deep.equal({
      signatureHeader: 'X-Hub-Signature-256', signaturePrefix: 'sha256=', timestampHeader: '', eventIdHeader: 'X-GitHub-Delivery', maxSkewSeconds: 300,
    });
    const o = resolveOptions(getProfile('generic')!, { signatureHeader: '', signaturePrefix: undefined, eventIdHeader: 'X-Id', maxSkewSeconds: 60 });
    expect(o).to.deep.equal({ signatureHeader: 'X-Signature', signaturePrefix: 'sha256=', timestampHeader: 'X-Timestamp', eventIdHeader: 'X-Id', maxSkewSeconds: 60 });
  });

  it('defaults dedup to 72 h for github and 24 h elsewhere', () => {
    for (const [name, p] of profiles) expect(p.defaults.dedupeWindowSeconds, name).to.equal(name === 'github' ? 259200 : 86400);
  });
});
