import type { Orlojd } from './orlojd.js';

export interface Line {
  type: string;
  object: {
    kind: string;
    metadata: { name: string; resourceVersion: string; generation?: number; labels?: Record<string, string> };
    spec: Record<string, unknown> & { input?: Record<string, unknown> };
    status: Record<string, unknown>;
  };
}

/** Opens a watch (on tasks unless `plural` says otherwise) and collects its events until closed (`ended`). */
export async function openWatch(d: Orlojd, query: string, accept?: string, plural = 'tasks') {
  const ctl = new AbortController();
  const res = await fetch(`${d.url}/v1/${plural}?watch=true&${query}`, {
    headers: { authorization: `Bearer ${d.token}`, ...(accept ? { accept } : {}) },
    signal: ctl.signal,
  });
  const events: Line[] = [];
  const raw: string[] = [];
  const waiters: Array<() => void> = [];
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk);
        raw.push(decoder.decode(chunk));
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line.startsWith('{')) events.push(JSON.parse(line) as Line);
          else if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)) as Line);
          waiters.splice(0).forEach((w) => w());
        }
      }
    } catch {
      // aborted
    }
  })();
  const waitFor = async (n: number, ms = 3000): Promise<Line[]> => {
    const end = Date.now() + ms;
    while (events.length < n) {
      if (Date.now() > end) throw new Error(`only ${events.length} of ${n} watch events`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return events;
  };
  return { res, events, waitFor, raw, ended, close: () => ctl.abort() };
}
