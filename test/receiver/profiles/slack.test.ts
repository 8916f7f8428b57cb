import { expect } from 'chai';
import { resolveOptions } from '../../../pkg/receiver/profiles/index.js';
import { slack } from '../../../pkg/receiver/profiles/slack.js';
import { runProfileConformance, toRequest } from './conformance.js';

runProfileConformance(slack, { signsBody: true, replayGuard: true });

describe('slack profile', () => {
  const opts = resolveOptions(slack, {});
  // https://api.slack.com/authentication/verifying-requests-from-slack
  const key = Buffer.from('8f742231b10e8888abcd99yyyzzz85a5');
  const ts = '1531420618';
  const body =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const expected = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
  const nowMs = Number(ts) * 1000 + 5000;
  const req = toRequest({ 'X-Slack-Signature': expected, 'X-Slack-Request-Timestamp': ts }, body);

  it('matches the Slack docs test vector', () => {
    expect(slack.sign(Buffer.from(body), key, opts, Number(ts) * 1000, 'ignored')['X-Slack-Signature']).to.equal(expected);
    expect(slack.verify(req, [key], opts, nowMs)).to.include({ ok: true });
  });

  it('derives an event id from timestamp and body for non-JSON bodies', () => {
    // printf '%s:%s' "$TS" "$BODY" | sha256sum
    expect(slack.eventId(req, opts)).to.equal('157c87d64110ed146a93abb8a14c4994968e5c8348af47636b3465fe4fc205aa');
    expect(slack.eventType(req, opts)).to.equal(undefined);
  });

  it('uses event_id and event.type (or type) from JSON bodies', () => {
    const json = toRequest({ 'X-Slack-Request-Timestamp': ts }, JSON.stringify({ type: 'event_callback', event_id: 'Ev1', event: { type: 'app_mention' } }));
    expect(slack.eventId(json, opts)).to.equal('Ev1');
    expect(slack.eventType(json, opts)).to.equal('app_mention');
    const challenge = toRequest({}, JSON.stringify({ type: 'url_verification', challenge: 'c' }));
    expect(slack.eventType(challenge, opts)).to.equal('url_verification');
  });
});
