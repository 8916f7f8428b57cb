import { getProfile, resolveOptions } from '../../pkg/receiver/profiles/index.js';
import { put, readyOf, readyWebhook, resource, secret } from './fixtures.js';
import { eventually, Orlojd } from './orlojd.js';

export interface CrashOptions {
  /** What each delivery writes: a run task (TaskWebhook, the default) or a document (InboundWebhook). */
  receiver?: 'task-webhook' | 'inbound-webhook';
  deliveries: number;
  kills: number;
  concurrency: number;
  log?: (line: string) => void;
}

export interface CrashReport {
  acked: number;
  kills: number;
  retries: number;
  /** Acked events without a run task or document (must be 0). */
  missing: string[];
  /** Events with more than one run task, or a document written more than once (must be 0). */
  doubled: string[];
  /** Run tasks or documents written. */
  tasks: number;
}

/** Each event's writes: run tasks per event id, or (documents are keyed by the event id) versions per document. */
async function writesPerEvent(d: Orlojd, receiver: CrashOptions['receiver']): Promise<Map<string, number>> {
  const perEvent = new Map<string, number>();
  const inbound = receiver === 'inbound-webhook';
  const path = inbound ? '/v1/collections/crash/documents?limit=1000' : '/v1/tasks?labelSelector=orloj.dev/task-webhook%3Dcrash&limit=1000';
  let cont: string | undefined;
  do {
    const page = (await d.api('GET', `${path}${cont ? `&continue=${cont}` : ''}`)).body;
    for (const item of page.items as Array<{ id: string; meta: { version: number }; spec: { input: { webhook_event_id: string } } }>) {
      if (inbound) perEvent.set(item.id, item.meta.version);
      else perEvent.set(item.spec.input.webhook_event_id, (perEvent.get(item.spec.input.webhook_event_id) ?? 0) + 1);
    }
    cont = page.metadata.continue;
  } while (cont);
  return perEvent;
}

async function readyReceiver(d: Orlojd, receiver: CrashOptions['receiver']): Promise<string> {
  if (receiver !== 'inbound-webhook') return readyWebhook(d, 'crash', SECRET);
  await put(d, secret('crash-secret', { value: SECRET }));
  await put(d, resource('Collection', 'crash', { schema: { type: 'object', required: ['id'] } }));
  await put(d, resource('InboundWebhook', 'crash', { collection: 'crash', secret_ref: 'crash-secret' }));
  return eventually(async () => {
    const w = (await d.api('GET', '/v1/inbound-webhooks/crash')).body;
    return readyOf(w)?.status === 'True' ? (w.status.endpointPath as string) : undefined;
  });
}

const SECRET = 'crash-secret';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kill points: random acknowledged counts, one in each equal slice of the run. */
function killPoints(deliveries: number, kills: number): number[] {
  const slice = deliveries / (kills + 1);
  return Array.from({ length: kills }, (_, i) => Math.floor(slice * (i + 0.5 + Math.random())));
}

/**
 * A retrying sender pushes `deliveries` distinct events while orlojd is SIGKILLed and
 * restarted; afterwards every acknowledged event must have exactly one run task (or one
 * document, written once).
 */
export async function runCrashScenario(o: CrashOptions): Promise<CrashReport> {
  const d = await Orlojd.start();
  try {
    const ep = await readyReceiver(d, o.receiver);
    const profile = getProfile('generic')!;
    const opts = resolveOptions(profile, {});
    const acked = new Set<string>();
    let next = 0;
    let retries = 0;
    let sending = true;

    const sendOnce = async (eventId: string): Promise<boolean> => {
      const body = JSON.stringify({ id: eventId, n: Math.random() });
      const headers = { 'content-type': 'application/json', ...profile.sign(Buffer.from(body), Buffer.from(SECRET), opts, Date.now(), eventId) };
      try {
        const res = await fetch(d.url + ep, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        return res.status === 202;
      } catch {
        return false;
      }
    };
    const sender = async (): Promise<void> => {
      while (next < o.deliveries) {
        const eventId = `evt-${next++}`;
        while (!(await sendOnce(eventId))) {
          retries++;
          await sleep(20);
        }
        acked.add(eventId);
      }
    };
    const points = killPoints(o.deliveries, o.kills);
    const killer = async (): Promise<number> => {
      let kills = 0;
      while (sending && kills < o.kills) {
        if (acked.size < points[kills]!) {
          await sleep(1);
          continue;
        }
        await d.kill9();
        kills++;
        o.log?.(`kill -9 #${kills} after ${acked.size} acked`);
        await d.restart();
      }
      return kills;
    };
    const killing = killer();
    await Promise.all(Array.from({ length: o.concurrency }, sender));
    sending = false;
    const kills = await killing;
    // Every tenth acknowledged event once more, as a sender retrying after a lost answer
    // would: the claims survived the kills, so these write nothing.
    for (const id of [...acked].filter((_, i) => i % 10 === 0)) await sendOnce(id);

    const perEvent = await writesPerEvent(d, o.receiver);
    return {
      acked: acked.size,
      kills,
      retries,
      missing: [...acked].filter((id) => !perEvent.has(id)),
      doubled: [...perEvent].filter(([, n]) => n > 1).map(([id]) => id),
      tasks: [...perEvent.values()].reduce((a, b) => a + b, 0),
    };
  } finally {
    await d.destroy();
  }
}
