// The ceiling: the shared node:http receiver with nothing behind it, so no routing, dedup or
// storage. Run as its own process: `node baseline-server.js SECRET`.
import { serveDeliveries } from './hmac-server.js';

serveDeliveries(process.argv[2] ?? 'bench-secret', () => ({ duplicate: false, task: 'baseline' }));
