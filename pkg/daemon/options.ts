import { parseArgs } from 'node:util';
import type { HttpLimits } from '../apiserver/context.js';
import { LOG_FORMATS, type LogFormat } from '../log/logger.js';
import { DestinationGuard } from '../outbound/guard.js';

export interface DaemonOptions {
  listen: { host: string; port: number };
  dataDir: string;
  /** Where resources live: kubernetes keeps them as CRDs in a cluster. */
  storage: StorageKind;
  /**
   * Where the data plane lives (deliveries, documents, dedup, the change log, queues): the
   * store itself for sqlite and postgres, --data-storage for kubernetes.
   */
  dataStorage: DataStorageKind;
  /** For postgres storage, or kubernetes with postgres data storage. */
  postgresUrl?: string;
  /** --kubeconfig (kubernetes only); unset: KUBECONFIG, the pod's service account, ~/.kube/config. */
  kubeconfig?: string;
  /** Namespace of the leader-election Lease (kubernetes only); unset: the pod's, else `default`. */
  leaseNamespace?: string;
  apiTokens?: string;
  /** A file of tokens in the --api-tokens format, also one per line: tokens need not show in `ps`. */
  apiTokensFile?: string;
  /** ORLOJ_ENCRYPTION_KEY (environment only): the key set that seals Secret data. */
  encryptionKey?: string;
  logLevel: string;
  /** Unset: pretty on a terminal, JSON otherwise. */
  logFormat?: LogFormat;
  /** Receivers, and triggers, with metric series of their own; the rest count under `_other_`. */
  metricsMaxObjects: number;
  maxRequestBytes: number;
  resyncSeconds: number;
  deliveryRetention: number;
  limits: HttpLimits;
  rejectedRecordsPerReceiver: number;
  hydrationWorkers: number;
  /** CIDRs outbound requests may reach although they are loopback, private, link-local, ... */
  allowDestinations: string[];
}

export const STORAGE_KINDS = ['sqlite', 'postgres', 'kubernetes'] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];
export const DATA_STORAGE_KINDS = ['sqlite', 'postgres'] as const;
export type DataStorageKind = (typeof DATA_STORAGE_KINDS)[number];

const USAGE = `Usage: orlojd [flags]

  --listen HOST:PORT      address to serve on (ORLOJ_LISTEN, default 127.0.0.1:8080)
  --data-dir DIR          local files: the embedded store, the key file, the admin token
                          (ORLOJ_DATA_DIR, default ./.orloj)
  --storage KIND          sqlite (embedded, one process), postgres (shared by replicas) or
                          kubernetes (resources are CRDs in a cluster) (ORLOJ_STORAGE, default sqlite)
  --postgres-url URL      PostgreSQL connection string (ORLOJ_POSTGRES_URL); every
                          replica also needs the same ORLOJ_ENCRYPTION_KEY
  --kubeconfig PATH       with --storage kubernetes: the cluster to use (default KUBECONFIG,
                          else the pod's service account, else ~/.kube/config)
  --data-storage KIND     with --storage kubernetes: where deliveries, documents, dedup and
                          queues live, sqlite or postgres (needs --postgres-url)
                          (ORLOJ_DATA_STORAGE, default sqlite)
  --leader-election-namespace NS
                          with --storage kubernetes: namespace of the orlojd-leader Lease
                          (ORLOJ_LEADER_ELECTION_NAMESPACE, default the pod's, else default)
  --api-tokens LIST       tok:role,... with roles reader, writer, admin (ORLOJ_API_TOKENS);
                          without it (or --api-tokens-file) an admin token is generated
                          on first start
  --api-tokens-file PATH  the same list from a file, also one per line, # comments
                          (ORLOJ_API_TOKENS_FILE); keeps tokens out of ps
  --log-level LEVEL       trace|debug|info|warn|error|silent (ORLOJ_LOG_LEVEL, default info)
  --log-format FORMAT     json or pretty (ORLOJ_LOG_FORMAT; default pretty when stdout is a
                          terminal, JSON otherwise)
  --metrics-max-objects N receivers, and triggers, with metric series of their own; the rest
                          count under name="_other_" (ORLOJ_METRICS_MAX_OBJECTS, default 1000)
  --max-request-bytes N   API request body limit (ORLOJ_MAX_REQUEST_BYTES, default 3145728)
  --resync-seconds N      periodic full reconcile (ORLOJ_RESYNC_SECONDS, default 60)
  --delivery-retention N  delivery records kept, newest first (ORLOJ_DELIVERY_RETENTION, default 500000)
  --rejected-records-per-receiver N
                          rejected delivery records each receiver keeps, newest first; refusals
                          are still all counted (ORLOJ_REJECTED_RECORDS_PER_RECEIVER, default 1000)
  --hydration-workers N   hydration fetches run at once by this process (ORLOJ_HYDRATION_WORKERS, default 8)
  --allow-destinations CIDR,...
                          private, loopback or link-local ranges that triggers and sources may still reach,
                          e.g. 127.0.0.0/8,::1/128 (ORLOJ_ALLOW_DESTINATIONS, default none)
  -h, --help              show this help

Load limits (each also from ORLOJ_ and the flag in capitals, e.g. ORLOJ_MAX_CONNECTIONS):
  --max-connections N           open connections; more are closed on arrival (default 10000)
  --header-timeout-ms N         a request's headers must arrive within this, or 408 (default 10000)
  --request-timeout-ms N        its headers and body must arrive within this, or 408; a watch
                                streams on past it (default 30000)
  --keep-alive-timeout-ms N     an idle keep-alive connection is closed after this; keep it above
                                the idle timeout of a proxy in front (default 65000)
  --max-body-bytes-in-flight N  request bodies (API and deliveries) buffered at once; past it,
                                503 with Retry-After (default 268435456)
  --max-watches-per-token N     open watches per API token; past it, 429 (default 100)
  --watch-buffer-bytes N        unsent bytes a watch may hold before it is dropped as too slow;
                                the client resumes from its last revision (default 8388608)
  --watch-heartbeat-ms N        a quiet watch gets a blank line (SSE: a comment) this often
                                (default 15000)

Environment only:
  ORLOJ_ENCRYPTION_KEY    keys encrypting Secret data at rest: base64 of 32 bytes, or
                          id:base64, comma-separated; the first encrypts, all decrypt
                          (rotation: new,old). Without it orlojd keeps its keys in
                          DATA_DIR/encryption.key, generated on first start.
`;

