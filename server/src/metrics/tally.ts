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

export class TalliedCounter<T extends string = string> extends Counter<T> {
  readonly #names: readonly T[];
  readonly #pending = new Map<string, Pending<T>>();
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
    for (const { labels, count } of this.#pending.values()) this.#add(labels, count);
    this.#pending.clear();
  }

  override reset(): void {
    // prom-client's constructor resets too, before this class's fields exist.
    if (#pending in this) this.#pending.clear();
    super.reset();
  }

  readonly #tally = (labelsOrValue?: LabelValues<T> | number, value?: number): void => {
    const labels: LabelValues<T> = typeof labelsOrValue === 'object' ? labelsOrValue : {};
    const by = typeof labelsOrValue === 'object' ? (value ?? 1) : (labelsOrValue ?? 1);
    if (!Number.isFinite(by) || by < 0) throw new RangeError(`a counter only grows by a finite amount of at least 0, not ${by}`);
    let key = '';
    for (const name of this.#names) {
      const labelValue = labels[name];
      key += labelValue === undefined ? '\u0002' : `${labelValue}\u0001`;
    }
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      pending.count += by;
      return;
    }
    for (const name of Object.keys(labels)) {
      if (!this.#names.includes(name as T)) throw new Error(`label "${name}" is not one of ${this.#names.join(', ') || 'no labels'}`);
    }
    this.#pending.set(key, { labels: { ...labels }, count: by });
  };
}
