// The process's destination guard, set once from --allow-destinations at start: apply-time
// checks (an IP-literal URL) and every outbound request judge by the same ranges.
import { DestinationGuard } from './guard.js';

let current = new DestinationGuard([]);

export function setDestinationPolicy(guard: DestinationGuard): void {
  current = guard;
}

export function destinationPolicy(): DestinationGuard {
  return current;
}
