import { expect } from 'chai';
import { decodeBase64, decodeHex, hmacSha256, parseTimestamp, safeEqual, withinSkew } from '../../pkg/receiver/crypto.js';

describe('receiver crypto', () => {
  const ms = Date.UTC(2026, 10, 23, 18, 0, 0);

  it('parses unix seconds, unix milliseconds and RFC 3339', () => {
    expect(parseTimestamp('1700000000')).to.equal(1700000000_000);
    expect(parseTimestamp('1700000000123')).to.equal(1700000000123);
    expect(parseTimestamp('2026-11-23T18:00:00Z')).to.equal(ms);
    expect(parseTimestamp('2026-11-23t18:00:00z')).to.equal(ms);
    expect(parseTimestamp('2026-11-23T20:00:00+02:00')).to.equal(ms);
    expect(parseTimestamp('2026-11-23T12:30:00-05:30')).to.equal(ms);
    expect(parseTimestamp('2026-11-23T18:00:00.5Z')).to.equal(ms + 500);
    expect(parseTimestamp('2026-11-23T18:00:00.123456789Z')).to.equal(ms + 123);
  });

  it('rejects garbage timestamps', () => {
    for (const bad of ['', ' ', 'abc', '-1700000000', '1700000000.5', '17000000001234', '0x10', '1e9', '2026-11-23', '2026-11-23T18:00:00',
      '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-23T24:00:00Z', '2026-11-23T18:00:00+25:00', ' 1700000000']) {
      expect(parseTimestamp(bad), JSON.stringify(bad)).to.equal(undefined);
    }
  });

  it('checks skew in both directions, inclusive at the edge', () => {
    expect(withinSkew(ms - 300_000, ms, 300)).to.equal(true);
    expect(withinSkew(ms + 300_000, ms, 300)).to.equal(true);
    expect(withinSkew(ms - 300_001, ms, 300)).to.equal(false);
    expect(withinSkew(ms + 300_001, ms, 300)).to.equal(false);
    expect(withinSkew(NaN, ms, 300)).to.equal(false);
  });

  it('compares in constant time and returns false on length mismatch', () => {
    expect(safeEqual('abc', 'abc')).to.equal(true);
    expect(safeEqual(Buffer.from('abc'), 'abc')).to.equal(true);
    expect(safeEqual('abc', 'abd')).to.equal(false);
    expect(safeEqual('abc', 'abcd')).to.equal(false);
    expect(safeEqual('', 'a')).to.equal(false);
    expect(safeEqual('', '')).to.equal(true);
  });

  it('decodes hex and base64 strictly', () => {
    expect(decodeHex('00ff')).to.deep.equal(Buffer.from([0, 255]));
    expect(decodeHex('0g')).to.equal(undefined);
    expect(decodeHex('abc')).to.equal(undefined);
    expect(decodeBase64('AP8=')).to.deep.equal(Buffer.from([0, 255]));
    expect(decodeBase64('not base64!')).to.equal(undefined);
  });

  it('computes HMAC-SHA256 over concatenated parts', () => {
    const k = Buffer.from('k');
    expect(hmacSha256(k, 'a', '.', Buffer.from('b'))).to.deep.equal(hmacSha256(k, 'a.b'));
  });
});
