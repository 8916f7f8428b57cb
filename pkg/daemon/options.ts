import { parseArgs } from 'node:util';

export interface DaemonOptions {
  listen: { host: string; port: number };
  dataDir: string;
  storage: 'sqlite' | 'postgres';
  postgresUrl?: string;
  apiTokens?: string;
  /** A file of tokens in the --api-tokens format, also one per line: tokens need not show in `ps`. */
  apiTokensFile?: string;
  /** ORLOJ_ENCRYPTION_KEY (environment only): the key set that seals Secret data. */
  encryptionKey?: string;
  logLevel: string;
  maxRequestBytes: number;
  resyncSeconds: number;
  deliveryRetention: number;
}

const USAGE = `Usage: orlojd [flags]

  --listen HOST:PORT      address to serve on (ORLOJ_LISTEN, default 127.0.0.1:8080)
  --data-dir DIR          where the embedded store lives (ORLOJ_DATA_DIR, default ./.orloj)
  --storage KIND          sqlite (ORLOJ_STORAGE, default sqlite)
  --postgres-url URL      PostgreSQL connection string (ORLOJ_POSTGRES_URL)
  --api-tokens LIST       tok:role,... with roles reader, writer, admin (ORLOJ_API_TOKENS);
                          without it (or --api-tokens-file) an admin token is generated
                          on first start
  --api-tokens-file PATH  the same list from a file, also one per line, # comments
                          (ORLOJ_API_TOKENS_FILE); keeps tokens out of ps
  --log-level LEVEL       trace|debug|info|warn|error|silent (ORLOJ_LOG_LEVEL, default info)
  --max-request-bytes N   API request body limit (ORLOJ_MAX_REQUEST_BYTES, default 3145728)
  --resync-seconds N      periodic full reconcile (ORLOJ_RESYNC_SECONDS, default 60)
  --delivery-retention N  delivery records kept, newest first (ORLOJ_DELIVERY_RETENTION, default 500000)
  -h, --help              show this help

Environment only:
  ORLOJ_ENCRYPTION_KEY    keys encrypting Secret data at rest: base64 of 32 bytes, or
                          id:base64, comma-separated; the first encrypts, all decrypt
                          (rotation: new,old). Without it orlojd keeps its keys in
                          DATA_DIR/encryption.key, generated on first start.
`;

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
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

/** Flags win over ORLOJ_* environment variables, which win over defaults. */
export function parseDaemonOptions(argv: string[], env: NodeJS.ProcessEnv): DaemonOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string' },
        'data-dir': { type: 'string' },
        storage: { type: 'string' },
        'postgres-url': { type: 'string' },
        'api-tokens': { type: 'string' },
        'api-tokens-file': { type: 'string' },
        'log-level': { type: 'string' },
        'max-request-bytes': { type: 'string' },
        'resync-seconds': { type: 'string' },
        'delivery-retention': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return 'help';
  const storage = values.storage ?? env.ORLOJ_STORAGE ?? 'sqlite';
  if (storage !== 'sqlite' && storage !== 'postgres') throw new UsageError(`--storage must be sqlite or postgres, got "${storage}"`);
  if (storage === 'postgres') throw new UsageError('--storage postgres is not available in this version; use sqlite');
  const apiTokens = values['api-tokens'] ?? env.ORLOJ_API_TOKENS;
  const apiTokensFile = values['api-tokens-file'] ?? env.ORLOJ_API_TOKENS_FILE;
  if (apiTokens && apiTokensFile) throw new UsageError('give --api-tokens (ORLOJ_API_TOKENS) or --api-tokens-file (ORLOJ_API_TOKENS_FILE), not both');
  return {
    listen: parseListen(values.listen ?? env.ORLOJ_LISTEN ?? '127.0.0.1:8080'),
    dataDir: values['data-dir'] ?? env.ORLOJ_DATA_DIR ?? '.orloj',
    storage,
    postgresUrl: values['postgres-url'] ?? env.ORLOJ_POSTGRES_URL,
    apiTokens,
    apiTokensFile,
    encryptionKey: env.ORLOJ_ENCRYPTION_KEY,
    logLevel: values['log-level'] ?? env.ORLOJ_LOG_LEVEL ?? 'info',
    maxRequestBytes: positiveInt('max-request-bytes', values['max-request-bytes'] ?? env.ORLOJ_MAX_REQUEST_BYTES ?? '3145728'),
    resyncSeconds: positiveInt('resync-seconds', values['resync-seconds'] ?? env.ORLOJ_RESYNC_SECONDS ?? '60'),
    deliveryRetention: positiveInt('delivery-retention', values['delivery-retention'] ?? env.ORLOJ_DELIVERY_RETENTION ?? '500000'),
  };
}

export { USAGE };
