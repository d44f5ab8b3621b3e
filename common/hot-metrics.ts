// A counter and a histogram for the per-request path, scraped as prom-client's own. Each label
// set's counts are kept in plain numbers, found by one Map lookup per label. prom-client hashes
// and validates the labels and looks the series up by string on every `inc` and `observe` (and
// `observe` finds its bucket by string key): with the gateway's four per-request metrics that was
// 3-4 µs of each sync request's CPU in the closed-loop profile (bench/cost.ts --profiles:
// hashObject, validateLabel, setValue, observe). Microbenchmark on Node 24: 200 ns per `inc`
// against 33 here, 470 ns per `observe`.
import {
  Counter,
  type LabelValues,
  type Metric,
  type MetricObjectWithValues,
  type MetricValue,
  type MetricValueWithName,
  type Registry,
} from "prom-client";

/** A Map per label, in the label names' order, ending in a cell. */
type Level<C> = Map<string | number | undefined, Level<C> | C>;

/**
 * The cells of a metric's label sets: `of` finds or makes (`make`, once per label set) the cell of
 * `labels`; `all` lists them with a copy of their labels, in the order first seen.
 */
const labelCells = <L extends string, C>(
  name: string,
  labelNames: readonly L[],
  make: (labels: LabelValues<L>) => C,
) => {
  if (labelNames.length === 0) throw new Error(`${name}: a hot metric needs at least one label`);
  const root: Level<C> = new Map();
  const all: { labels: LabelValues<L>; cell: C }[] = [];
  const last = labelNames.length - 1;
  const of = (labels: LabelValues<L>): C => {
    let level = root;
    for (let i = 0; ; i++) {
      const value = labels[labelNames[i] as L];
      const next = level.get(value);
      if (next === undefined) break;
      if (i === last) return next as C;
      level = next as Level<C>;
    }
    // First seen: `make` checks the labels (and may throw) before anything is kept.
    const copy = { ...labels };
    const cell = make(copy);
    level = root;
    for (let i = 0; i < last; i++) {
      const value = labels[labelNames[i] as L];
      let next = level.get(value) as Level<C> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(value, next);
      }
      level = next;
    }
    level.set(labels[labelNames[last] as L], cell);
    all.push({ labels: copy, cell });
    return cell;
  };
  return { of, all };
};

const checked = (name: string, value: number): number => {
  if (!(value >= 0) || value === Number.POSITIVE_INFINITY)
    throw new TypeError(`${name}: a counter is increased by a finite, non-negative number, not ${value}`);
  return value;
};

/** What the hot path uses of a Counter, and what tests read of it. */
export interface HotCounter<L extends string> {
  /** Adds `value` (default 1, never negative) to the series of `labels`. */
  inc(labels: LabelValues<L>, value?: number): void;
  /** The Counter's series, pending counts added first. */
  get(): Promise<MetricObjectWithValues<MetricValue<L>>>;
}

interface MetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
}

/**
 * A prom-client Counter whose increments are added up per label set and added to it when the
 * metrics are collected (its `collect`, run by every scrape).
 */
export const hotCounter = <L extends string>(config: MetricConfig<L>): HotCounter<L> => {
  const counter = new Counter<L>({
    ...config,
    labelNames: [...config.labelNames],
    collect() {
      for (const { labels, cell } of cells.all) {
        if (cell.pending === 0) continue;
        this.inc(labels, cell.pending);
        cell.pending = 0;
      }
    },
  });
  const cells = labelCells(config.name, config.labelNames, (labels) => {
    // prom-client refuses a label it does not know here, as its own inc would; the series shows
    // 0 until the next collect adds what is pending.
    counter.inc(labels, 0);
    return { pending: 0 };
  });
  return {
    inc: (labels, value = 1) => {
      const by = checked(config.name, value);
      cells.of(labels).pending += by;
    },
    get: () => counter.get(),
  };
};

/** What the hot path uses of a Histogram, and what tests read of it. */
export interface HotHistogram<L extends string> {
  observe(labels: LabelValues<L>, value: number): void;
  get(): Promise<MetricObjectWithValues<MetricValueWithName<L>>>;
}

/**
 * A histogram scraped in prom-client's exposition (buckets by `le`, cumulative, then +Inf, _sum
 * and _count per label set), registered on `registers` as prom-client's own metrics are.
 */
export const hotHistogram = <L extends string>(
  config: MetricConfig<L> & { buckets: readonly number[] },
): HotHistogram<L> => {
  const bounds = [...config.buckets].sort((a, b) => a - b);
  const known = new Set<string>(config.labelNames);
  const cells = labelCells(config.name, config.labelNames, (labels) => {
    for (const label of Object.keys(labels))
      if (!known.has(label))
        throw new Error(`${config.name}: added label "${label}" is not included in initial labelset`);
    // One count per bucket (not cumulative), the last for values above every bound.
    return { counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
  });
  const get = async (): Promise<MetricObjectWithValues<MetricValueWithName<L>>> => {
    const values: MetricValueWithName<L>[] = [];
    const bucket = `${config.name}_bucket`;
    for (const { labels, cell } of cells.all) {
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += cell.counts[i] as number;
        values.push({ value: cumulative, labels: { le, ...labels }, metricName: bucket });
      });
      values.push(
        { value: cell.count, labels: { le: "+Inf", ...labels }, metricName: bucket },
        { value: cell.sum, labels, metricName: `${config.name}_sum` },
        { value: cell.count, labels, metricName: `${config.name}_count` },
      );
    }
    return {
      name: config.name,
      help: config.help,
      // prom-client's registry reads the type as the word it prints, not the d.ts's enum.
      type: "histogram" as unknown as MetricObjectWithValues<MetricValueWithName<L>>["type"],
      values,
      aggregator: "sum",
      collect: () => {},
    };
  };
  const metric = {
    name: config.name,
    help: config.help,
    type: "histogram",
    aggregator: "sum",
    get,
    reset: () => {
      for (const { cell } of cells.all) {
        cell.counts.fill(0);
        cell.sum = 0;
        cell.count = 0;
      }
    },
  };
  // A Registry keeps any object with a name and get() (registerMetric); its d.ts names only its own classes.
  for (const registry of config.registers) registry.registerMetric(metric as unknown as Metric<L>);
  return {
    observe: (labels, value) => {
      if (!Number.isFinite(value))
        throw new TypeError(`${config.name}: observed a value that is not a finite number: ${value}`);
      const cell = cells.of(labels);
      let i = 0;
      while (i < bounds.length && value > (bounds[i] as number)) i++;
      cell.counts[i] = (cell.counts[i] ?? 0) + 1;
      cell.sum += value;
      cell.count++;
    },
    get,
  };
};
