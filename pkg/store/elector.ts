import type { Elector } from './types.js';

/** One process: always the leader. A shared store brings its own elector. */
export function singleProcessElector(): Elector {
  return {
    isLeader: () => true,
    onChange(fn) {
      fn(true);
      return () => undefined;
    },
    close: async () => undefined,
  };
}

/**
 * What every elector of replicas shares: whether this process leads, and who hears of a
 * change. Listeners hear the current state once, on a microtask, as they subscribe.
 */
export abstract class LeadershipState {
  protected leader = false;
  private readonly listeners = new Set<(leader: boolean) => void>();

  isLeader(): boolean {
    return this.leader;
  }

  onChange(fn: (leader: boolean) => void): () => void {
    this.listeners.add(fn);
    queueMicrotask(() => this.listeners.has(fn) && fn(this.leader));
    return () => void this.listeners.delete(fn);
  }

  /** Whether it changed. */
  protected set(leader: boolean): boolean {
    if (leader === this.leader) return false;
    this.leader = leader;
    for (const fn of this.listeners) fn(leader);
    return true;
  }
}
