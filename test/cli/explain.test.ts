// orlojctl explain: a kind's fields from the schema the server serves at /openapi/v3.
import { expect } from 'chai';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl } from './ctl.js';

describe('orlojctl explain', function () {
  this.timeout(30_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  it('explain task-webhook.spec.auth prints its fields, their types, and which are required', async () => {
    const r = await ctl(d, ['explain', 'task-webhook.spec.auth']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^KIND:\s+TaskWebhook\nVERSION:\s+orloj\.dev\/v1\n\nFIELD:\s+auth <object>\n/);
    expect(r.stdout).to.match(/FIELDS:\n/);
    expect(r.stdout).to.match(/^ {3}profile\t<string>/m);
    expect(r.stdout).to.match(/^ {3}secret_ref\t<string> -required-/m);
  });

  it('explain of a kind by a short name lists its top-level fields; a field down an array or map is found', async () => {
    const r = await ctl(d, ['explain', 'iw']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^KIND:\s+InboundWebhook/).and.match(/^ {3}spec\t<object> -required-/m).and.match(/^ {3}metadata\t<Object> -required-/m);
    const h = await ctl(d, ['explain', 'inbound-webhook.spec.hydration.retry.backoff_seconds']);
    expect(h.code, h.stderr).to.equal(0);
    expect(h.stdout).to.include('FIELD:    backoff_seconds <[]integer>').and.include('default: [1,5,30,120]');
  });

  it('an unknown field or kind is an error naming it, exit 1', async () => {
    const f = await ctl(d, ['explain', 'trigger.spec.nope']);
    expect(f.code).to.equal(1);
    expect(f.stderr).to.include('field "spec.nope" does not exist in Trigger');
    const k = await ctl(d, ['explain', 'widgets']);
    expect(k.code).to.equal(1);
    expect(k.stderr).to.include('resource type "widgets"');
  });
});
