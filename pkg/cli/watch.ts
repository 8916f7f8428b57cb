import type { Client, Query } from './client.js';
import { CliError } from './errors.js';
import type { Obj } from './table.js';

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR';
  object: Obj;
}

async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<WatchEvent> {
  const chunks = body[Symbol.asyncIterator]();
  try {
    yield* lines(chunks);
  } finally {
    // A consumer that stops early (wait, once satisfied) closes the connection.
    await chunks.return?.().catch(() => undefined);
  }
}

async function* lines(chunks: AsyncIterator<Uint8Array>): AsyncGenerator<WatchEvent> {
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await chunks.next();
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      return; // the connection dropped: the stream just ends, and callers reconnect
    }
    if (next.done) return;
    const chunk = next.value;
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      const e = JSON.parse(line) as WatchEvent;
      if (e.type === 'ERROR') {
        const s = e.object as { reason?: string; message?: string };
        throw new CliError(`watch failed: ${s.reason ?? 'error'}: ${s.message ?? line}`);
      }
      yield e;
    }
  }
}

/**
 * Opens a watch and resolves once the server has answered, so the caller knows changes
 * from now on will reach it; the events arrive as the server pushes them.
 */
export async function openWatch(client: Client, path: string, query: Query, signal?: AbortSignal): Promise<AsyncGenerator<WatchEvent>> {
  const res = await client.fetch('GET', path, { ...query, watch: 'true' }, undefined, signal);
  if (!res.body) throw new CliError('watch: the server sent no body');
  return events(res.body);
}

export interface ListReply {
  metadata?: { resourceVersion?: string; continue?: string };
  items: Obj[];
}

/** Lists every page (following `continue`), keeping the first page's resourceVersion. */
export async function listAll(client: Client, path: string, query: Query): Promise<{ items: Obj[]; resourceVersion?: string }> {
  const items: Obj[] = [];
  let rv: string | undefined;
  let cont: string | undefined;
  do {
    const page = await client.get<ListReply>(path, { ...query, continue: cont });
    items.push(...page.items);
    rv ??= page.metadata?.resourceVersion;
    cont = page.metadata?.continue;
  } while (cont);
  return { items, resourceVersion: rv };
}
