/**
 * A Prometheus counter for the per-message path. prom-client's own `inc` validates the label
 * names and hashes the label set on every call; here `inc` adds to a plain number per label set,
 * and the sums reach prom-client when the registry is read (its `collect` hook), once per label
 * set per scrape. What a scrape shows is exactly what was counted before it.
 *
 * The pending sums are bounded by the label sets in use, which are closed sets (see metrics.ts),
 * and emptied by every scrape.
 */
import { Counter, type CounterConfiguration, type LabelValues } from 'prom-client';

type Pending<T extends string> = { labels: LabelValues<T>; count: number };

/**
 * The pending sums, found by the label values in the order of the label names, one map per name:
 * an increment walks a few maps by values that are mostly constants, where a key made of the values
 * would be a new string to build and hash on every call.
 */
type Level<T extends string> = Map<unknown, Level<T> | Pending<T>>;

/** The key of a label the call did not give (a series of its own, apart from an empty value). */
const absent = Symbol('absent');

export class TalliedCounter<T extends string = string> extends Counter<T> {
  readonly #names: readonly T[];
  #pending: Level<T> = new Map();
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

  #forget(): void {
    this.#pending = new Map();
    this.#sums = [];
  }

  readonly #tally = (labelsOrValue?: LabelValues<T> | number, value?: number): void => {
    const labels: LabelValues<T> = typeof labelsOrValue === 'object' ? labelsOrValue : {};
    const by = typeof labelsOrValue === 'object' ? (value ?? 1) : (labelsOrValue ?? 1);
    if (!Number.isFinite(by) || by < 0) throw new RangeError(`a counter only grows by a finite amount of at least 0, not ${by}`);
    const names = this.#names;
    let level = this.#pending;
    for (let index = 0; index < names.length - 1; index += 1) {
      const key = labels[names[index]!] ?? absent;
      let next = level.get(key) as Level<T> | undefined;
      if (next === undefined) level.set(key, (next = new Map()));
      level = next;
    }
    const leafKey = names.length === 0 ? absent : (labels[names[names.length - 1]!] ?? absent);
    const pending = level.get(leafKey) as Pending<T> | undefined;
    if (pending !== undefined) {
      pending.count += by;
      return;
    }
    for (const name of Object.keys(labels)) {
      if (!this.#names.includes(name as T)) throw new Error(`label "${name}" is not one of ${this.#names.join(', ') || 'no labels'}`);
    }
    const sum: Pending<T> = { labels: { ...labels }, count: by };
    level.set(leafKey, sum);
    this.#sums.push(sum);
  };
}
