// Fallback generator when wrk is unavailable: autocannon in this process (one core at most,
// so it saturates sooner than wrk; the report names the generator).
import autocannon from 'autocannon';
import { bodyOf, signatureOf, TIMESTAMP_HEADER, timestampOf, type LoadResult, type LoadSpec } from './load.js';

export async function runAutocannon(s: LoadSpec, started?: () => void): Promise<LoadResult> {
  let n = 0;
  let created = 0;
  let duplicates = 0;
  const byStatus: Record<string, number> = {};
  const pending = new Set<string>();
  started?.();
  const cpu0 = process.cpuUsage();
  const r = await autocannon({
    url: s.url,
    connections: s.connections,
    duration: s.duration,
    requests: [
      {
        method: 'POST',
        headers: s.headers,
        setupRequest: (req) => {
          n++;
          const id = s.replay ? `${s.eventPrefix}${n % s.replay}` : `${s.eventPrefix}0-${n}`;
          if (!s.replay) pending.add(id);
          const body = bodyOf(s, id);
          const ts = timestampOf(s, s.replay ? n % s.replay : n);
          const headers = { ...s.headers, [TIMESTAMP_HEADER]: ts, 'X-Signature': signatureOf(s, ts, body), 'X-Event-Id': id };
          return { ...req, path: s.paths[n % s.paths.length]!, body, headers };
        },
        onResponse: (status, body) => {
          byStatus[status] = (byStatus[status] ?? 0) + 1;
          if (status !== 202) return;
          if (body.includes('"duplicate":false')) created++;
          else duplicates++;
          const id = /"event_id":"([^"]*)"/.exec(body)?.[1];
          if (id) pending.delete(id);
        },
      },
    ],
  });
  const used = process.cpuUsage(cpu0);
  return {
    generator: 'autocannon',
    requests: r.requests.total,
    rps: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    byStatus,
    created,
    duplicates,
    unanswered: [...pending],
    generatorCores: (used.user + used.system) / 1e6 / s.duration,
  };
}
