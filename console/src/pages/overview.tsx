import { useMemo, useState } from 'preact/hooks';
import { getJson, withQuery } from '../api';
import type { PageProps } from '../pages';
import {
  ErrorBox,
  Filters,
  fmtMs,
  fmtNumber,
  fmtPct,
  LineChart,
  Loading,
  type Series,
  Stat,
  useData,
} from '../ui';
import './overview.css';

/**
 * The overview: how the hub runs (turns per second, latency, errors, LLM fallbacks) and what it does
 * for the business (conversations, bot-resolved, handed off, abandoned, first response, CSAT, …),
 * for the last hour by minute or the last day by hour, refreshed every 15 seconds.
 * Figures: GET /admin/console/overview (core/console/overview-route.ts), README "Business metrics".
 */

type Window = 'hour' | 'day';

interface SystemFigures {
  turns: number;
  qps: number;
  latencyMs: { p50: number | null; p99: number | null };
  failedAttempts: number;
  deadLetters: number;
  errorRate: number | null;
  llmFallbacks: number;
  fallbackRate: number | null;
}

interface Figures {
  key: Record<string, string | null>;
  conversations: number;
  open: number;
  contained: number;
  handedOff: number;
  abandoned: number;
  endedUnanswered: number;
  containmentRate: number | null;
  csat: { average: number | null; count: number };
  helpful: { yes: number; no: number; rate: number | null };
  firstResponseMs: { p50: number | null; p90: number | null };
  turns: number;
  unknownIntentRate: number | null;
  dontKnowRate: number | null;
  dontKnow: number;
  llmFallbacks: number;
}

interface OverviewData {
  window: Window;
  from: string;
  to: string;
  stepSeconds: number;
  system: SystemFigures & { liveQps: number; loggedErrors: number | null };
  systemSeries: Array<SystemFigures & { at: string }>;
  business: Figures;
  businessTrend: { step: 'hour' | 'day'; figures: Figures[] };
  choices: { tenants: string[]; channels: Array<{ id: string; tenant: string }> };
}

/** Refresh period: the figures are per minute at their finest. */
const REFRESH_MS = 15_000;

const WINDOWS: Array<{ value: Window; label: string }> = [
  { value: 'hour', label: 'Last hour' },
  { value: 'day', label: 'Last 24 hours' },
];

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
const seconds = (iso: string) => Date.parse(iso) / 1000;
const pct = (value: number | null) => (value === null ? null : value * 100);

/** The business trend's steps, oldest first, with a gap as nulls: 24 hours or 14 days up to now. */
function trendSteps(data: OverviewData): Array<{ at: number; figures?: Figures }> {
  const step = data.businessTrend.step;
  const byKey = new Map(data.businessTrend.figures.map((f) => [f.key[step] ?? '', f]));
  const now = Date.parse(data.to);
  const size = step === 'hour' ? 3_600_000 : 86_400_000;
  const last = Math.floor(now / size) * size;
  const count = step === 'hour' ? 24 : 14;
  return Array.from({ length: count }, (_, i) => {
    const at = last - (count - 1 - i) * size;
    const iso = new Date(at).toISOString();
    const key = step === 'hour' ? `${iso.slice(0, 13)}:00Z` : iso.slice(0, 10);
    return { at: at / 1000, figures: byKey.get(key) };
  });
}

/** "previous hour: 50.0 %": the step before the current one in the trend, for a tile's hint. */
function previous(
  steps: Array<{ figures?: Figures }>,
  step: 'hour' | 'day',
  show: (figures: Figures) => string,
): string {
  const before = steps[steps.length - 2]?.figures;
  const label = step === 'hour' ? 'previous hour' : 'yesterday';
  return `${label}: ${before ? show(before) : '–'}`;
}

interface View {
  window: Window;
  tenant?: string;
  channel?: string;
}

/** What the page shows, from its query string (`?window=day&tenant=acme`), so a link can be shared. */
function viewFromLocation(): View {
  const query = new URLSearchParams(window.location.search);
  const tenant = query.get('tenant') || undefined;
  const channel = query.get('channel') || undefined;
  return {
    window: query.get('window') === 'day' ? 'day' : 'hour',
    ...(tenant ? { tenant } : {}),
    ...(channel ? { channel } : {}),
  };
}

