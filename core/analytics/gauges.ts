import { logger } from '../log';
import { errors } from '../metrics';
import { withDeadline } from '../resilience/deadline';
import { businessFigures, type Figures } from './figures';
import {
  containmentRatio,
  conversationsByOutcome,
  csatAverage,
  dontKnowRatio,
  firstResponseSeconds,
} from './metrics';
import { type AnalyticsStore, utcDay } from './store';

export interface GaugeOptions {
  refreshSeconds: number;
  windowDays: number;
  abandonAfterMinutes: number;
  now?: () => Date;
}

/** Set the business gauges from the figures per tenant; a tenant without a figure is left out (no stale value). */
export function setBusinessGauges(perTenant: readonly Figures[]): void {
  for (const gauge of [
    containmentRatio,
    csatAverage,
    conversationsByOutcome,
    firstResponseSeconds,
    dontKnowRatio,
  ]) {
    gauge.reset();
  }
  for (const f of perTenant) {
    const tenant = f.key.tenant ?? 'unknown';
    if (f.containmentRate !== null) containmentRatio.set({ tenant }, f.containmentRate);
    if (f.csat.average !== null) csatAverage.set({ tenant }, f.csat.average);
    if (f.dontKnowRate !== null) dontKnowRatio.set({ tenant }, f.dontKnowRate);
    const outcomes = {
      open: f.open,
      contained: f.contained,
      handed_off: f.handedOff,
      abandoned: f.abandoned,
      ended_unanswered: f.endedUnanswered,
    };
    for (const [outcome, value] of Object.entries(outcomes))
      conversationsByOutcome.set({ tenant, outcome }, value);
    if (f.firstResponseMs.p50 !== null)
      firstResponseSeconds.set({ tenant, quantile: '0.5' }, f.firstResponseMs.p50 / 1000);
    if (f.firstResponseMs.p90 !== null)
      firstResponseSeconds.set({ tenant, quantile: '0.9' }, f.firstResponseMs.p90 / 1000);
  }
}

/** One refresh: the figures of the window, per tenant, into the gauges. */
export async function refreshBusinessGauges(analytics: AnalyticsStore, options: GaugeOptions): Promise<void> {
  const now = options.now?.() ?? new Date();
  const from = utcDay(new Date(now.getTime() - (options.windowDays - 1) * 86_400_000));
  const figures = await businessFigures(
    analytics,
    { from, to: utcDay(now), by: ['tenant'] },
    now,
    options.abandonAfterMinutes,
  );
  setBusinessGauges(figures);
}

/**
 * Refresh the gauges now and every `refreshSeconds`, so a scrape reads memory, never the database.
 * Returns the stop function. A failed refresh is logged and counted; the gauges keep their values.
 */
export function startBusinessGauges(analytics: AnalyticsStore, options: GaugeOptions): () => Promise<void> {
  let running: Promise<void> | undefined;
  const refresh = () => {
    // A paused database makes a refresh fail at the next period, not hang the next ones.
    running ??= withDeadline(refreshBusinessGauges(analytics, options), options.refreshSeconds * 1000)
      .catch((error: unknown) => {
        errors.inc({ stage: 'analytics', code: 'analytics.gauges_failed' });
        logger.warn({ err: error, code: 'analytics.gauges_failed' }, 'business gauges not refreshed');
      })
      .finally(() => {
        running = undefined;
      });
  };
  refresh();
  const timer = setInterval(refresh, options.refreshSeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
