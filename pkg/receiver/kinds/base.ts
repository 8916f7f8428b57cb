import type { StoredResource } from '../../api/types.js';

/** `Kind/namespace/name`, as delivery records name a receiver. */
export const ownerOf = (o: StoredResource): string => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;

/**
 * What every compiled receiver keeps of its object. A class rather than closures:
 * thousands of receivers share their kind's methods.
 */
export abstract class ReceiverBase {
  readonly owner: string;
  readonly object: StoredResource;
  readonly maxBodyBytes: number;
  readonly suspended: boolean;

  constructor(w: StoredResource, spec: { max_body_bytes: number; suspend: boolean }) {
    this.owner = ownerOf(w);
    // Status (counters, errors) is not needed here and changes every second.
    this.object = { ...w, status: {} };
    this.maxBodyBytes = spec.max_body_bytes;
    this.suspended = spec.suspend;
  }
}
