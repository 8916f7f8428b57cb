import { expect } from 'chai';
import { DestinationGuard } from '../../pkg/outbound/guard.js';

describe('outbound destination guard', () => {
  const guard = new DestinationGuard([]);

  // Each refused range by its edges and a middle, so a range cut short or missing shows.
  const refused: Record<string, string[]> = {
    loopback: ['127.0.0.1', '127.0.0.0', '127.255.255.255', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1'],
    private: ['10.0.0.0', '10.255.255.255', '172.16.0.0', '172.20.1.1', '172.31.255.255', '192.168.0.0', '192.168.255.255'],
    'carrier-grade NAT': ['100.64.0.0', '100.100.100.100', '100.127.255.255'],
    'link-local': ['169.254.0.0', '169.254.169.254', '169.254.255.255', 'fe80::', 'fe80::1', 'febf:ffff::1', 'fe80::1%eth0'],
    'unique-local': ['fc00::', 'fc00::1', 'fd12:3456::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    'site-local': ['fec0::', 'fec0::1', 'feff:ffff::1'],
    unspecified: ['0.0.0.0', '0.1.2.3', '0.255.255.255', '::', '0:0:0:0:0:0:0:0'],
    'IPv4-compatible': ['::7f00:1', '::10.0.0.1', '::8.8.8.8', '::ffff:ffff'],
    'multicast or reserved': ['224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', 'ff02::1'],
  };

  for (const [range, addresses] of Object.entries(refused)) {
    it(`refuses ${range} addresses, naming the range`, () => {
      for (const a of addresses) {
        expect(guard.refuses(a), a).to.equal(true);
        expect(guard.problem(a), a).to.include(a).and.include(`${range} address`);
      }
    });
  }

  it('refuses IPv4 carried in IPv6 (mapped, NAT64) as the IPv4 address it carries', () => {
    const carried = ['::ffff:127.0.0.1', '::ffff:7f00:1', '::FFFF:7F00:0001', '0:0:0:0:0:ffff:127.0.0.1', '0:0:0:0:0:ffff:7f00::',
      '::ffff:10.1.2.3', '::ffff:a01:203', '::ffff:169.254.169.254', '::ffff:0.0.0.0', '::ffff:0:0', '::ffff:100.64.0.1',
      '::ffff:192.168.1.1', '::ffff:127.0.0.1%eth0', '64:ff9b::127.0.0.1', '64:ff9b::a00:1', '64:ff9b::'];
    for (const a of carried) expect(guard.refuses(a), a).to.equal(true);
    expect(guard.problem('::ffff:7f00:1')).to.equal(
      '::ffff:7f00:1 (127.0.0.1) is a loopback address, which outbound requests may not reach unless --allow-destinations includes it');
    expect(guard.problem('0:0:0:0:0:ffff:7f00::')).to.include('(127.0.0.0) is a loopback');
    // A zone picks an interface; the address is judged without it.
    expect(guard.problem('fe80::1%eth0')).to.include('fe80::1%eth0 (fe80::1) is a link-local address');
    for (const a of ['::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::8.8.8.8', '64:ff9b::101:101']) expect(guard.refuses(a), a).to.equal(false);
  });

  it('lets public addresses through, right up to the edges of refused ranges', () => {
    const open = ['8.8.8.8', '1.1.1.1', '1.0.0.0', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255',
      '128.0.0.0', '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.167.255.255', '192.169.0.0',
      '223.255.255.255', '2606:4700:4700::1111', '2001:4860:4860::8888', '::1:0:0:0', 'fbff:ffff::1', 'fe7f::1', '2001:db8::1'];
    for (const a of open) expect(guard.refuses(a), a).to.equal(false);
    expect(guard.problem('8.8.8.8')).to.equal(undefined);
  });

  it('refuses what is not an IP address', () => {
    for (const a of ['', 'localhost', 'example.com', '127.0.0.1.', '[::1]', '127.1', '2130706433', '::1/128']) {
      expect(guard.refuses(a), a).to.equal(true);
      expect(guard.problem(a), a).to.include('is not an IP address');
    }
  });

  it('gives the same verdicts when asked again, past as many addresses as it remembers', () => {
    const g = new DestinationGuard(['10.0.0.0/8']);
    const first = ['10.1.1.1', '127.0.0.1', '8.8.8.8', 'localhost'].map((a) => g.problem(a));
    for (let i = 0; i < 2500; i++) expect(g.refuses(`10.${i >> 8}.${i & 255}.1`)).to.equal(false);
    expect(['10.1.1.1', '127.0.0.1', '8.8.8.8', 'localhost'].map((a) => g.problem(a))).to.deep.equal(first);
    expect(first[0]).to.equal(undefined);
    expect(first[1]).to.include('loopback');
    expect(first[3]).to.include('is not an IP address');
  });

  it('lets an allowed range through and nothing beside it', () => {
    const g = new DestinationGuard(['127.0.0.0/8']);
    for (const a of ['127.0.0.1', '127.255.255.254', '::ffff:127.0.0.1', '::ffff:7f00:1']) expect(g.refuses(a), a).to.equal(false);
    for (const a of ['::1', '10.0.0.1', '0.0.0.0', '169.254.169.254']) expect(g.refuses(a), a).to.equal(true);

    const narrow = new DestinationGuard(['10.1.2.0/24', '::1/128', 'fd00:1::/32']);
    expect(narrow.refuses('10.1.2.200')).to.equal(false);
    expect(narrow.refuses('10.1.3.1')).to.equal(true);
    expect(narrow.refuses('::1')).to.equal(false);
    expect(narrow.refuses('127.0.0.1')).to.equal(true);
    expect(narrow.refuses('fd00:1:ffff::1')).to.equal(false);
    expect(narrow.refuses('fd00:2::1')).to.equal(true);
  });

  it('never lets an IPv6 range admit IPv4, except one written in the mapped form', () => {
    // node's BlockList alone would match 127.0.0.1 against ::/0.
    const all6 = new DestinationGuard(['::/0']);
    expect(all6.refuses('::1')).to.equal(false);
    expect(all6.refuses('127.0.0.1')).to.equal(true);
    expect(all6.refuses('::ffff:127.0.0.1')).to.equal(true);
    const mapped = new DestinationGuard(['::ffff:127.0.0.0/104']);
    expect(mapped.refuses('127.0.0.1')).to.equal(false);
    expect(mapped.refuses('::ffff:127.0.0.1')).to.equal(false);
    expect(mapped.refuses('10.0.0.1')).to.equal(true);
  });

  it('refuses a hostname when any of its addresses is refused', () => {
    expect(guard.firstRefused(['8.8.8.8', '10.0.0.1', '127.0.0.1'])).to.equal('10.0.0.1');
    expect(guard.firstRefused(['8.8.8.8', '2606:4700:4700::1111'])).to.equal(undefined);
    expect(guard.firstRefused([])).to.equal(undefined);
  });

  it('parses --allow-destinations and names a bad entry', () => {
    expect(DestinationGuard.parse('127.0.0.0/8,::1/128')).to.deep.equal(['127.0.0.0/8', '::1/128']);
    expect(DestinationGuard.parse(' 10.0.0.0/8 , fd00::/8 ,')).to.deep.equal(['10.0.0.0/8', 'fd00::/8']);
    expect(DestinationGuard.parse('')).to.deep.equal([]);
    for (const bad of ['127.0.0.1', '127.0.0.0/33', '::/129', 'localhost/8', '10.0.0/8', '10.0.0.0/-1', '10.0.0.0/8/8', 'fe80::%eth0/64', '10.0.0.0/ 8']) {
      expect(() => DestinationGuard.parse(`::1/128,${bad}`), bad).to.throw(Error, `invalid CIDR ${JSON.stringify(bad)}: expected ADDRESS/PREFIX`);
      expect(() => new DestinationGuard([bad]), bad).to.throw(Error, 'invalid CIDR');
    }
  });

  it('reports an IP-literal URL it refuses, and leaves hostnames to send time', () => {
    expect(guard.literalProblem('http://127.0.0.1:8080/hook')).to.include('127.0.0.1 is a loopback address');
    expect(guard.literalProblem('https://[::1]/')).to.include('::1 is a loopback address');
    expect(guard.literalProblem('http://[::ffff:127.0.0.1]/')).to.include('(127.0.0.1) is a loopback address');
    // The URL parser reads these as 127.0.0.1 too, and so would a connection.
    expect(guard.literalProblem('http://2130706433/')).to.include('127.0.0.1 is a loopback');
    expect(guard.literalProblem('http://0x7f.1/')).to.include('127.0.0.1 is a loopback');
    expect(guard.literalProblem('http://0/')).to.include('0.0.0.0 is an unspecified address');
    expect(guard.literalProblem('http://169.254.169.254/latest/meta-data')).to.include('link-local');
    expect(guard.literalProblem('http://8.8.8.8/')).to.equal(undefined);
    expect(guard.literalProblem('https://hooks.example.com/x')).to.equal(undefined);
    expect(guard.literalProblem('http://localhost/')).to.equal(undefined);
    expect(guard.literalProblem('not a url')).to.equal(undefined);
    expect(new DestinationGuard(['127.0.0.0/8']).literalProblem('http://127.0.0.1/')).to.equal(undefined);
  });
});
