import { useEffect, useMemo, useState } from 'preact/hooks';
import { getJson, sendJson } from '../api';
import type { PageProps } from '../pages';
import { DataTable, ErrorBox, fmtPct, LineChart, Loading, Stat, useData } from '../ui';
import './intents.css';

/**
 * Intents: how sure the recognizer is (confidence in tenths, per intent and overall), how often it
 * leaves turns `unknown`, the offline evaluation of the classifier (accuracy, macro-F1, per-intent
 * scores, confusions), and the review queue where supervisors label turns and approve the labels
 * into training examples. Routes: core/intents/routes.ts.
 */

interface Score {
  intent: string;
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

interface Evaluation {
  id: string;
  dataset: string;
  source: 'cli' | 'console';
  status: 'running' | 'done' | 'failed';
  requestedBy: string | null;
  examples: number | null;
  labels: number | null;
  folds: number | null;
  accuracy: number | null;
  macroF1: number | null;
  perIntent: Score[];
  confusions: Array<{ gold: string; predicted: string; count: number }>;
  durationMs: number | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

interface IntentRow {
  intent: string;
  configured: boolean;
  turns: number;
  share: number | null;
  histogram: number[];
  labelled: number;
  unknownRate: number | null;
}

interface Overview {
  from: string;
  to: string;
  overall: { turns: number; unknownRate: number | null; histogram: number[] };
  intents: IntentRow[];
  configured: string[];
  evaluations: Evaluation[];
  pendingLabels: number;
  examplesFile: string;
  classifier: { examples: number; reloadedAt: string | null; reloading: boolean; reload: string };
}

interface ReviewTurn {
  eventId: string;
  at: string;
  tenant: string;
  channel: string;
  predicted: string;
  confidenceBucket: number | null;
  text: string;
  label: {
    id: string;
    intent: string;
    status: 'pending' | 'approved' | 'rejected';
    labelledBy: string;
    /** Null for a machine token or a removed operator: `labelledBy` is shown instead. */
    labelledByName: string | null;
  } | null;
}

const TENTHS = Array.from({ length: 10 }, (_, i) => i / 10);
/** Bars at each tenth's middle, with an empty place either side so the first and last show whole. */
const CHART_X = [-0.05, ...TENTHS.map((t) => t + 0.05), 1.05];
const tenth = (bucket: number | null) =>
  bucket === null ? '–' : `${(bucket / 10).toFixed(1)}–${((bucket + 1) / 10).toFixed(1)}`;
const when = (iso: string) => new Date(iso).toLocaleString();

/** Ten tiny bars, one per confidence tenth, for a table cell; the numbers are in its label. */
function MiniHistogram({ counts, intent }: { counts: number[]; intent: string }) {
  const top = Math.max(1, ...counts);
  return (
    <span
      class="mini-hist"
      role="img"
      aria-label={`${intent}: turns per confidence tenth ${counts.join(', ')}`}
      data-histogram={counts.join(',')}
    >
      {counts.map((n, i) => (
        <span key={TENTHS[i]} style={{ height: `${Math.round((n / top) * 100)}%` }} />
      ))}
    </span>
  );
}

function EvaluationPanel({
  evaluations,
  canRun,
  onRun,
}: {
  evaluations: Evaluation[];
  canRun: boolean;
  onRun: () => Promise<void>;
}) {
  const [error, setError] = useState<unknown>();
  const latest = evaluations.find((e) => e.status === 'done');
  const running = evaluations.some((e) => e.status === 'running');
  const failed = evaluations[0]?.status === 'failed' ? evaluations[0] : undefined;
  return (
    <section class="panel" aria-labelledby="eval-title">
      <div class="intents-head">
        <h2 id="eval-title">Offline evaluation</h2>
        {canRun ? (
          <button
            type="button"
            disabled={running}
            data-testid="run-evaluation"
            onClick={() => {
              setError(undefined);
              onRun().catch(setError);
            }}
          >
            {running ? 'Evaluating…' : 'Run evaluation'}
          </button>
        ) : null}
      </div>
      {error ? <ErrorBox error={error} /> : null}
      {failed ? <p class="error">Last run failed: {failed.error}</p> : null}
      {latest ? (
        <>
          <p class="muted" data-testid="evaluation-meta">
            {latest.folds}-fold cross-validation of {latest.examples} examples over {latest.labels} intents (
            {latest.dataset}),{' '}
            {latest.source === 'cli' ? 'hub intents eval' : `run by ${latest.requestedBy ?? '?'}`},{' '}
            {when(latest.finishedAt ?? latest.startedAt)}
          </p>
          <div class="stats">
            <Stat label="Accuracy" value={fmtPct(latest.accuracy, 2)} />
            <Stat label="Macro-F1" value={fmtPct(latest.macroF1, 2)} />
          </div>
          <DataTable
            caption="Per intent (held out)"
            rowKey={(row: Score) => row.intent}
            rows={latest.perIntent}
            columns={[
              { key: 'intent', label: 'Intent' },
              { key: 'precision', label: 'Precision', numeric: true, render: (r) => fmtPct(r.precision) },
              { key: 'recall', label: 'Recall', numeric: true, render: (r) => fmtPct(r.recall) },
              { key: 'f1', label: 'F1', numeric: true, render: (r) => fmtPct(r.f1) },
              { key: 'support', label: 'Examples', numeric: true },
            ]}
          />
          <h3>Most frequent confusions</h3>
          {latest.confusions.length === 0 ? (
            <p class="muted">No example was taken for another intent.</p>
          ) : (
            <ol class="confusions" data-testid="confusions">
              {latest.confusions.map((c) => (
                <li key={`${c.gold}/${c.predicted}`}>
                  <strong>{c.gold}</strong> taken for <strong>{c.predicted}</strong>: {c.count}
                </li>
              ))}
            </ol>
          )}
        </>
      ) : running ? (
        <Loading what="Evaluating" />
      ) : (
        <p class="muted">
          No evaluation yet: run one here or with `hub intents eval --from-config --record`.
        </p>
      )}
    </section>
  );
}

function ReviewQueue({
  turns,
  intents,
  canLabel,
  canApprove,
  onChange,
}: {
  turns: ReviewTurn[];
  intents: string[];
  canLabel: boolean;
  canApprove: boolean;
  onChange: () => void;
}) {
  const [chosen, setChosen] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const act = (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    work()
      .then(onChange, setError)
      .finally(() => setBusy(false));
  };
  if (turns.length === 0) return <p class="muted">Nothing to review in this range.</p>;
  return (
    <>
      {error ? <ErrorBox error={error} /> : null}
      <ul class="review" data-testid="review-queue">
        {turns.map((turn) => {
          const selectId = `label-${turn.eventId}`;
          const value = chosen[turn.eventId] ?? turn.label?.intent ?? '';
          return (
            <li key={turn.eventId} class="review-item" data-event={turn.eventId}>
              <p class="review-text">{turn.text}</p>
              <p class="muted review-meta">
                {when(turn.at)} · {turn.tenant} · {turn.channel} · recognized{' '}
                <strong>{turn.predicted}</strong> (confidence {tenth(turn.confidenceBucket)})
                {turn.label ? (
                  <>
                    {' '}
                    · labelled <strong>{turn.label.intent}</strong> by{' '}
                    {turn.label.labelledByName ?? turn.label.labelledBy} ({turn.label.status})
                  </>
                ) : null}
              </p>
              <div class="review-actions">
                {canLabel && turn.label?.status !== 'approved' ? (
                  <>
                    <label for={selectId}>Right intent</label>
                    <select
                      id={selectId}
                      value={value}
                      onChange={(event) =>
                        setChosen({ ...chosen, [turn.eventId]: event.currentTarget.value })
                      }
                    >
                      <option value="">Choose…</option>
                      {intents.map((name) => (
                        <option key={name} value={name}>
                          {name}
                        </option>
                      ))}
                    </select>
                    <button
                      type="button"
                      class="secondary"
                      disabled={busy || !value}
                      onClick={() =>
                        act(() =>
                          sendJson('POST', '/admin/intents/labels', { eventId: turn.eventId, intent: value }),
                        )
                      }
                    >
                      Label
                    </button>
                  </>
                ) : null}
                {canApprove && turn.label?.status === 'pending' ? (
                  <>
                    <button
                      type="button"
                      disabled={busy}
                      onClick={() =>
                        act(() => sendJson('POST', `/admin/intents/labels/${turn.label?.id}/approve`))
                      }
                    >
                      Approve
                    </button>
                    <button
                      type="button"
                      class="secondary"
                      disabled={busy}
                      onClick={() =>
                        act(() => sendJson('POST', `/admin/intents/labels/${turn.label?.id}/reject`))
                      }
                    >
                      Reject
                    </button>
                  </>
                ) : null}
              </div>
            </li>
          );
        })}
      </ul>
    </>
  );
}

export default function IntentsPage({ session }: PageProps) {
  const today = new Date().toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
  const [range, setRange] = useState({ from: monthAgo, to: today });
  const [below, setBelow] = useState('0.7');
  const [tick, setTick] = useState(0);
  const overview = useData(() => getJson<Overview>('/admin/intents', range), [range.from, range.to, tick]);
  // While an evaluation or a retraining runs, look again every two seconds.
  const busy =
    overview.data?.classifier.reloading || overview.data?.evaluations.some((e) => e.status === 'running');
  useEffect(() => {
    if (!busy) return;
    const timer = setTimeout(() => setTick((n) => n + 1), 2000);
    return () => clearTimeout(timer);
  }, [busy, overview.data]);
  const review = useData(
    () => getJson<{ turns: ReviewTurn[] }>('/admin/intents/review', { ...range, below }),
    [range.from, range.to, below, tick],
  );
  const refresh = () => setTick((n) => n + 1);
  const data = overview.data;
  const series = useMemo(
    () => [{ label: 'Turns', values: [null, ...(data?.overall.histogram ?? []), null] }],
    [data?.overall.histogram.join(',')],
  );

  return (
    <div class="intents">
      <h1>Intents</h1>
      <fieldset class="filters">
        <legend class="sr-only">Range</legend>
        <label>
          From
          <input
            type="date"
            value={range.from}
            onChange={(e) => setRange({ ...range, from: e.currentTarget.value || monthAgo })}
          />
        </label>
        <label>
          To
          <input
            type="date"
            value={range.to}
            onChange={(e) => setRange({ ...range, to: e.currentTarget.value || today })}
          />
        </label>
      </fieldset>
      {overview.error ? <ErrorBox error={overview.error} /> : null}
      {!data ? (
        <Loading />
      ) : (
        <>
          <div class="stats" data-testid="intents-ready">
            <Stat label="Recognized turns" value={data.overall.turns} />
            <Stat label="Unknown rate" value={fmtPct(data.overall.unknownRate)} hint="turns left unknown" />
            <Stat label="Labels to review" value={data.pendingLabels} />
            <Stat
              label="Training examples"
              value={data.classifier.examples}
              hint={
                data.classifier.reloading
                  ? 'retraining…'
                  : data.classifier.reloadedAt
                    ? `retrained ${when(data.classifier.reloadedAt)}`
                    : data.classifier.reload === 'restart'
                      ? 'approved ones: at the workers’ next start'
                      : 'since start-up'
              }
            />
          </div>
          <section class="panel" aria-labelledby="dist-title">
            <h2 id="dist-title">Confidence distribution</h2>
            <LineChart
              title={`Recognized turns per confidence tenth, ${data.from} to ${data.to} (0.0 = [0, 0.1), 0.9 = [0.9, 1])`}
              x={CHART_X}
              series={series}
              bars
            />
            <DataTable
              caption="Per intent"
              rowKey={(row: IntentRow) => row.intent}
              rows={data.intents}
              columns={[
                {
                  key: 'intent',
                  label: 'Intent',
                  render: (r) =>
                    r.configured || r.intent === 'unknown' ? r.intent : `${r.intent} (not in config)`,
                },
                { key: 'turns', label: 'Turns', numeric: true },
                { key: 'share', label: 'Share', numeric: true, render: (r) => fmtPct(r.share) },
                {
                  key: 'histogram',
                  label: 'Confidence 0 → 1',
                  render: (r) => <MiniHistogram counts={r.histogram} intent={r.intent} />,
                },
                { key: 'labelled', label: 'Labelled', numeric: true },
                {
                  key: 'unknownRate',
                  label: 'Unknown rate',
                  numeric: true,
                  render: (r) => fmtPct(r.unknownRate),
                },
              ]}
            />
            <p class="muted small">
              Unknown rate: for <code>unknown</code>, its share of all turns; for an intent, the share of the
              turns labelled with it that the recognizer had left unknown.
            </p>
          </section>
          <EvaluationPanel
            evaluations={data.evaluations}
            canRun={session.can('intents.manage')}
            onRun={async () => {
              await sendJson('POST', '/admin/intents/evaluations');
              refresh();
            }}
          />
        </>
      )}
      <section class="panel" aria-labelledby="review-title">
        <div class="intents-head">
          <h2 id="review-title">Review queue</h2>
          <label>
            Show turns below confidence{' '}
            <select value={below} onChange={(e) => setBelow(e.currentTarget.value)}>
              <option value="0.5">0.5</option>
              <option value="0.7">0.7</option>
              <option value="0.9">0.9</option>
              <option value="1">all turns</option>
            </select>
          </label>
        </div>
        <p class="muted small">
          Turns left unknown, recognized with low confidence, or labelled and awaiting review. An approved
          label adds the turn's text, personal data masked, to{' '}
          {data?.examplesFile ?? 'the learned-examples file'}.
        </p>
        {review.error ? <ErrorBox error={review.error} /> : null}
        {review.data ? (
          <ReviewQueue
            turns={review.data.turns}
            intents={data?.configured ?? []}
            canLabel={session.can('intents.label')}
            canApprove={session.can('intents.manage')}
            onChange={refresh}
          />
        ) : (
          <Loading />
        )}
      </section>
    </div>
  );
}
