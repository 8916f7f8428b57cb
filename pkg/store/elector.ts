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
