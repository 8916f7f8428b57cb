import { expect } from 'chai';
import postgres from 'postgres';
import { dropDatabase, freshDatabase, postgresAdminUrl } from './postgres.js';

describe('test PostgreSQL harness', function () {
  // The first call runs initdb and starts the cluster.
  this.timeout(60_000);
  const clients: postgres.Sql[] = [];
  const connect = (url: string) => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    clients.push(sql);
    return sql;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end({ timeout: 5 })));
  });

  it('answers select 1 on the admin URL', async () => {
    const sql = connect(await postgresAdminUrl());
    const [row] = await sql`select 1 as one`;
    expect(row?.one).to.equal(1);
  });

  it('gives distinct, empty databases that do not see each other', async () => {
    const [a, b] = await Promise.all([freshDatabase(), freshDatabase('harness')]);
    expect(a).to.not.equal(b);
    expect(new URL(b).pathname).to.match(/^\/harness_/);
    const [sa, sb] = [connect(a), connect(b)];
    for (const sql of [sa, sb]) {
      const tables = await sql`select count(*)::int as n from pg_tables where schemaname = 'public'`;
      expect(tables[0]?.n).to.equal(0);
    }
    await sa`create table t (x int)`;
    await sa`insert into t values (1)`;
    const inB = await sb`select count(*)::int as n from pg_tables where schemaname = 'public'`;
    expect(inB[0]?.n).to.equal(0);
    const [name] = await sa`select current_database() as db`;
    expect(`/${name?.db}`).to.equal(new URL(a).pathname);
    await Promise.all([dropDatabase(a), dropDatabase(b)]);
  });

  it('dropDatabase removes the database, ending connections still open to it', async () => {
    const url = await freshDatabase();
    const name = new URL(url).pathname.slice(1);
    const held = connect(url);
    await held`select 1`;
    await dropDatabase(url);
    const admin = connect(await postgresAdminUrl());
    const left = await admin`select count(*)::int as n from pg_database where datname = ${name}`;
    expect(left[0]?.n).to.equal(0);
    let err: unknown;
    await connect(url)`select 1`.catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/does not exist/);
  });
});
