// A deleted receiver's or trigger's series go with it: every replica hears of the deletion
// through its watch of the kind.
import type { ControlPlaneStore } from '../store/types.js';
import type { Family } from './family.js';
import type { Labelled } from './objects.js';

/** Drops the series of deleted objects from the family of their kind. */
export async function forgetDeleted(control: ControlPlaneStore, families: ReadonlyMap<string, Family<Labelled>>): Promise<() => void> {
  const stops = await Promise.all(
    [...families].map(([kind, family]) => control.watch({ kind }, undefined, (e) => {
      if (e.type === 'DELETED') family.drop(e.object.metadata.uid);
    })),
  );
  return () => stops.forEach((stop) => stop());
}
