import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, resource, secret } from '../helpers/fixtures.js';

describe('Collection and Source kinds', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  const causes = (body: { details?: { causes?: Array<{ field: string; message: string }> } }) => body.details?.causes ?? [];
  const waitReady = (plural: string, name: string, status: string, reason: string) =>
    eventually(async () => {
      const o = (await d.api('GET', `/v1/${plural}/${name}`)).body;
      const c = readyOf(o);
      return c?.status === status && c.reason === reason ? o : undefined;
    }, 3000);

  it('a Collection gets defaults and becomes Ready', async () => {
    await put(d, resource('Collection', 'incidents', { schema: { type: 'object', required: ['title'] } }));
    const c = await waitReady('collections', 'incidents', 'True', 'SchemaValid');
    expect(c.spec.id_field).to.equal('id');
    expect(c.status.observedGeneration).to.equal(1);
  });

  it('refuses a schema ajv cannot compile, with ajv\'s message', async () => {
    const res = await d.api('PUT', '/v1/collections/broken', resource('Collection', 'broken', { schema: { type: 'object', properties: { a: { type: 'no-such-type' } } } }));
    expect(res.status).to.equal(422);
    expect(causes(res.body)[0]).to.deep.include({ field: 'spec.schema' });
    expect(causes(res.body)[0]!.message).to.match(/type/);
    expect((await d.api('GET', '/v1/collections/broken')).status).to.equal(404);
  });

  it('refuses an invalid mapping naming the field, and a read URL without {id}', async () => {
    const res = await d.api('PUT', '/v1/sources/bad', resource('Source', 'bad', {
      collection: 'incidents',
      read: { url: 'https://api.example.com/records' },
      field_mapping: { to_external: { a: 'x', b: 'x' }, value_maps: { s: { open: 'O', again: 'O' } } },
    }));
    expect(res.status).to.equal(422);
    expect(causes(res.body).map((c) => c.field)).to.include.members(['spec.read.url', 'spec.field_mapping.to_external.b', 'spec.field_mapping.value_maps.s']);
    const unknown = await d.api('PUT', '/v1/sources/bad', resource('Source', 'bad', { collection: 'incidents', field_mapping: { rename: {} } }));
    expect(unknown.status).to.equal(422);
    expect(causes(unknown.body).map((c) => c.field)).to.include('spec.field_mapping.rename');
  });

  it('accepts to_rekor as to_native', async () => {
    await put(d, resource('Source', 'seedish', { collection: 'incidents', field_mapping: { to_rekor: { status: 'state' } } }));
    const s = (await d.api('GET', '/v1/sources/seedish')).body;
    expect(s.spec.field_mapping).to.deep.equal({ to_native: { status: 'state' }, unmapped: 'keep' });
  });

  it('a Source waits for its collection and secret, then recovers by itself', async () => {
    await put(d, resource('Source', 'shop-api', {
      collection: 'orders',
      read: { url: 'https://shop.example.com/orders/{id}', headers: { Authorization: { secret_ref: 'shop-token', key: 'token', prefix: 'Bearer ' }, Accept: 'application/json' } },
      field_mapping: { to_external: { status: 'state' } },
    }));
    await waitReady('sources', 'shop-api', 'False', 'CollectionNotFound');
    await put(d, resource('Collection', 'orders', {}));
    await waitReady('sources', 'shop-api', 'False', 'SecretNotFound');
    await put(d, secret('shop-token', { other: 'x' }));
    await waitReady('sources', 'shop-api', 'False', 'SecretKeyNotFound');
    await put(d, secret('shop-token', { token: 't0k' }));
    const s = await waitReady('sources', 'shop-api', 'True', 'Resolved');
    expect(s.spec.read).to.include({ method: 'GET', timeout_seconds: 10 });
  });
});
