/**
 * Prometheus counters and histograms for the per-message path.
 *
 * A counter: prom-client's own `inc` validates the label
 * names and hashes the label set on every call; here `inc` adds to a plain number per label set,
 * and the sums reach prom-client when the registry is read (its `collect` hook), once per label
 * set per scrape. What a scrape shows is exactly what was counted before it.
 *
 * The pending sums are bounded by the label sets in use, which are closed sets (see metrics.ts),
 * and emptied by every scrape.
 */
import { Counter, Histogram, type CounterConfiguration, type HistogramConfiguration, type LabelValues } from 'prom-client';

type Pending<T extends string> = { labels: LabelValues<T>; count: number };

/**
 * The pending sums, found by the label values in the order of the label names, one map per name:
 * an increment walks a few maps by values that are mostly constants, where a key made of the values
 * would be a new string to build and hash on every call.
 */
type Level<Leaf> = Map<unknown, Level<Leaf> | Leaf>;

/** The key of a label the call did not give (a series of its own, apart from an empty value). */
const absent = Symbol('absent');

export class TalliedCounter<T extends string = string> extends Counter<T> {
  readonly #names: readonly T[];
  #pending: Level<Pending<T>> = new Map();
  /** Every pending sum, for the flush. */
  #sums: Pending<T>[] = [];
  /** prom-client's own increment, which the flush uses. */
  readonly #add: (labels: LabelValues<T>, value: number) => void;

  constructor(configuration: Omit<CounterConfiguration<T>, 'collect' | 'enableExemplars'>) {
    super({
      ...configuration,
      // prom-client calls this with the metric as `this` before every read.
      collect(this: Counter<T>) {
        (this as TalliedCounter<T>).flush();
      },
    });
    this.#names = [...(configuration.labelNames ?? [])];
    const add = this.inc.bind(this) as (labels: LabelValues<T>, value: number) => void;
    this.#add = add;
    this.inc = this.#tally as Counter<T>['inc'];
  }

  /** Hands the sums counted since the last read to prom-client. */
  flush(): void {
    const sums = this.#sums;
    this.#forget();
    for (const { labels, count } of sums) this.#add(labels, count);
  }

  override reset(): void {
    // prom-client's constructor resets too, before this class's fields exist.
    if (#pending in this) this.#forget();
    super.reset();
  }

  override remove(...labels: unknown[]): void {
    // What was counted before the removal goes with the series.
    this.flush();
    (super.remove as (...labels: unknown[]) => void).apply(this, labels);
  }

  #forget(): void {
    this.#pending = new Map();
    this.#sums = [];
  }

