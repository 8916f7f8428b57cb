// GET /openapi/v3 describes every kind and route, from the schemas the API validates with,
// as a document an OpenAPI validator accepts.
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import { kinds } from '../../pkg/api/registry.js';
import { Orlojd } from '../helpers/orlojd.js';

interface SpecSchema {
  properties?: Record<string, { properties?: Record<string, unknown> }>;
}
interface OpenApi {
  paths: Record<string, unknown>;
  components: { schemas: Record<string, { properties: { spec: SpecSchema } }> };
}

describe('the served OpenAPI document', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  it('validates as OpenAPI 3.1, and names every kind, its schema and its routes', async () => {
    const res = await d.api<OpenApi>('GET', '/openapi/v3');
    expect(res.status).to.equal(200);
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(res.text) as Record<string, unknown>);
    expect(result.valid, JSON.stringify(result.errors)).to.equal(true);
    expect(validator.version).to.equal('3.1');
    for (const def of kinds) {
      expect(res.body.components.schemas[def.kind]?.properties.spec, def.kind).to.deep.equal(def.specSchema);
      expect(res.body.paths, def.kind).to.include.keys(`/v1/${def.plural}`, `/v1/${def.plural}/{name}`, `/v1/${def.plural}/{name}/status`);
    }
    expect(res.body.components.schemas.TaskWebhook!.properties.spec.properties?.auth?.properties).to.include.keys('profile', 'secret_ref');
    expect(res.body.paths).to.include.keys('/v1/deliveries', '/v1/promotions', '/v1/collections/{collection}/documents/{id}', '/v1/webhook-deliveries/{endpoint_id}');
  });

  it('needs a token, as every API route does', async () => {
    const res = await fetch(`${d.url}/openapi/v3`);
    expect(res.status).to.equal(401);
  });
});
