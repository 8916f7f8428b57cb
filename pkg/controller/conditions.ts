import type { Condition, ConditionStatus } from '../api/types.js';

import { now } from '../api/meta.js';

export { now };

/** Sets a condition; its lastTransitionTime (`at`, or now) moves only when its status changes. */
export function setCondition(
  conditions: Condition[] | undefined,
  c: { type: string; status: ConditionStatus; reason: string; message: string; observedGeneration?: number },
  at?: string,
): Condition[] {
  const list = conditions ?? [];
  const prev = list.find((x) => x.type === c.type);
  const next: Condition = { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : (at ?? now()) };
  return [...list.filter((x) => x.type !== c.type), next];
}

export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Ready=status with the given reason/message, stamped with the generation it describes. */
export function ready(conditions: Condition[] | undefined, status: ConditionStatus, reason: string, message: string, generation: number, at?: string): Condition[] {
  return setCondition(conditions, { type: 'Ready', status, reason, message, observedGeneration: generation }, at);
}
