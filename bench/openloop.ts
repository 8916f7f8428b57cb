// Fixed-rate, open-loop generator for the latency scenario, run as its own process:
// `node openloop.js '<json LoadSpec + rate + warmup>'`; prints one JSON LoadResult line.
// Requests go out on schedule whether or not earlier ones were answered, and latency is
// measured from the scheduled send time, so server stalls are not hidden (no coordinated
// omission). autocannon's overallRate is not used: it sends each second's quota in a burst.
// A minimal keep-alive HTTP/1.1 client on raw sockets (request text built per request; both servers
// answer with Content-Length) keeps the generator's own CPU and GC pauses small; the send lag
// it still adds (timer granularity, scheduling) is reported as sendLagP99Ms.
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { bodyOf, pct, signatureOf, TIMESTAMP_HEADER, timestampOf, type LoadResult, type LoadSpec } from './load.js';

/** timesFile: where to write, per measured event id, [scheduled, answered] as epoch ms (for the trigger scenarios). */
const spec = JSON.parse(process.argv[2]!) as LoadSpec & { rate: number; warmup: number; timesFile?: string };
const url = new URL(spec.url);
const common = `Host: ${url.host}\r\n${Object.entries(spec.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}`;
const heads = spec.paths.map((p) => `POST ${p} HTTP/1.1\r\n${common}`);
// The first `warmup` seconds (own event ids, not recorded) let this process's JIT and socket
// pool settle, so their cost does not show up as server latency.
const warm = Math.floor(spec.rate * spec.warmup);
const total = warm + Math.floor(spec.rate * spec.duration);
const interval = 1000 / spec.rate;

interface Job {
  i: number;
  id: string;
  scheduled: number;
}
interface Conn {
  sock: Socket;
  job?: Job;
  buf?: Buffer;
}

const fromSchedule = new Float64Array(total - warm);
const sendLag = new Float64Array(total - warm);
const byStatus: Record<string, number> = {};
const times: Record<string, [number, number]> | undefined = spec.timesFile ? {} : undefined;
const epoch = (t: number) => performance.timeOrigin + t;
const pending = new Set<string>();
const idle: Conn[] = [];
const queue: Job[] = [];
let open = 0;
let answered = 0;
let lagged = 0;
let finished = 0;
let created = 0;
let duplicates = 0;
let errors = 0;

/** Each request signed as it goes (a few µs): the same signature twice would be a replay. */
function send(c: Conn, job: Job): void {
  c.job = job;
  const body = bodyOf(spec, job.id);
  const ts = timestampOf(spec, job.i);
  const signed = `${TIMESTAMP_HEADER}: ${ts}\r\nX-Signature: ${signatureOf(spec, ts, body)}\r\nX-Event-Id: ${job.id}`;
  c.sock.write(`${heads[job.i % heads.length]}Content-Length: ${Buffer.byteLength(body)}\r\n${signed}\r\n\r\n${body}`);
}

function done(c: Conn, status: number, body: Buffer | undefined): void {
  const job = c.job!;
  c.job = undefined;
  finished++;
  if (job.i >= warm) {
    const at = performance.now();
    fromSchedule[answered++] = at - job.scheduled;
    if (times && status === 202) times[job.id] = [epoch(job.scheduled), epoch(at)];
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (status === 202 && body) {
      if (body.includes('"duplicate":false')) created++;
      else duplicates++;
      pending.delete(job.id);
    }
  }
  const next = queue.shift();
  if (next) send(c, next);
  else idle.push(c);
}

/** Parses as many complete responses as the buffer holds (one per request: no pipelining). */
function onData(c: Conn, chunk: Buffer): void {
  let buf = c.buf ? Buffer.concat([c.buf, chunk]) : chunk;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = buf.toString('latin1', 0, end);
    const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (buf.length < end + 4 + len) break;
    done(c, Number(head.slice(9, 12)), buf.subarray(end + 4, end + 4 + len));
    buf = buf.subarray(end + 4 + len);
  }
  c.buf = buf.length ? buf : undefined;
}

function openConn(first: Job): void {
  open++;
  const c: Conn = { sock: connect(Number(url.port), url.hostname) };
  c.sock.setNoDelay(true);
  c.sock.on('data', (chunk: Buffer) => onData(c, chunk));
  c.sock.on('error', () => undefined);
  c.sock.on('close', () => {
    open--;
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    if (c.job) {
      if (c.job.i >= warm) errors++;
      finished++;
    }
  });
  send(c, first);
}

function fire(i: number, scheduled: number): void {
  const measured = i >= warm;
  const job = { i, scheduled, id: `${measured ? '' : 'w'}${spec.eventPrefix}0-${i}` };
  if (measured) {
    pending.add(job.id);
    sendLag[lagged++] = performance.now() - scheduled;
  }
  const c = idle.pop();
  if (c) send(c, job);
  else if (open < spec.connections) openConn(job);
  else queue.push(job);
}

const start = performance.now() + 20;
let next = 0;
let cpu0 = process.cpuUsage();
let measuredFrom = start;
function tick(): void {
  const now = performance.now();
  while (next < total && start + next * interval <= now) {
    if (next === warm) {
      cpu0 = process.cpuUsage();
      measuredFrom = performance.now();
    }
    fire(next, start + next * interval);
    next++;
  }
  if (next < total) setTimeout(tick, 1);
  else void report();
}

async function report(): Promise<void> {
  // Let the last requests finish (bounded), then report.
  const deadline = performance.now() + 10_000;
  while (finished < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const elapsed = (performance.now() - measuredFrom) / 1000;
  const used = process.cpuUsage(cpu0);
  const lat = fromSchedule.slice(0, answered).sort();
  const non2xx = Object.entries(byStatus).reduce((a, [k, v]) => (Number(k) >= 300 ? a + v : a), 0);
  const out: LoadResult & { sendLagP99Ms: number; targetRate: number } = {
    generator: 'open-loop (raw sockets)',
    requests: answered,
    rps: answered / spec.duration,
    p50Ms: pct(lat, 50),
    p99Ms: pct(lat, 99),
    non2xx,
    errors: errors + (total - warm - answered - errors),
    byStatus,
    created,
    duplicates,
    unanswered: [...pending],
    generatorCores: (used.user + used.system) / 1e6 / elapsed,
    warmupRequests: warm,
    sendLagP99Ms: pct(sendLag.slice(0, lagged).sort(), 99),
    targetRate: spec.rate,
  };
  if (times) writeFileSync(spec.timesFile!, JSON.stringify(times));
  console.log(JSON.stringify(out));
  process.exit(0);
}

setTimeout(tick, 20);