function useView(): [View, (next: View) => void] {
  const [view, setView] = useState(viewFromLocation);
  const change = (next: View) => {
    setView(next);
    const query = withQuery('', {
      window: next.window === 'hour' ? undefined : next.window,
      tenant: next.tenant,
      channel: next.channel,
    });
    window.history.replaceState(null, '', `${window.location.pathname}${query}`);
  };
  return [view, change];
}

export default function Overview(_props: PageProps) {
  const [view, setView] = useView();
  const span = view.window;
  const filter = { tenant: view.tenant, channel: view.channel };
  const { data, error } = useData(
    () =>
      getJson<OverviewData>('/admin/console/overview', {
        window: span,
        tenant: filter.tenant,
        channel: filter.channel,
      }),
    [span, filter.tenant, filter.channel],
    REFRESH_MS,
  );

  const charts = useMemo(() => {
    if (!data) return undefined;
    const x = data.systemSeries.map((s) => seconds(s.at));
    const steps = trendSteps(data);
    const trendX = steps.map((s) => s.at);
    // A step without conversations has none of them (0), but no rate (null).
    const trend = (label: string, value: (f: Figures) => number | null, none: 0 | null = null): Series => ({
      label,
      values: steps.map((s) => (s.figures ? value(s.figures) : none)),
    });
    return {
      x,
      qps: [{ label: 'turns/s', values: data.systemSeries.map((s) => s.qps) }],
      latency: [
        { label: 'p50 ms', values: data.systemSeries.map((s) => s.latencyMs.p50) },
        { label: 'p99 ms', values: data.systemSeries.map((s) => s.latencyMs.p99) },
      ],
      rates: [
        { label: 'errors %', values: data.systemSeries.map((s) => pct(s.errorRate)) },
        { label: 'LLM fallbacks %', values: data.systemSeries.map((s) => pct(s.fallbackRate)) },
      ],
      steps,
      trendX,
      conversations: [
        trend('conversations', (f) => f.conversations, 0),
        trend('bot-resolved', (f) => f.contained, 0),
        trend('handed off', (f) => f.handedOff, 0),
        trend('abandoned', (f) => f.abandoned, 0),
      ],
      quality: [
        trend('containment %', (f) => pct(f.containmentRate)),
        trend('"did that help?" %', (f) => pct(f.helpful.rate)),
        trend('"I don\'t know" %', (f) => pct(f.dontKnowRate)),
      ],
      csat: [trend('CSAT (1–5)', (f) => f.csat.average)],
    };
  }, [data]);

  const tenants = data?.choices.tenants ?? [];
  const channels = (data?.choices.channels ?? [])
    .filter((c) => !filter.tenant || c.tenant === filter.tenant)
    .map((c) => c.id);
  const windowLabel = WINDOWS.find((w) => w.value === span)?.label.toLowerCase() ?? span;
  const stepWord = span === 'hour' ? 'minute' : 'hour';

  return (
    <section class="overview" aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <div class="overview-filters">
        <Filters
          value={filter}
          onChange={(next) =>
            setView({
              window: span,
              tenant: next.tenant,
              // A channel of another tenant is no filter of this one.
              channel: next.tenant !== view.tenant ? undefined : next.channel,
            })
          }
          tenants={tenants}
          channels={channels}
          dates={false}
        />
        <label class="overview-window">
          Window
          <select
            value={span}
            onChange={(event) => setView({ ...view, window: event.currentTarget.value as Window })}
          >
            {WINDOWS.map((w) => (
              <option key={w.value} value={w.value}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error ? <ErrorBox error={error} /> : null}
      {!data || !charts ? (
        error ? null : (
          <Loading what="Loading the figures" />
        )
      ) : (
        <div data-testid="overview-figures" data-window={data.window}>
          <h2>System, {windowLabel}</h2>
          <div class="stats">
            <Stat
              label="Turns per second"
              value={fmtNumber(data.system.liveQps, 2)}
              hint={`last minute; ${fmtNumber(data.system.qps, 3)} over the ${span}, ${plural(data.system.turns, 'turn')}`}
            />
            <Stat label="Latency p50" value={fmtMs(data.system.latencyMs.p50)} hint="worker time per turn" />
            <Stat label="Latency p99" value={fmtMs(data.system.latencyMs.p99)} hint="worker time per turn" />
            <Stat
              label="Error rate"
              value={fmtPct(data.system.errorRate)}
              hint={`${plural(data.system.failedAttempts, 'failed attempt')}, ${plural(data.system.deadLetters, 'dead letter')}${
                data.system.loggedErrors === null ? '' : `, ${data.system.loggedErrors} errors logged`
              }`}
            />
            <Stat
              label="LLM fallback rate"
              value={fmtPct(data.system.fallbackRate)}
              hint={`${plural(data.system.llmFallbacks, 'answer')} extracted instead`}
            />
          </div>
          <div class="charts">
            <LineChart title={`Turns per second, per ${stepWord}`} x={charts.x} series={charts.qps} />
            <LineChart title={`Turn latency (ms), per ${stepWord}`} x={charts.x} series={charts.latency} />
            <LineChart
              title={`Error and LLM fallback rates (%), per ${stepWord}`}
              x={charts.x}
              series={charts.rates}
            />
          </div>

          <h2>Conversations started, {windowLabel}</h2>
          <BusinessTiles data={data} steps={charts.steps} />
          <div class="charts">
            <LineChart
              title={`Conversations by outcome, per ${data.businessTrend.step}`}
              x={charts.trendX}
              series={charts.conversations}
            />
            <LineChart
              title={`Containment, "did that help?" and "I don't know" (%), per ${data.businessTrend.step}`}
              x={charts.trendX}
              series={charts.quality}
            />
            <LineChart
              title={`CSAT, per ${data.businessTrend.step}`}
              x={charts.trendX}
              series={charts.csat}
            />
          </div>
          <p class="muted overview-updated">
            Updated {new Date(data.to).toLocaleTimeString()}; refreshed every {REFRESH_MS / 1000} s.
          </p>
        </div>
      )}
    </section>
  );
}

function BusinessTiles({ data, steps }: { data: OverviewData; steps: Array<{ figures?: Figures }> }) {
  const b = data.business;
  const step = data.businessTrend.step;
  const ended = b.contained + b.handedOff + b.abandoned + b.endedUnanswered;
  const hint = (show: (f: Figures) => string) => previous(steps, step, show);
  return (
    <div class="stats">
      <Stat
        label="Conversations"
        value={String(b.conversations)}
        hint={`${b.open} open; ${hint((f) => String(f.conversations))}`}
      />
      <Stat
        label="Bot-resolved"
        value={fmtPct(b.containmentRate)}
        hint={`${b.contained} of ${ended} ended; ${hint((f) => fmtPct(f.containmentRate))}`}
      />
      <Stat label="Handed off" value={String(b.handedOff)} hint={hint((f) => String(f.handedOff))} />
      <Stat label="Abandoned" value={String(b.abandoned)} hint={hint((f) => String(f.abandoned))} />
      <Stat
        label="First response p50"
        value={fmtMs(b.firstResponseMs.p50)}
        hint={`p90 ${fmtMs(b.firstResponseMs.p90)}`}
      />
      <Stat
        label="CSAT"
        value={fmtNumber(b.csat.average, 2)}
        hint={`${plural(b.csat.count, 'rating')}, 1–5; ${hint((f) => fmtNumber(f.csat.average, 2))}`}
      />
      <Stat
        label="Did that help?"
        value={fmtPct(b.helpful.rate)}
        hint={`${b.helpful.yes} yes, ${b.helpful.no} no`}
      />
      <Stat
        label="Unknown intent"
        value={fmtPct(b.unknownIntentRate)}
        hint={`of ${plural(b.turns, 'turn')}`}
      />
      <Stat
        label={'"I don\'t know"'}
        value={fmtPct(b.dontKnowRate)}
        hint={`${plural(b.dontKnow, 'turn')}; ${hint((f) => fmtPct(f.dontKnowRate))}`}
      />
      <Stat label="LLM fallbacks" value={String(b.llmFallbacks)} hint={hint((f) => String(f.llmFallbacks))} />
    </div>
  );
}
