// Benchmark knobs (BENCH_* variables): defaults give a ~3-4 minute run on 2 cores; BENCH_QUICK=1 is
// a smoke run and BENCH_ONLY picks scenarios.

const quick = process.env.BENCH_QUICK === '1';

function envInt(name: string, def: number, min = 1): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

/** Scenario ids in run order; (d) covers every BENCH_WEBHOOKS count; cli times orlojctl processes. */
export const SCENARIOS = ['baseline', 'peer', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'pg', 'k', 'cli'] as const;
export type ScenarioId = (typeof SCENARIOS)[number];

/** Cores used by other processes during a measured run above which its figures count as contaminated. */
export const OTHER_LOAD_LIMIT = 0.15;

export interface BenchConfig {
  quick: boolean;
  /** Seconds per measured run; every run also gets a short unmeasured warm-up. */
  duration: number;
  warmup: number;
  connections: number;
  threads: number;
  /** Distinct already-seen events replayed in scenario (b). */
  replaySet: number;
  /** Webhook counts for scenario (d). */
  manyWebhooks: number[];
  /** Parallel PUTs while creating webhooks. */
  createConcurrency: number;
  /** Extra attempts for a measured run that shared the machine with other load (the cleanest is kept). */
  retries: number;
  /** Force the autocannon generator even when wrk is installed (BENCH_GENERATOR=autocannon). */
  generator: 'wrk' | 'autocannon';
  /**
   * Scenarios to run (BENCH_ONLY=baseline,peer,a; default all), in SCENARIOS order. (c) runs at
   * half of (a)'s throughput, so selecting (c) without (a) adds (a) unless BENCH_RATE is set.
   */
  only: ScenarioId[];
  /** (i)'s write rate (BENCH_ISOLATION_RATE, writes/s), when (h) does not run or it is set. */
  isolationRate: number;
  /** Fixed request rate for (c) and (h) instead of half of (a)'s and (g)'s (BENCH_RATE, req/s). */
  rate?: number;
}

const isScenario = (s: string): s is ScenarioId => (SCENARIOS as readonly string[]).includes(s);

function selectScenarios(rate: number | undefined): ScenarioId[] {
  const v = process.env.BENCH_ONLY;
  if (v === undefined || v.trim() === '') return [...SCENARIOS];
  const picked = new Set<ScenarioId>();
  for (const s of v.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)) {
    if (!isScenario(s)) throw new Error(`BENCH_ONLY: unknown scenario "${s}" (one of ${SCENARIOS.join(', ')})`);
    picked.add(s);
  }
  // (a) is then run (and reported) only to measure the rate (c) needs; (g) likewise for (h).
  if (picked.has('c') && rate === undefined) picked.add('a');
  if (picked.has('h') && rate === undefined) picked.add('g');
  return SCENARIOS.filter((s) => picked.has(s));
}

export function loadConfig(): BenchConfig {
  const duration = envInt('BENCH_DURATION', quick ? 3 : 10);
  // Pre-signed timestamps must stay inside the ±300 s skew for the whole run: keep each run far below that.
  if (duration > 120) throw new Error('BENCH_DURATION must be ≤ 120 s (signatures are valid for 300 s)');
  const rate = process.env.BENCH_RATE ? envInt('BENCH_RATE', 1) : undefined;
  return {
    quick,
    duration,
    warmup: envInt('BENCH_WARMUP', quick ? 1 : 2),
    connections: envInt('BENCH_CONNECTIONS', 64),
    threads: envInt('BENCH_THREADS', 2),
    replaySet: envInt('BENCH_REPLAY_SET', 1000),
    manyWebhooks: (process.env.BENCH_WEBHOOKS ?? (quick ? '10,500' : '10,10000')).split(',').map(Number),
    createConcurrency: envInt('BENCH_CREATE_CONCURRENCY', 16),
    retries: envInt('BENCH_RETRIES', quick ? 0 : 2, 0),
    generator: process.env.BENCH_GENERATOR === 'autocannon' ? 'autocannon' : 'wrk',
    only: selectScenarios(rate),
    isolationRate: envInt('BENCH_ISOLATION_RATE', 200),
    rate,
  };
}
