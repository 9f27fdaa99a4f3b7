import type { ComponentChildren, TargetedEvent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ApiError } from './api';

/** Shared pieces of the console's pages: loading and error states, figures, tables, charts, filters. */

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  const text =
    error instanceof ApiError
      ? `${error.message} (${error.code})`
      : error instanceof Error
        ? error.message
        : String(error);
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

export function Stat({ label, value, hint }: { label: string; value: ComponentChildren; hint?: string }) {
  return (
    <div class="stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value" data-stat={label}>
        {value}
      </div>
      {hint ? <div class="stat-hint">{hint}</div> : null}
    </div>
  );
}

export interface Column<Row> {
  key: string;
  label: string;
  render?: (row: Row) => ComponentChildren;
  numeric?: boolean;
}

export function DataTable<Row>({
  columns,
  rows,
  caption,
  rowKey,
  empty = 'Nothing to show.',
  onRowClick,
}: {
  columns: Column<Row>[];
  rows: Row[];
  caption?: string;
  rowKey: (row: Row) => string;
  empty?: string;
  onRowClick?: (row: Row) => void;
}) {
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    <div class="table-wrap">
      <table>
        {caption ? <caption>{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.key} scope="col" class={column.numeric ? 'num' : undefined}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr
              key={rowKey(row)}
              class={onRowClick ? 'clickable' : undefined}
              onClick={onRowClick ? () => onRowClick(row) : undefined}
            >
              {columns.map((column) => (
                <td key={column.key} class={column.numeric ? 'num' : undefined}>
                  {column.render
                    ? column.render(row)
                    : String((row as Record<string, unknown>)[column.key] ?? '')}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const PALETTE = ['#1f5fbf', '#b3261e', '#1b7f3b', '#8a4b00', '#6b3fa0', '#00707a'];

export interface Series {
  label: string;
  values: Array<number | null>;
}

/**
 * A time-series chart (uPlot): `x` in Unix seconds, one line per series. The canvas is an image to
 * assistive technology; its label says what it shows.
 */
export function LineChart({
  title,
  x,
  series,
  height = 180,
  bars = false,
}: {
  title: string;
  x: number[];
  series: Series[];
  height?: number;
  /** Draw bars (a histogram or counts per bucket) instead of lines. */
  bars?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = Math.max(240, element.clientWidth);
    const chart = new uPlot(
      {
        width,
        height,
        legend: { show: series.length > 1 },
        scales: { x: { time: !bars } },
        series: [
          {},
          ...series.map((one, index) => ({
            label: one.label,
            stroke: PALETTE[index % PALETTE.length],
            width: 2,
            ...(bars
              ? {
                  fill: `${PALETTE[index % PALETTE.length]}99`,
                  paths: uPlot.paths.bars?.({ size: [0.8, 60] }),
                  points: { show: false },
                }
              : // A value between gaps has no line to either side: its point shows it.
                { points: { show: true, size: 5 } }),
          })),
        ],
        axes: [{}, { size: 48 }],
      },
      [x, ...series.map((one) => one.values)] as uPlot.AlignedData,
      element,
    );
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(240, element.clientWidth), height }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [x, series, height, bars]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={title} />
    </figure>
  );
}

export interface FilterValue {
  tenant?: string;
  channel?: string;
  from?: string;
  to?: string;
}

/** Tenant, channel and date range: the filters most pages share. Empty means all. */
export function Filters({
  value,
  onChange,
  tenants,
  channels,
  dates = true,
}: {
  value: FilterValue;
  onChange: (next: FilterValue) => void;
  tenants: string[];
  channels: string[];
  dates?: boolean;
}) {
  const set = (key: keyof FilterValue) => (event: TargetedEvent<HTMLInputElement | HTMLSelectElement>) =>
    onChange({ ...value, [key]: event.currentTarget.value || undefined });
  return (
    <fieldset class="filters">
      <legend class="sr-only">Filters</legend>
      <label>
        Tenant
        <select value={value.tenant ?? ''} onChange={set('tenant')}>
          <option value="">All</option>
          {tenants.map((tenant) => (
            <option key={tenant} value={tenant}>
              {tenant}
            </option>
          ))}
        </select>
      </label>
      <label>
        Channel
        <select value={value.channel ?? ''} onChange={set('channel')}>
          <option value="">All</option>
          {channels.map((channel) => (
            <option key={channel} value={channel}>
              {channel}
            </option>
          ))}
        </select>
      </label>
      {dates ? (
        <>
          <label>
            From
            <input type="date" value={value.from ?? ''} onChange={set('from')} />
          </label>
          <label>
            To
            <input type="date" value={value.to ?? ''} onChange={set('to')} />
          </label>
        </>
      ) : null}
    </fieldset>
  );
}

/**
 * Data for a page: loads on mount and whenever `deps` change, and every `refreshMs` when given.
 * Keeps the last good data while a refresh runs.
 */
export function useData<T>(
  load: () => Promise<T>,
  deps: unknown[],
  refreshMs?: number,
): { data?: T; error?: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((before) => ({ ...before, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState((before) => ({ ...before, error, loading: false })),
    );
    const timer = refreshMs ? setTimeout(() => setTick((n) => n + 1), refreshMs) : undefined;
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

export const fmtPct = (value: number | null | undefined, digits = 1): string =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : `${(value * 100).toFixed(digits)} %`;

export const fmtMs = (value: number | null | undefined): string =>
  value === null || value === undefined || Number.isNaN(value)
    ? '–'
    : value >= 10_000
      ? `${(value / 1000).toFixed(1)} s`
      : `${Math.round(value)} ms`;

export const fmtNumber = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
