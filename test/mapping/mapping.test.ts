import { expect } from 'chai';
import { compileMapping, mappingProblems, MappingError, type FieldMappingSpec, type JsonObject } from '../../pkg/mapping/index.js';

const fields = (spec: FieldMappingSpec): string[] => mappingProblems(spec).map((p) => p.field);

describe('field mapping', () => {
  describe('round trips native → external → native', () => {
    const cases: Array<[string, FieldMappingSpec, JsonObject]> = [
      ['renames, dotted external paths', { to_external: { status: 'state', email: 'customer.email' } }, { status: 'open', email: 'a@b.c', other: 1 }],
      ['value maps', { value_maps: { priority: { high: 'P1', low: 'P3' } }, to_external: { priority: 'urgency' } }, { priority: 'high', title: 't' }],
      ['rfc3339 ↔ MM/DD/YYYY', { dates: { due: { external: 'MM/DD/YYYY', native: 'rfc3339' } } }, { due: '2024-03-05T00:00:00Z' }],
      ['rfc3339 ↔ unix', { dates: { at: { external: 'unix' } } }, { at: '2024-03-05T10:11:12Z' }],
      ['rfc3339 ↔ unix_ms', { dates: { at: { external: 'unix_ms' } }, to_external: { at: 'ts' } }, { at: '2024-03-05T10:11:12.345Z' }],
      ['a pattern with time', { dates: { at: { external: 'DD.MM.YYYY HH:mm:ss' } } }, { at: '2024-12-31T23:59:58Z' }],
      ['everything with unmapped drop', { to_external: { a: 'x.y', b: 'z' }, value_maps: { b: { yes: true, no: false } }, unmapped: 'drop' }, { a: 1, b: 'no' }],
    ];
    for (const [name, spec, native] of cases) {
      it(name, () => {
        const m = compileMapping(spec);
        const external = m.toExternal(native);
        expect(m.toNative(external)).to.deep.equal(native);
      });
    }
  });

  it('renames write dotted external paths and invert on the way in', () => {
    const m = compileMapping({ to_external: { status: 'state', email: 'customer.email' } });
    expect(m.toExternal({ status: 'open', email: 'e' })).to.deep.equal({ state: 'open', customer: { email: 'e' } });
    expect(m.toNative({ state: 'closed', customer: { email: 'x', name: 'n' } })).to.deep.equal({ status: 'closed', email: 'x', customer: { name: 'n' } });
  });

  it('to_native overrides the inversion on the way in', () => {
    const m = compileMapping({ to_external: { status: 'state' }, to_native: { status: 'legacy.status' } });
    expect(m.toNative({ state: 'ignored-as-source', legacy: { status: 'from-legacy' } }).status).to.equal('from-legacy');
    expect(m.toExternal({ status: 's' })).to.deep.equal({ state: 's' });
  });

  it('value maps translate known values and pass others through', () => {
    const m = compileMapping({ value_maps: { severity: { p1: 'critical', p2: 'major' } } });
    expect(m.toNative({ severity: 'critical' })).to.deep.equal({ severity: 'p1' });
    expect(m.toNative({ severity: 'minor' })).to.deep.equal({ severity: 'minor' });
    expect(m.toExternal({ severity: 'p2' })).to.deep.equal({ severity: 'major' });
  });

  it('dates convert between formats in UTC', () => {
    const m = compileMapping({ dates: { due: { external: 'MM/DD/YYYY' }, seen: { external: 'unix', native: 'YYYY-MM-DD' } } });
    expect(m.toNative({ due: '12/25/2024', seen: 1709596800 })).to.deep.equal({ due: '2024-12-25T00:00:00Z', seen: '2024-03-05' });
    expect(m.toExternal({ due: '2024-12-25T13:00:00+02:00', seen: '2024-03-05' })).to.deep.equal({ due: '12/25/2024', seen: 1709596800 });
  });

  it('a value that is not a date in its format names the field', () => {
    const m = compileMapping({ dates: { due: { external: 'MM/DD/YYYY' } } });
    for (const bad of ['2024-12-25', '02/31/2024', 7]) {
      const err = (() => {
        try {
          m.toNative({ due: bad });
        } catch (e) {
          return e;
        }
      })();
      expect(err).to.be.instanceOf(MappingError);
      expect((err as MappingError).problems[0]!.field).to.equal('due');
    }
  });

  it('compose joins several external paths (inbound only)', () => {
    const m = compileMapping({ compose: { name: { from: ['first', 'person.last'], separator: ' ' } } });
    expect(m.toNative({ first: 'Ada', person: { last: 'Lovelace' }, id: 1 })).to.deep.equal({ name: 'Ada Lovelace', id: 1 });
    expect(m.toNative({ first: 'Ada' })).to.deep.equal({ name: 'Ada' });
    expect(m.toExternal({ name: 'Ada Lovelace', id: 1 })).to.deep.equal({ id: 1 });
  });

  it('computed fills a template from the record (inbound only)', () => {
    const m = compileMapping({ computed: { label: '{kind}: {detail.code} ({missing})' } });
    expect(m.toNative({ kind: 'error', detail: { code: 42 } }).label).to.equal('error: 42 ()');
    expect(m.toExternal({ label: 'x', kind: 'k' })).to.deep.equal({ kind: 'k' });
  });

  it('unmapped: drop keeps only what the mapping names', () => {
    const m = compileMapping({ to_external: { status: 'state' }, unmapped: 'drop' });
    expect(m.toNative({ state: 's', noise: 1 })).to.deep.equal({ status: 's' });
    expect(m.toExternal({ status: 's', local: 1 })).to.deep.equal({ state: 's' });
  });

  it('payload keys named __proto__ stay data and never reach a prototype', () => {
    const m = compileMapping({ to_external: { status: 'state' } });
    const external = JSON.parse('{"state":"s","__proto__":{"polluted":true}}') as JsonObject;
    const native = m.toNative(external);
    expect(Object.getPrototypeOf(native)).to.equal(Object.prototype);
    expect(Object.keys(native)).to.have.members(['status', '__proto__']);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  describe('refuses at compile, naming the field', () => {
    const cases: Array<[string, FieldMappingSpec, string]> = [
      ['two renames onto one field', { to_external: { a: 'x', b: 'x' } }, 'to_external.b'],
      ['a rename inside another', { to_external: { a: 'x', b: 'x.y' } }, 'to_external.b'],
      ['to_native onto a renamed target', { to_external: { a: 'x' }, to_native: { b: 'x' } }, 'to_native.b'],
      ['a field both renamed and composed', { to_external: { name: 'n' }, compose: { name: { from: ['a', 'b'] } } }, 'compose.name'],
      ['a field both composed and computed', { compose: { name: { from: ['a'] } }, computed: { name: '{a}' } }, 'computed.name'],
      ['a non-invertible value map', { value_maps: { s: { open: 'O', reopened: 'O' } } }, 'value_maps.s'],
      ['an unknown date format', { dates: { d: { external: 'someday' } } }, 'dates.d.external'],
      ['an unbalanced template', { computed: { c: '{a' } }, 'computed.c'],
      ['a dotted native field', { to_external: { 'a.b': 'x' } }, 'to_external.a.b'],
      ['an empty path segment', { to_external: { a: 'x..y' } }, 'to_external.a'],
      ['a reserved path segment', { to_native: { a: '__proto__.x' } }, 'to_native.a'],
    ];
    for (const [name, spec, field] of cases) {
      it(name, () => {
        expect(fields(spec)).to.include(field);
        expect(() => compileMapping(spec)).to.throw(MappingError);
      });
    }
  });

  it('a valid mapping has no problems', () => {
    expect(fields({ to_external: { a: 'x', b: 'y.z' }, to_native: { c: 'w' }, value_maps: { a: { '1': 'one' } }, dates: { d: { external: 'unix' } }, compose: { e: { from: ['p', 'q'] } }, computed: { f: '{p}' } })).to.deep.equal([]);
  });
});
