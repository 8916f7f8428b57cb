// Metrics per receiver and per trigger: tallies the delivery and attempt paths add to, turned
// into series when /metrics is read, and queue depths read from the store at that time.
import type { Registry } from 'prom-client';
import { byOutcome, readGauge, tallyCounter, tallyHistogram } from './collectors.js';
import { Family, OTHER } from './family.js';
import { sumBy, Tally, type Labels } from './tally.js';

export { OTHER } from './family.js';

/** What per-object series are labelled from: a receiver's or a trigger's configured object. */
export interface Labelled {
  readonly object: { readonly kind: string; readonly metadata: { readonly namespace: string; readonly name: string } };
}

/** Reads the gauge values of a queue (from the store) when /metrics is read. */
export type DepthReader = () => Promise<Iterable<[Labels, number]>>;

const DELIVERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];
const ATTEMPT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15];

export const receiverLabels = (kind: string, namespace: string, name: string): Labels => ({ kind, namespace, name });

export function objectMetrics(registry: Registry, max: number) {
  const receivers = new Family<Labelled>({
    max,
    bounds: DELIVERY_BUCKETS,
    labelsOf: (r) => receiverLabels(r.object.kind, r.object.metadata.namespace, r.object.metadata.name),
    otherOf: (l) => receiverLabels(l.kind ?? '', '', OTHER),
  });
  const triggers = new Family<Labelled>({
    max,
    bounds: ATTEMPT_BUCKETS,
    labelsOf: (t) => ({ trigger: `${t.object.metadata.namespace}/${t.object.metadata.name}` }),
    otherOf: () => ({ trigger: OTHER }),
  });
  /** Deliveries to no receiver (an unknown endpoint, a wrong method): never labelled from the request. */
  const unknownEndpoint = new Tally(receiverLabels('unknown', '', ''), DELIVERY_BUCKETS);
  const depths: { triggers?: DepthReader; hydration?: DepthReader } = {};
  const receiverSeries = () => [unknownEndpoint, ...receivers.series()];
  const allDeliveries = () => [unknownEndpoint, ...receivers.everything()];
  const def = (name: string, help: string, labelNames: readonly string[] = []) => ({ registry, name, help, labelNames });

  tallyCounter(def('orloj_webhook_deliveries_total', 'Inbound webhook deliveries by receiver kind and outcome', ['kind', 'outcome']),
    () => sumBy(allDeliveries(), ['kind'], DELIVERY_BUCKETS), byOutcome);
  tallyHistogram(def('orloj_webhook_delivery_duration_seconds', 'Time from request to answer for inbound deliveries'), DELIVERY_BUCKETS,
    () => sumBy([new Tally({}, DELIVERY_BUCKETS), ...allDeliveries()], [], DELIVERY_BUCKETS));
  tallyCounter(def('orloj_receiver_deliveries_total', `Inbound webhook deliveries by receiver and outcome (kind="unknown" for no receiver, name="${OTHER}" past --metrics-max-objects)`, ['kind', 'namespace', 'name', 'outcome']),
    receiverSeries, byOutcome);
  tallyHistogram(def('orloj_receiver_delivery_duration_seconds', 'Time from request to answer for inbound deliveries, by receiver', ['kind', 'namespace', 'name']), DELIVERY_BUCKETS,
    receiverSeries);

  tallyCounter(def('orloj_trigger_attempts_total', 'Outbound trigger attempts by trigger (namespace/name) and outcome', ['trigger', 'outcome']),
    () => triggers.series(), byOutcome);
  tallyHistogram(def('orloj_trigger_attempt_duration_seconds', 'Time from sending a trigger attempt to its answer (or failure), by trigger', ['trigger']), ATTEMPT_BUCKETS,
    () => triggers.series());
  tallyCounter(def('orloj_trigger_retries_total', 'Trigger attempts after the first of their message, by trigger', ['trigger']),
    () => triggers.series(), (t) => [[t.labels, t.retries]]);
  readGauge(def('orloj_trigger_queue_depth', 'Messages of each trigger waiting to be sent, being sent or to be retried (on the leader)', ['trigger']),
    async () => (depths.triggers ? depths.triggers() : []));
  readGauge(def('orloj_hydration_queue_depth', 'Hydration jobs of each inbound webhook (namespace/name) waiting, running or to be retried (on the leader)', ['webhook']),
    async () => (depths.hydration ? depths.hydration() : []));

  return { receivers, unknownEndpoint, triggers, depths };
}