  readonly #tally = (labelsOrValue?: LabelValues<T> | number, value?: number): void => {
    const labels: LabelValues<T> = typeof labelsOrValue === 'object' ? labelsOrValue : {};
    const by = typeof labelsOrValue === 'object' ? (value ?? 1) : (labelsOrValue ?? 1);
    if (!Number.isFinite(by) || by < 0) throw new RangeError(`a counter only grows by a finite amount of at least 0, not ${by}`);
    const unknown = unknownLabelOf(this.#names, labels);
    if (unknown !== null) throw new Error(`label "${unknown}" is not one of ${this.#names.join(', ') || 'no labels'}`);
    const level = levelFor(this.#pending, this.#names, labels);
    const leafKey = leafKeyOf(this.#names, labels);
    const pending = level.get(leafKey) as Pending<T> | undefined;
    if (pending !== undefined) {
      pending.count += by;
      return;
    }
    const sum: Pending<T> = { labels: { ...labels }, count: by };
    level.set(leafKey, sum);
    this.#sums.push(sum);
  };
}

/** One series of a histogram as prom-client keeps it: a count per bucket, by the bucket's bound as a key. */
type Series = { labels: object; bucketValues: Record<string, number>; sum: number; count: number };

/** What a `TalliedHistogram` reads of prom-client's `Histogram` beyond its typed API. */
type HistogramInternals = { upperBounds: readonly number[]; hashMap: Record<string, Series> };

/**
 * A Prometheus histogram for the per-message path. prom-client's own `observe` checks the label
 * names, hashes the label set into a key and turns the bucket's bound into a property name on every
 * call. Here an observation finds its series through one map per label name, by the values' text
 * (as prom-client's key has them), and adds to the very series prom-client keeps and exposes, so a
 * scrape, `reset`, `remove` and `zero` work as they do on a `Histogram`. A label set seen for the
 * first time, or one with a label that is not the histogram's, is observed through prom-client's
 * own `observe`, which checks it (and throws for the unknown label) and makes its series. A
 * `labels()` child observes through prom-client's own path: hand the labels to `observe` on the
 * per-message path instead. The series' shape and key are prom-client's, not its typed API: the
 * tests check the two against each other.
 */
export class TalliedHistogram<T extends string = string> extends Histogram<T> {
  readonly #names: readonly T[];
  /** The label names in prom-client's order for a series' key. */
  readonly #sortedNames: readonly T[];
  readonly #bounds: readonly number[];
  /** The property of each bucket in a series' `bucketValues`. */
  readonly #keys: readonly string[];
  /** prom-client's own observe. */
  readonly #observe: (labels: LabelValues<T>, value: number) => void;
  #series: Level<Series> = new Map();

  constructor(configuration: Omit<HistogramConfiguration<T>, 'collect' | 'enableExemplars'>) {
    super(configuration);
    this.#names = [...(configuration.labelNames ?? [])];
    this.#sortedNames = [...this.#names].sort();
    this.#bounds = [...(this as unknown as HistogramInternals).upperBounds];
    this.#keys = this.#bounds.map(String);
    this.#observe = this.observe.bind(this) as (labels: LabelValues<T>, value: number) => void;
    this.observe = this.#tally as Histogram<T>['observe'];
  }

  override reset(): void {
    // prom-client's constructor resets too, before this class's fields exist.
    if (#series in this) this.#series = new Map();
    super.reset();
  }

  override remove(...labels: unknown[]): void {
    this.#series = new Map();
    (super.remove as (...labels: unknown[]) => void).apply(this, labels);
  }

  override zero(labels: LabelValues<T>): void {
    this.#series = new Map();
    super.zero(labels);
  }

  readonly #tally = (labelsOrValue: LabelValues<T> | number, value?: number): void => {
    const labels: LabelValues<T> = typeof labelsOrValue === 'object' ? labelsOrValue : {};
    const observed = typeof labelsOrValue === 'object' ? value : labelsOrValue;
    if (typeof observed !== 'number' || !Number.isFinite(observed)) throw new TypeError(`a histogram observes finite numbers, not ${String(observed)}`);
    const level = levelFor(this.#series, this.#names, labels);
    const leafKey = leafKeyOf(this.#names, labels);
    const series = level.get(leafKey) as Series | undefined;
    if (series === undefined || unknownLabelOf(this.#names, labels) !== null) {
      this.#observe(labels, observed);
      level.set(leafKey, this.#seriesOf(labels));
      return;
    }
    series.sum += observed;
    series.count += 1;
    const bounds = this.#bounds;
    for (let index = 0; index < bounds.length; index += 1) {
      if (observed <= bounds[index]!) {
        series.bucketValues[this.#keys[index]!]! += 1;
        return;
      }
    }
  };

  /** The series prom-client keeps for `labels` (it has just observed them, so there is one), found by prom-client's key. */
  #seriesOf(labels: LabelValues<T>): Series {
    let key = '';
    for (const name of this.#sortedNames) if (labels[name] !== undefined) key += `${name}:${labels[name]},`;
    const series = (this as unknown as HistogramInternals).hashMap[key];
    if (series === undefined) throw new Error(`prom-client keeps no series for ${JSON.stringify(labels)} after observing it`);
    return series;
  }
}

/** The level that holds the leaf of `labels`: one map per label name but the last, by its value (made as needed). */
function levelFor<Leaf>(root: Level<Leaf>, names: readonly string[], labels: LabelValues<string>): Level<Leaf> {
  let level = root;
  for (let index = 0; index < names.length - 1; index += 1) {
    const key = keyOf(labels[names[index]!]);
    let next = level.get(key) as Level<Leaf> | undefined;
    if (next === undefined) level.set(key, (next = new Map()));
    level = next;
  }
  return level;
}

/** The key of the leaf of `labels` in its level: the value of the last label name. */
function leafKeyOf(names: readonly string[], labels: LabelValues<string>): unknown {
  return names.length === 0 ? absent : keyOf(labels[names[names.length - 1]!]);
}

/** A label `labels` names that is not one of `names` (prom-client refuses it), or null. */
function unknownLabelOf(names: readonly string[], labels: object): string | null {
  for (const name of Object.keys(labels)) if (!names.includes(name)) return name;
  return null;
}

/** A label's value as a key of a level: its text, as in prom-client's key, or `absent` when it is not given. */
function keyOf(value: string | number | undefined): unknown {
  if (value === undefined) return absent;
  return typeof value === 'string' ? value : String(value);
}