/** Integer flags: name → default. Each also comes from ORLOJ_<NAME>. */
const INT_FLAGS = {
  'max-request-bytes': 3 * 1024 * 1024,
  'resync-seconds': 60,
  'delivery-retention': 500_000,
  'rejected-records-per-receiver': 1000,
  'hydration-workers': 8,
  'metrics-max-objects': 1000,
  'max-connections': 10_000,
  'header-timeout-ms': 10_000,
  'request-timeout-ms': 30_000,
  // Above the 60 s upstream idle timeout of common proxies (AWS ALB, nginx): orlojd speaks
  // plain HTTP, so senders reach it through one, and a proxy that reuses a connection the
  // server is closing turns a delivery into a 502.
  'keep-alive-timeout-ms': 65_000,
  'max-body-bytes-in-flight': 256 * 1024 * 1024,
  'max-watches-per-token': 100,
  'watch-buffer-bytes': 8 * 1024 * 1024,
  'watch-heartbeat-ms': 15_000,
};
type IntFlag = keyof typeof INT_FLAGS;

export class UsageError extends Error {}

export function parseListen(v: string): { host: string; port: number } {
  const m = v.match(/^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/);
  if (!m) throw new UsageError(`--listen must be HOST:PORT, got "${v}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError(`--listen port out of range: ${port}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

function intOptions(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<IntFlag, number> {
  const out = {} as Record<IntFlag, number>;
  for (const [name, def] of Object.entries(INT_FLAGS) as Array<[IntFlag, number]>) {
    const given = (values[name] as string | undefined) ?? env[`ORLOJ_${name.toUpperCase().replaceAll('-', '_')}`];
    out[name] = given === undefined ? def : positiveInt(name, given);
  }
  return out;
}

function limitsOf(n: Record<IntFlag, number>): HttpLimits {
  // Node refuses a header timeout longer than the whole request's.
  if (n['header-timeout-ms'] > n['request-timeout-ms']) throw new UsageError('--header-timeout-ms must not be longer than --request-timeout-ms');
  return {
    maxConnections: n['max-connections'],
    headerTimeoutMs: n['header-timeout-ms'],
    requestTimeoutMs: n['request-timeout-ms'],
    keepAliveTimeoutMs: n['keep-alive-timeout-ms'],
    maxBodyBytesInFlight: n['max-body-bytes-in-flight'],
    watch: { perToken: n['max-watches-per-token'], bufferBytes: n['watch-buffer-bytes'], heartbeatMs: n['watch-heartbeat-ms'] },
  };
}

const STRING_FLAGS = ['listen', 'data-dir', 'storage', 'postgres-url', 'kubeconfig', 'data-storage', 'leader-election-namespace', 'api-tokens', 'api-tokens-file', 'log-level', 'log-format', 'allow-destinations'];

function logFormatOf(v: string | undefined): LogFormat | undefined {
  if (v === undefined || v === '') return undefined;
  const format = LOG_FORMATS.find((f) => f === v);
  if (!format) throw new UsageError(`--log-format must be ${LOG_FORMATS.join(' or ')}, got "${v}"`);
  return format;
}

function oneOf<T extends string>(flag: string, kinds: readonly T[], v: string): T {
  const kind = kinds.find((k) => k === v);
  if (!kind) throw new UsageError(`--${flag} must be ${kinds.slice(0, -1).join(', ')} or ${kinds.at(-1)}, got "${v}"`);
  return kind;
}

/** A Kubernetes namespace name (RFC 1123 label). */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

type StorageOptions = Pick<DaemonOptions, 'storage' | 'dataStorage' | 'postgresUrl' | 'kubeconfig' | 'leaseNamespace'>;

/** --storage and the flags that only mean something with one of its kinds. */
function storageOptions(str: (name: string) => string | undefined, env: NodeJS.ProcessEnv): StorageOptions {
  const storage = oneOf('storage', STORAGE_KINDS, str('storage') ?? env.ORLOJ_STORAGE ?? 'sqlite');
  const given = {
    'data-storage': str('data-storage') ?? env.ORLOJ_DATA_STORAGE,
    kubeconfig: str('kubeconfig'),
    'leader-election-namespace': str('leader-election-namespace') ?? env.ORLOJ_LEADER_ELECTION_NAMESPACE,
  };
  if (storage !== 'kubernetes') {
    const stray = Object.entries(given).find(([, v]) => v !== undefined)?.[0];
    if (stray) throw new UsageError(`--${stray} applies only with --storage kubernetes (storage is ${storage})`);
  }
  const dataStorage = storage === 'kubernetes' ? oneOf('data-storage', DATA_STORAGE_KINDS, given['data-storage'] ?? 'sqlite') : storage;
  const namespace = given['leader-election-namespace'];
  if (namespace !== undefined && !NAMESPACE.test(namespace)) throw new UsageError(`--leader-election-namespace must be a Kubernetes namespace name, got "${namespace}"`);
  const kubeconfig = given.kubeconfig;
  if (kubeconfig === '') throw new UsageError('--kubeconfig needs a PATH');
  return { storage, dataStorage, postgresUrl: postgresUrlOf(storage, dataStorage, str('postgres-url'), env), kubeconfig, leaseNamespace: namespace };
}

function postgresUrlOf(storage: StorageKind, dataStorage: DataStorageKind, flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const url = flag ?? env.ORLOJ_POSTGRES_URL;
  const needs = storage === 'kubernetes' ? '--data-storage postgres' : '--storage postgres';
  // Kubernetes mode keeps its data in SQLite unless told otherwise: a URL given there was meant for something.
  if (storage === 'kubernetes' && dataStorage === 'sqlite' && flag !== undefined) throw new UsageError('--postgres-url applies only with --data-storage postgres under --storage kubernetes');
  if (dataStorage !== 'postgres') return url;
  if (!url) throw new UsageError(`${needs} needs --postgres-url URL (or ORLOJ_POSTGRES_URL)`);
  if (!/^postgres(ql)?:\/\/[^\s]+$/.test(url)) throw new UsageError('--postgres-url must be a postgres://user@host:port/database URL');
  return url;
}

/** Flags win over ORLOJ_* environment variables, which win over defaults. */
export function parseDaemonOptions(argv: string[], env: NodeJS.ProcessEnv): DaemonOptions | 'help' {
  let values: Record<string, unknown>;
  try {
    const options = Object.fromEntries([...STRING_FLAGS, ...Object.keys(INT_FLAGS)].map((f) => [f, { type: 'string' as const }]));
    ({ values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return 'help';
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const storage = storageOptions(str, env);
  const apiTokens = str('api-tokens') ?? env.ORLOJ_API_TOKENS;
  const apiTokensFile = str('api-tokens-file') ?? env.ORLOJ_API_TOKENS_FILE;
  if (apiTokens && apiTokensFile) throw new UsageError('give --api-tokens (ORLOJ_API_TOKENS) or --api-tokens-file (ORLOJ_API_TOKENS_FILE), not both');
  const n = intOptions(values, env);
  let allowDestinations: string[];
  try {
    allowDestinations = DestinationGuard.parse(str('allow-destinations') ?? env.ORLOJ_ALLOW_DESTINATIONS ?? '');
  } catch (e) {
    throw new UsageError(`--allow-destinations: ${(e as Error).message}`);
  }
  return {
    listen: parseListen(str('listen') ?? env.ORLOJ_LISTEN ?? '127.0.0.1:8080'),
    dataDir: str('data-dir') ?? env.ORLOJ_DATA_DIR ?? '.orloj',
    ...storage,
    apiTokens,
    apiTokensFile,
    encryptionKey: env.ORLOJ_ENCRYPTION_KEY,
    logLevel: str('log-level') ?? env.ORLOJ_LOG_LEVEL ?? 'info',
    logFormat: logFormatOf(str('log-format') ?? env.ORLOJ_LOG_FORMAT),
    metricsMaxObjects: n['metrics-max-objects'],
    maxRequestBytes: n['max-request-bytes'],
    resyncSeconds: n['resync-seconds'],
    deliveryRetention: n['delivery-retention'],
    limits: limitsOf(n),
    rejectedRecordsPerReceiver: n['rejected-records-per-receiver'],
    hydrationWorkers: n['hydration-workers'],
    allowDestinations,
  };
}

export { USAGE };
