// The labelled objects of one kind of metric (receivers, triggers): a tally per object, found
// by its uid with one Map lookup. Label values come only from configured objects, and at most
// `max` objects get series of their own: the rest count under an `_other_` tally, so a
// thousand receivers cannot make a million series. A deleted object's series go with it.
import { Tally, type Labels } from './tally.js';

export const OTHER = '_other_';

/** Deleted uids remembered, so that work still under way for one does not give it series again. */
const GONE_REMEMBERED = 1024;

export interface FamilyOptions<T> {
  /** Objects that get series of their own. */
  max: number;
  bounds: readonly number[];
  labelsOf(o: T): Labels;
  /** The labels of the tally that objects past `max` count under (one per distinct value, e.g. per kind). */
  otherOf(labels: Labels): Labels;
}

export class Family<T> {
  /** Objects with series of their own, by uid. */
  private readonly own = new Map<string, Tally>();
  /** Objects past `max`, by uid: the `_other_` tally each counts under. */
  private readonly folded = new Map<string, Tally>();
  private readonly others = new Map<string, Tally>();
  /** What deleted objects counted, by their `_other_` labels: aggregates (totals by kind) never go down. */
  private readonly retired = new Map<string, Tally>();
  private readonly gone = new Set<string>();

  constructor(private readonly opts: FamilyOptions<T>) {}

  get bounds(): readonly number[] {
    return this.opts.bounds;
  }

  /** The hot path: one Map lookup once the object has its tally. */
  of(uid: string, o: T): Tally {
    return this.own.get(uid) ?? this.folded.get(uid) ?? this.slot(uid, this.opts.labelsOf(o));
  }

  /** The tally of the object `uid`, labelled `labels` if it gets series of its own. */
  slot(uid: string, labels: Labels): Tally {
    const had = this.own.get(uid) ?? this.folded.get(uid);
    if (had) return had;
    if (this.gone.has(uid)) return keyed(this.retired, this.opts.otherOf(labels), this.opts.bounds);
    if (this.own.size < this.opts.max) {
      const t = new Tally(labels, this.opts.bounds);
      this.own.set(uid, t);
      return t;
    }
    const t = keyed(this.others, this.opts.otherOf(labels), this.opts.bounds);
    this.folded.set(uid, t);
    return t;
  }

  isGone(uid: string): boolean {
    return this.gone.has(uid);
  }

  /** A deleted object: its series go; what it counted stays in the aggregates. */
  drop(uid: string): void {
    this.gone.add(uid);
    if (this.gone.size > GONE_REMEMBERED) this.gone.delete(this.gone.values().next().value!);
    this.folded.delete(uid);
    const t = this.own.get(uid);
    if (!t) return;
    this.own.delete(uid);
    keyed(this.retired, this.opts.otherOf(t.labels), this.opts.bounds).add(t);
  }

  /** The tallies with series: each labelled object's, then the `_other_` ones. */
  *series(): Iterable<Tally> {
    yield* this.own.values();
    yield* this.others.values();
  }

  /** Everything counted since the start, deleted objects included, for totals. */
  *everything(): Iterable<Tally> {
    yield* this.series();
    yield* this.retired.values();
  }
}

function keyed(map: Map<string, Tally>, labels: Labels, bounds: readonly number[]): Tally {
  const key = Object.values(labels).join('\n');
  let t = map.get(key);
  if (!t) map.set(key, (t = new Tally(labels, bounds)));
  return t;
}
