import { expect } from 'chai';
import { send, type Answer, type RawRequest } from '../fuzz/http.js';
import { Orlojd } from '../helpers/orlojd.js';

/** What Node's HTTP layer refuses before any handler runs is answered in the Status shape too. */
describe('API server: requests the HTTP parser refuses', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  const get = (extra: Partial<RawRequest>): RawRequest => ({ method: 'GET', path: '/v1/tasks', headers: [['Authorization', `Bearer ${d.token}`]], ...extra });
  function expectStatus(a: Answer, code: number, reason: string): void {
    if ('error' in a) throw new Error(a.error);
    expect(a.status).to.equal(code);
    expect(a.headers['content-type']).to.equal('application/json');
    expect(JSON.parse(a.body.toString())).to.include({ kind: 'Status', status: 'Failure', code, reason });
  }

  it('headers over the limit: 431', async () => {
    expectStatus(await send(d.port, get({ headers: [['X-Big', 'x'.repeat(20_000)]] }), 10_000), 431, 'RequestHeaderFieldsTooLarge');
  });

  it('a request line, header byte or framing the parser refuses: 400', async () => {
    const cases: RawRequest[] = [
      get({ headers: [['X-Odd', Buffer.from([0x00])]] }),
      get({ method: 'FOO' }),
      get({ version: 'HTTX/1.1' }),
      { ...get({ method: 'PUT', body: Buffer.from('{}'), noLength: true }), headers: [['Content-Length', '2'], ['Content-Length', '3']] },
      { ...get({ method: 'PUT', body: Buffer.from('{}'), chunked: true }), headers: [['Content-Length', '2']] },
    ];
    for (const c of cases) expectStatus(await send(d.port, c, 10_000), 400, 'BadRequest');
  });

  it('an Expect other than 100-continue: 417; CONNECT: 405', async () => {
    expectStatus(await send(d.port, get({ headers: [['Expect', 'bogus']] }), 10_000), 417, 'ExpectationFailed');
    expectStatus(await send(d.port, get({ method: 'CONNECT', path: '127.0.0.1:1' }), 10_000), 405, 'MethodNotAllowed');
  });

  it('still serves, 100-continue included', async () => {
    const a = await send(d.port, { method: 'PUT', path: '/v1/tasks/go', headers: [['Authorization', `Bearer ${d.token}`], ['Expect', '100-continue'], ['Content-Type', 'application/json']], body: Buffer.from('{"kind":"Task","metadata":{"name":"go"}}') }, 10_000);
    expect('error' in a ? a.error : a.status).to.equal(201);
    expect((await d.api('GET', '/healthz')).status).to.equal(200);
  });
});
