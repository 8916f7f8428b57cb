/**
 * A Bloom filter over committed dedup keys. "No" is certain, so a new event skips the
 * dedup read on the main connection (whose page cache every writer commit invalidates);
 * "maybe" falls through to the read. Keys are only ever added: an expired or pruned key
 * costs one extra read, never a wrong answer.
 */
export class DedupFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;
  count = 0;

  /** `capacity` keys at about 1% false positives (10 bits a key, 7 probes). */
  constructor(readonly capacity: number) {
    const bitCount = 2 ** Math.ceil(Math.log2(Math.max(capacity, 1024) * 10));
    this.bits = new Uint32Array(bitCount / 32);
    this.mask = bitCount - 1;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  add(key: string): void {
    const [h1, h2] = hashes(key);
    for (let i = 0; i < 7; i++) {
      const b = (h1 + i * h2) & this.mask;
      this.bits[b >>> 5]! |= 1 << (b & 31);
    }
    this.count++;
  }

  mightContain(key: string): boolean {
    const [h1, h2] = hashes(key);
    for (let i = 0; i < 7; i++) {
      const b = (h1 + i * h2) & this.mask;
      if ((this.bits[b >>> 5]! & (1 << (b & 31))) === 0) return false;
    }
    return true;
  }
}

/** Two FNV-1a variants for double hashing; cheap on short ASCII keys. */
function hashes(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return [a >>> 0, (b >>> 0) | 1];
}

export const dedupKey = (ownerUid: string, eventId: string): string => `${ownerUid}\u0000${eventId}`;
