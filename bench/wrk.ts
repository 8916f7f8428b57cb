// Primary generator: wrk sending requests signed beforehand, each its own: wrk cannot compute
// an HMAC, so each thread reads the signatures of the bodies it will send from a file (one
// line per request) and its Lua script builds the body around the event id. The script counts
// outcomes per thread and prints one JSON line from done().
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bodyOf, ID_MARK, signatureOf, TIMESTAMP_HEADER, timestampOf, type LoadResult, type LoadSpec } from './load.js';
import { trackCpu } from './proc.js';

const MARK = 'BENCH-RESULT ';
/**
 * Requests per second the signatures cover (the bare HMAC server answers ~32,000). A thread
 * that runs out sends a bad signature: its 401s show in the results instead of silent replays.
 */
const POOL_RATE = 50_000;

/** A Lua string literal; inputs are our own ASCII paths, ids and JSON bodies. */
function lua(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new Error(`not printable ASCII: ${s}`);
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The event ids a thread sends, in order (as the script makes them), or the replayed set. */
function idsOf(s: LoadSpec, thread: number | undefined): string[] {
  if (thread === undefined) return Array.from({ length: s.replay! }, (_, k) => `${s.eventPrefix}${k}`);
  const n = Math.ceil((POOL_RATE * s.duration) / s.threads);
  return Array.from({ length: n }, (_, i) => `${s.eventPrefix}${thread}-${i + 1}`);
}

/** One file of `<timestamp> <signature>` lines per thread (`<tid>.sig`), or one for the replayed set (`replay.sig`). */
function writeSignatures(s: LoadSpec, dir: string): void {
  const files = s.replay ? [['replay', undefined] as const] : Array.from({ length: s.threads }, (_, t) => [String(t), t] as const);
  for (const [name, thread] of files) {
    const lines = idsOf(s, thread).map((id, i) => {
      const ts = timestampOf(s, i);
      return `${ts} ${signatureOf(s, ts, bodyOf(s, id))}`;
    });
    writeFileSync(join(dir, `${name}.sig`), `${lines.join('\n')}\n`);
  }
}

function script(s: LoadSpec, dir: string): string {
  const headers = Object.entries(s.headers).map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}`).join('\n');
  const [before, after] = s.bodyTemplate.split(ID_MARK);
  return `
local paths = { ${s.paths.map(lua).join(',\n')} }
local npaths = #paths
local prefix = ${lua(s.eventPrefix)}
local replay = ${s.replay ?? 0}
local dir = ${lua(dir)}
local before, after = ${lua(before!)}, ${lua(after!)}
wrk.method = "POST"
${headers}

-- setup() runs in the main Lua state; keep the threads so done() can read their counters.
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  n, created, dups = 0, 0, 0
  statuses, pending, stamps, sigs = {}, {}, {}, {}
  for line in io.lines(dir .. "/" .. (replay > 0 and "replay" or tid) .. ".sig") do
    local ts, sig = string.match(line, "^(%d+) (.+)$")
    stamps[#stamps + 1], sigs[#sigs + 1] = ts, sig
  end
end

function request()
  n = n + 1
  local id, i
  if replay > 0 then
    local k = (n + tid * 7919) % replay
    id, i = prefix .. k, k + 1
  else
    id, i = prefix .. tid .. "-" .. n, n
    pending[id] = true
  end
  local sig = sigs[i]
  wrk.headers["X-Event-Id"] = id
  wrk.headers[${lua(TIMESTAMP_HEADER)}] = stamps[i] or "0"
  wrk.headers["X-Signature"] = sig or "signatures-exhausted"
  return wrk.format(nil, paths[(n + tid) % npaths + 1], nil, before .. id .. after)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 202 then return end
  if string.find(body, '"duplicate":false', 1, true) then created = created + 1 else dups = dups + 1 end
  if replay == 0 then
    local id = string.match(body, '"event_id":"([^"]*)"')
    if id then pending[id] = nil end
  end
end

function done(summary, latency, requests)
  local c, d, st, un = 0, 0, {}, {}
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    d = d + t:get("dups")
    for k, v in pairs(t:get("statuses")) do st[#st + 1] = string.format('"%d":%d', k, v) end
    for id in pairs(t:get("pending")) do un[#un + 1] = '"' .. id .. '"' end
  end
  local e = summary.errors
  io.write(string.format(
    '${MARK}{"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"non2xx":%d,"errors":%d,"created":%d,"duplicates":%d,"statuses":[{%s}],"unanswered":[%s]}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout, c, d, table.concat(st, "},{"), table.concat(un, ",")))
end
`;
}

interface WrkOut {
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  non2xx: number;
  errors: number;
  created: number;
  duplicates: number;
  statuses: Array<Record<string, number>>;
  unanswered: string[];
}

export async function runWrk(s: LoadSpec, started?: () => void): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'orloj-wrk-'));
  try {
    const file = join(dir, 'load.lua');
    writeSignatures(s, dir);
    writeFileSync(file, script(s, dir));
    const args = ['-t', String(s.threads), '-c', String(s.connections), '-d', `${s.duration}s`, '--timeout', '10s', '-s', file, s.url];
    started?.();
    const proc = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const cpu = trackCpu(proc.pid!);
    let stdout = '';
    proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    const code = await new Promise<number | null>((r) => proc.once('exit', r));
    const cores = cpu.stop() / s.duration;
    const line = stdout.split('\n').find((l) => l.startsWith(MARK));
    if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}):\n${stdout}`);
    const o = JSON.parse(line.slice(MARK.length)) as WrkOut;
    const byStatus: Record<string, number> = {};
    for (const m of o.statuses) for (const [k, v] of Object.entries(m)) byStatus[k] = (byStatus[k] ?? 0) + v;
    return {
      generator: 'wrk',
      requests: o.requests,
      rps: o.requests / (o.durationUs / 1e6),
      p50Ms: o.p50Us / 1000,
      p99Ms: o.p99Us / 1000,
      non2xx: o.non2xx,
      errors: o.errors,
      byStatus,
      created: o.created,
      duplicates: o.duplicates,
      unanswered: o.unanswered,
      generatorCores: cores,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
