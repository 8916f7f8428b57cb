import { expect } from 'chai';
import { Ajv } from 'ajv';
import { compileMapping, mappingFitProblems, type FieldMappingSpec, type JsonObject } from '../../pkg/mapping/index.js';

type Schema = Record<string, unknown>;

const fields = (mapping: FieldMappingSpec | undefined, schema: Schema | undefined): string[] => mappingFitProblems(mapping, schema).map((p) => p.field);
const closed = (properties: Schema, extra: Schema = {}): Schema => ({ type: 'object', additionalProperties: false, properties, ...extra });

describe('mapping fit against a collection schema', () => {
  describe('no schema, or a permissive one', () => {
    const mapping: FieldMappingSpec = { to_external: { status: 'state' }, value_maps: { status: { open: 'O' } }, dates: { at: { external: 'unix', native: 'unix' } }, unmapped: 'drop' };
    for (const [name, schema] of [['none', undefined], ['empty', {}], ['any object', { type: 'object' }], ['additional allowed', { additionalProperties: true, required: [] }]] as const) {
      it(name, () => expect(fields(mapping, schema)).to.deep.equal([]));
    }

    it('no mapping: deliveries are stored as sent', () => {
      expect(fields(undefined, closed({}, { required: ['title'] }))).to.deep.equal([]);
    });
  });

  describe('written fields must be allowed', () => {
    const schema = closed({ status: { type: 'string' }, name: { type: 'string' } });

    it('a rename into a field additionalProperties false forbids', () => {
      expect(fields({ to_external: { state: 'status' } }, schema)).to.deep.equal(['to_external.state']);
      expect(fields({ to_native: { state: 'x' } }, schema)).to.deep.equal(['to_native.state']);
      expect(mappingFitProblems({ to_external: { state: 'status' } }, schema)[0]!.message).to.include('does not allow');
    });

    it('a rename into a listed property', () => {
      expect(fields({ to_external: { status: 'state' }, to_native: { name: 'who.name' } }, schema)).to.deep.equal([]);
    });

    it('compose and computed into a forbidden field', () => {
      expect(fields({ compose: { full: { from: ['a', 'b'] } }, computed: { label: '{a}' } }, schema)).to.deep.equal(['compose.full', 'computed.label']);
      expect(fields({ compose: { name: { from: ['a', 'b'] } }, computed: { status: '{a}' } }, schema)).to.deep.equal([]);
    });

    it('patternProperties allow the fields they match', () => {
      const patterned = closed({}, { patternProperties: { '^x_': { type: 'string' } } });
      expect(fields({ to_external: { x_status: 'state' } }, patterned)).to.deep.equal([]);
      expect(fields({ to_external: { status: 'state' } }, patterned)).to.deep.equal(['to_external.status']);
      expect(fields({ computed: { x_n: '{a}' } }, closed({}, { patternProperties: { '^x_': { type: 'integer' } } }))).to.deep.equal(['computed.x_n']);
    });

    it('a field schema of false forbids the field even when listed', () => {
      expect(fields({ to_external: { secret: 's' } }, { properties: { secret: false } })).to.deep.equal(['to_external.secret']);
    });

    it('an additionalProperties schema types the unlisted fields', () => {
      expect(fields({ compose: { n: { from: ['a'] } } }, { additionalProperties: { type: 'string' } })).to.deep.equal([]);
      expect(fields({ compose: { n: { from: ['a'] } } }, { additionalProperties: { type: 'integer' } })).to.deep.equal(['compose.n']);
    });
  });

  describe('value maps', () => {
    const status = { status: { type: 'string', enum: ['open', 'closed'] } };

    it('a native value outside the field enum', () => {
      const problems = mappingFitProblems({ value_maps: { status: { open: 'O', pending: 'P' } } }, { properties: status });
      expect(problems.map((p) => p.field)).to.deep.equal(['value_maps.status.pending']);
      expect(problems[0]!.message).to.include('"pending"').and.include('"open", "closed"');
    });

    it('native values inside the field enum', () => {
      expect(fields({ value_maps: { status: { open: 'O', closed: 'C' } } }, { properties: status })).to.deep.equal([]);
    });

    it('const works as a one-value enum', () => {
      expect(fields({ value_maps: { kind: { ticket: 'T', bug: 'B' } } }, { properties: { kind: { const: 'ticket' } } })).to.deep.equal(['value_maps.kind.bug']);
    });

    it('native values are strings: one into an integer field', () => {
      expect(fields({ value_maps: { priority: { '1': 'high' } } }, { properties: { priority: { type: 'integer' } } })).to.deep.equal(['value_maps.priority.1']);
      expect(fields({ value_maps: { priority: { '1': 'high' } } }, { properties: { priority: { type: ['string', 'integer'] } } })).to.deep.equal([]);
    });

    it('a value map on a field no rule writes and nothing passes into is not checked', () => {
      const spec: FieldMappingSpec = { value_maps: { priority: { '1': 'high' } }, unmapped: 'drop' };
      expect(fields(spec, { properties: { priority: { type: 'integer' } } })).to.deep.equal([]);
      expect(fields({ ...spec, to_native: { priority: 'p' } }, { properties: { priority: { type: 'integer' } } })).to.deep.equal(['value_maps.priority.1']);
    });
  });

  describe('dates', () => {
    it('a unix date into a string field', () => {
      expect(fields({ dates: { at: { external: 'rfc3339', native: 'unix' } } }, { properties: { at: { type: 'string' } } })).to.deep.equal(['dates.at.native']);
      expect(fields({ dates: { at: { external: 'unix', native: 'unix_ms' } } }, { properties: { at: { type: 'string' } } })).to.deep.equal(['dates.at.native']);
    });

    it('unix and unix_ms into number or integer fields', () => {
      expect(fields({ dates: { at: { external: 'rfc3339', native: 'unix' } } }, { properties: { at: { type: 'number' } } })).to.deep.equal([]);
      expect(fields({ dates: { at: { external: 'rfc3339', native: 'unix_ms' } } }, { properties: { at: { type: 'integer' } } })).to.deep.equal([]);
    });

    it('rfc3339 (the default) and patterns write strings', () => {
      expect(fields({ dates: { at: { external: 'unix' } } }, { properties: { at: { type: 'string', format: 'date-time' } } })).to.deep.equal([]);
      expect(fields({ dates: { at: { external: 'unix', native: 'YYYY-MM-DD' } } }, { properties: { at: { type: 'string' } } })).to.deep.equal([]);
      expect(fields({ dates: { at: { external: 'unix' } } }, { properties: { at: { type: 'integer' } } })).to.deep.equal(['dates.at.native']);
    });

    it('a date rule decides what a value-mapped field stores', () => {
      const spec: FieldMappingSpec = { dates: { at: { external: 'unix', native: 'unix' } }, value_maps: { at: { x: 'y' } } };
      expect(fields(spec, { properties: { at: { type: 'integer' } } })).to.deep.equal([]);
    });
  });

  describe('compose and computed write strings', () => {
    it('into an integer field', () => {
      expect(fields({ compose: { n: { from: ['a', 'b'] } }, computed: { m: '{a}' } }, { properties: { n: { type: 'integer' }, m: { type: 'number' } } })).to.deep.equal(['compose.n', 'computed.m']);
      expect(fields({ compose: { n: { from: ['a', 'b'] } }, computed: { m: '{a}' } }, { properties: { n: { type: 'string' }, m: { type: 'string' } } })).to.deep.equal([]);
    });

    it('into an enum field, unless the template is a constant in it', () => {
      const schema = { properties: { kind: { type: 'string', enum: ['ticket', 'bug'] } } };
      expect(fields({ computed: { kind: '{type}' } }, schema)).to.deep.equal(['computed.kind']);
      expect(fields({ compose: { kind: { from: ['a'] } } }, schema)).to.deep.equal(['compose.kind']);
      expect(fields({ computed: { kind: 'ticket' } }, schema)).to.deep.equal([]);
      expect(fields({ computed: { kind: 'task' } }, schema)).to.deep.equal(['computed.kind']);
    });
  });

  describe('required fields', () => {
    const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' } } };

    it('no rule produces it and unmapped is drop', () => {
      const problems = mappingFitProblems({ to_native: { body: 'text' }, unmapped: 'drop' }, schema);
      expect(problems.map((p) => p.field)).to.deep.equal(['schema.required.title']);
      expect(problems[0]!.message).to.include('unmapped is drop');
    });

    it('with unmapped keep it can pass through', () => {
      expect(fields({ to_native: { body: 'text' } }, schema)).to.deep.equal([]);
      expect(fields({ to_native: { body: 'text' }, unmapped: 'keep' }, schema)).to.deep.equal([]);
    });

    it('with unmapped keep, an external field consumed by a rename does not pass through', () => {
      expect(fields({ to_native: { subject: 'title' } }, schema)).to.deep.equal(['schema.required.title']);
      expect(fields({ compose: { subject: { from: ['title', 'x'] } } }, schema)).to.deep.equal(['schema.required.title']);
      // Consuming a path inside it leaves the rest of the object to pass through.
      expect(fields({ to_native: { subject: 'title.text' } }, schema)).to.deep.equal([]);
      // Computed fields read their inputs without consuming them.
      expect(fields({ computed: { subject: '{title}' } }, schema)).to.deep.equal([]);
    });

    it('a schema default', () => {
      expect(fields({ unmapped: 'drop' }, { required: ['title'], properties: { title: { type: 'string', default: '' } } })).to.deep.equal([]);
    });

    it('a rule that writes it', () => {
      for (const spec of [{ to_external: { title: 'subject' } }, { to_native: { title: 's' } }, { compose: { title: { from: ['a'] } } }, { computed: { title: '{a}' } }] as FieldMappingSpec[]) {
        expect(fields({ ...spec, unmapped: 'drop' }, schema)).to.deep.equal([]);
      }
    });
  });

  it('lists every problem at once', () => {
    const schema = closed({ status: { enum: ['open'] }, at: { type: 'string' }, title: { type: 'string' } }, { required: ['title'] });
    const spec: FieldMappingSpec = { to_external: { status: 's', extra: 'e', at: 'ts' }, value_maps: { status: { gone: 'G' } }, dates: { at: { external: 'unix', native: 'unix' } }, unmapped: 'drop' };
    expect(fields(spec, schema)).to.deep.equal(['to_external.extra', 'value_maps.status.gone', 'dates.at.native', 'schema.required.title']);
  });

  it('odd schemas neither throw nor invent problems', () => {
    const spec: FieldMappingSpec = { to_external: { a: 'x' }, value_maps: { a: { v: 'w' } }, compose: { b: { from: ['y'] } }, dates: { c: { external: 'unix' } } };
    const odd: Schema[] = [
      { properties: 'nope', required: 'a', patternProperties: [] },
      { properties: { a: null, b: 7, c: [] }, required: [1, null, {}] },
      { properties: { a: { type: 42, enum: 'v' } }, patternProperties: { '(': { type: 'integer' } } },
      { properties: { b: true }, additionalProperties: 'weird' },
      { properties: { constructor: { type: 'integer' } }, required: ['__proto__', 'toString'], allOf: [{ required: ['z'] }] },
    ];
    for (const schema of odd) expect(() => mappingFitProblems({ ...spec, unmapped: 'drop' }, schema), JSON.stringify(schema)).not.to.throw();
    for (const schema of odd.slice(0, 4)) expect(fields(spec, schema), JSON.stringify(schema)).to.deep.equal([]);
  });

  describe('agrees with the document validator on what toNative writes', () => {
    const ajv = new Ajv({ allErrors: true, strict: false, addUsedSchema: false, logger: false });
    const cases: Array<[string, FieldMappingSpec, Schema, JsonObject]> = [
      ['forbidden rename', { to_external: { state: 'status' } }, closed({ status: {} }), { status: 'open' }],
      ['enum value map', { value_maps: { status: { pending: 'P' } } }, { properties: { status: { enum: ['open'] } } }, { status: 'P' }],
      ['string into integer', { value_maps: { priority: { '1': 'high' } } }, { properties: { priority: { type: 'integer' } } }, { priority: 'high' }],
      ['unix into string', { dates: { at: { external: 'rfc3339', native: 'unix' } } }, { properties: { at: { type: 'string' } } }, { at: '2024-03-05T10:11:12Z' }],
      ['required, drop', { to_native: { body: 'text' }, unmapped: 'drop' }, { required: ['title'] }, { text: 'x', title: 't' }],
      ['required, consumed', { to_native: { subject: 'title' } }, { required: ['title'] }, { title: 't' }],
      ['required, keep', { to_native: { body: 'text' } }, { required: ['title'] }, { text: 'x', title: 't' }],
      ['fits', { to_external: { status: 'state' }, value_maps: { status: { open: 'O' } }, computed: { kind: 'ticket' } }, closed({ status: { enum: ['open'] }, kind: { const: 'ticket' } }), { state: 'O' }],
    ];
    for (const [name, spec, schema, external] of cases) {
      it(name, () => {
        const stored = ajv.compile(schema)(compileMapping(spec).toNative(external));
        expect(fields(spec, schema).length === 0, JSON.stringify(fields(spec, schema))).to.equal(stored);
      });
    }
  });
});
