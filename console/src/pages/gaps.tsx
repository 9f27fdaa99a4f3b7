import { useEffect, useState } from 'preact/hooks';
import { getJson, sendJson } from '../api';
import type { PageProps } from '../pages';
import { ErrorBox, Loading, Stat, useData } from '../ui';
import './gaps.css';

/**
 * Knowledge gaps: clusters of the questions the bot could not answer or whose answer did not help
 * (GET /admin/knowledge/gaps), each with one click to draft an entry (pre-filled from an agent's
 * reply where there is one), and the drafts' editor, where a supervisor publishes into the knowledge base.
 */

interface Gap {
  id: string;
  tenant: string;
  language: string | null;
  question: string;
  count: number;
  unanswered: number;
  unhelpful: number;
  firstAt: string;
  lastAt: string;
  examples: string[];
  questionIds: string[];
  trend: Array<{ day: string; count: number }>;
  suggestedAnswer?: { text: string; at: string };
  /** Questions no draft or entry was written for yet. */
  open: number;
  drafts: Array<{ id: string; status: string }>;
}

interface GapReport {
  from: string;
  to: string;
  similarity: number;
  embedder: string;
  questions: number;
  truncated: boolean;
  gaps: Gap[];
}

interface Draft {
  id: string;
  tenant: string;
  language: string;
  title: string;
  questions: string[];
  answer: string;
  status: 'draft' | 'published' | 'rejected';
  createdByName: string;
  updatedAt: string;
  reviewedBy: string | null;
  entryId: string;
}

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** What the page shows, from the query string: `?from=&to=&draft=`, so a link to a draft can be shared. */
function fromQuery(): { from: string; to: string; draft?: string } {
  const query = new URLSearchParams(window.location.search);
  const from = query.get('from') ?? '';
  const to = query.get('to') ?? '';
  const draft = query.get('draft') ?? '';
  return {
    from: DAY.test(from) ? from : day(-6),
    to: DAY.test(to) ? to : day(0),
    ...(draft ? { draft } : {}),
  };
}

export default function GapsPage({ session }: PageProps) {
  const initial = fromQuery();
  const [range, setRange] = useState({ from: initial.from, to: initial.to });
  const [open, setOpen] = useState<string | undefined>(initial.draft);
  useEffect(() => {
    const query = new URLSearchParams({ from: range.from, to: range.to, ...(open ? { draft: open } : {}) });
    window.history.replaceState(null, '', `${window.location.pathname}?${query}`);
  }, [range.from, range.to, open]);
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const [failure, setFailure] = useState<unknown>();
  const report = useData(() => getJson<GapReport>('/admin/knowledge/gaps', range), [range.from, range.to]);
  const drafts = useData(
    () => getJson<{ drafts: Draft[] }>('/admin/knowledge/drafts', { status: 'draft' }),
    [],
  );
  const mayPublish = session.can('knowledge.publish');

  const startDraft = async (gap: Gap) => {
    setBusy(gap.id);
    setFailure(undefined);
    try {
      const draft = await sendJson<Draft>('POST', '/admin/knowledge/drafts', {
        tenant: gap.tenant,
        language: gap.language ?? 'en',
        title: gap.question,
        questions: gap.examples.filter((example) => example !== gap.question),
        questionIds: gap.questionIds,
        answer: gap.suggestedAnswer?.text ?? '',
      });
      setOpen(draft.id);
      setNotice(undefined);
      report.reload();
      drafts.reload();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(undefined);
    }
  };

  const closed = (message: string) => {
    setOpen(undefined);
    setNotice(message);
    report.reload();
    drafts.reload();
  };

  return (
    <section class="gaps" aria-labelledby="gaps-title">
      <h1 id="gaps-title">Knowledge gaps</h1>
      <p class="muted">
        Questions the bot could not answer, or whose answer the customer said did not help, grouped by
        meaning. Draft an entry for a group; a supervisor publishes it into the knowledge base.
      </p>
      <fieldset class="filters">
        <legend class="sr-only">Date range</legend>
        <label>
          From
          <input
            type="date"
            value={range.from}
            max={range.to}
            onChange={(event) => setRange({ ...range, from: event.currentTarget.value || day(-6) })}
          />
        </label>
        <label>
          To
          <input
            type="date"
            value={range.to}
            min={range.from}
            onChange={(event) => setRange({ ...range, to: event.currentTarget.value || day(0) })}
          />
        </label>
      </fieldset>
      {notice ? (
        <p class="ok" role="status" data-testid="notice">
          {notice}
        </p>
      ) : null}
      {failure ? <ErrorBox error={failure} /> : null}
      {open ? (
        <DraftEditor id={open} mayPublish={mayPublish} onClose={() => setOpen(undefined)} onDone={closed} />
      ) : null}
      <DraftQueue
        drafts={drafts.data?.drafts}
        error={drafts.error}
        openId={open}
        onOpen={(id) => {
          setNotice(undefined);
          setOpen(id);
        }}
      />
      <h2>Groups of questions</h2>
      {report.error ? <ErrorBox error={report.error} /> : null}
      {!report.data ? (
        report.error ? null : (
          <Loading what="Grouping questions" />
        )
      ) : (
        <>
          <div class="stats">
            <Stat
              label="Questions"
              value={report.data.questions}
              hint={`${report.data.from} – ${report.data.to}`}
            />
            <Stat
              label="Groups"
              value={report.data.gaps.length}
              hint={`${report.data.embedder}, similarity ≥ ${report.data.similarity}`}
            />
          </div>
          {report.data.truncated ? (
            <p class="muted">
              Only the most recent questions were grouped; narrow the dates to see older ones.
            </p>
          ) : null}
          {report.data.gaps.length === 0 ? (
            <p class="muted">No unanswered questions in these days.</p>
          ) : (
            <ol class="gap-list">
              {report.data.gaps.map((gap) => (
                <GapCard
                  key={gap.id}
                  gap={gap}
                  busy={busy === gap.id}
                  onDraft={() => startDraft(gap)}
                  onOpen={(id) => {
                    setNotice(undefined);
                    setOpen(id);
                  }}
                />
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}

function GapCard({
  gap,
  busy,
  onDraft,
  onOpen,
}: {
  gap: Gap;
  busy: boolean;
  onDraft: () => void;
  onOpen: (id: string) => void;
}) {
  const titleId = `gap-${gap.id}`;
  const published = gap.drafts.find((d) => d.status === 'published');
  const pending = gap.drafts.find((d) => d.status === 'draft');
  return (
    <li
      class={published && gap.open === 0 ? 'panel gap covered' : 'panel gap'}
      aria-labelledby={titleId}
      data-testid="gap"
    >
      <div class="gap-head">
        <h3 id={titleId}>{gap.question}</h3>
        <span class="gap-count" data-testid="gap-count" title="Questions in this group">
          {gap.count}
        </span>
      </div>
      <p class="muted gap-meta">
        {gap.tenant}
        {gap.language ? ` · ${gap.language}` : ''} · {gap.unanswered} unanswered, {gap.unhelpful} not helpful
        · last {gap.lastAt.slice(0, 10)}
      </p>
      <Sparkline trend={gap.trend} label={`Questions per day in this group, ${gap.trend.length} days`} />
      <details open={gap.examples.length <= 3}>
        <summary>How customers asked ({gap.examples.length})</summary>
        <ul class="examples">
          {gap.examples.map((example) => (
            <li key={example}>{example}</li>
          ))}
        </ul>
      </details>
      {gap.suggestedAnswer ? (
        <p class="suggested">
          <span class="muted">An agent answered: </span>
          {gap.suggestedAnswer.text}
        </p>
      ) : null}
      <div class="actions">
        {published ? (
          <span class="ok" data-testid="gap-status">
            Published
          </span>
        ) : null}
        {pending ? (
          <button type="button" class="secondary" onClick={() => onOpen(pending.id)}>
            Open draft
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={onDraft}>
            {busy ? 'Drafting…' : published ? 'Draft another entry' : 'Draft entry'}
          </button>
        )}
      </div>
    </li>
  );
}

/** Questions per day as a small bar chart; the numbers are in its label for screen readers. */
function Sparkline({ trend, label }: { trend: Gap['trend']; label: string }) {
  const width = 160;
  const height = 28;
  const max = Math.max(1, ...trend.map((point) => point.count));
  const step = width / Math.max(1, trend.length);
  const described = `${label}: ${trend.map((point) => `${point.day} ${point.count}`).join(', ')}`;
  return (
    <svg
      class="sparkline"
      role="img"
      aria-label={described}
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
    >
      {trend.map((point, index) => {
        const barHeight = point.count === 0 ? 1 : Math.max(3, (point.count / max) * (height - 2));
        return (
          <rect
            key={point.day}
            x={index * step + 1}
            y={height - barHeight}
            width={Math.max(1, step - 2)}
            height={barHeight}
            class={point.count === 0 ? 'zero' : undefined}
          />
        );
      })}
    </svg>
  );
}

function DraftQueue({
  drafts,
  error,
  openId,
  onOpen,
}: {
  drafts: Draft[] | undefined;
  error: unknown;
  openId: string | undefined;
  onOpen: (id: string) => void;
}) {
  if (error) return <ErrorBox error={error} />;
  if (!drafts || drafts.length === 0) return null;
  return (
    <section class="panel" aria-labelledby="queue-title">
      <h2 id="queue-title">Drafts awaiting review ({drafts.length})</h2>
      <ul class="queue">
        {drafts.map((draft) => (
          <li key={draft.id}>
            <button
              type="button"
              class="secondary"
              aria-current={draft.id === openId ? 'true' : undefined}
              onClick={() => onOpen(draft.id)}
            >
              {draft.title}
            </button>{' '}
            <span class="muted">
              {draft.tenant} · {draft.language} · {draft.createdByName}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function DraftEditor({
  id,
  mayPublish,
  onClose,
  onDone,
}: {
  id: string;
  mayPublish: boolean;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const loaded = useData(() => getJson<Draft>(`/admin/knowledge/drafts/${encodeURIComponent(id)}`), [id]);
  const [edits, setEdits] = useState<{ title?: string; questions?: string; answer?: string }>({});
  const [working, setWorking] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  if (loaded.error) return <ErrorBox error={loaded.error} />;
  const draft = loaded.data;
  if (!draft || draft.id !== id) return <Loading what="Opening the draft" />;
  const title = edits.title ?? draft.title;
  const questions = edits.questions ?? draft.questions.join('\n');
  const answer = edits.answer ?? draft.answer;
  const editable = draft.status === 'draft';
  const changes = () => ({
    title,
    answer,
    questions: questions
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean),
  });

  const run = async (what: string, work: () => Promise<void>) => {
    setWorking(what);
    setError(undefined);
    try {
      await work();
    } catch (failure) {
      setError(failure);
    } finally {
      setWorking(undefined);
    }
  };
  const save = () =>
    run('save', async () => {
      await sendJson<Draft>('PATCH', `/admin/knowledge/drafts/${id}`, changes());
      setEdits({});
      setSaved(true);
      loaded.reload();
    });
  const publish = () =>
    run('publish', async () => {
      await sendJson<Draft>('PATCH', `/admin/knowledge/drafts/${id}`, changes());
      await sendJson<Draft>('POST', `/admin/knowledge/drafts/${id}/publish`);
      onDone(`Published “${title}”: the bot answers from it now.`);
    });
  const reject = () =>
    run('reject', async () => {
      await sendJson<Draft>('POST', `/admin/knowledge/drafts/${id}/reject`);
      onDone(`Rejected the draft “${title}”.`);
    });

  return (
    <section class="panel editor" aria-labelledby="editor-title" data-testid="editor">
      <h2 id="editor-title">Knowledge entry draft</h2>
      <p class="muted">
        {draft.tenant} · {draft.language} · status {draft.status} · drafted by {draft.createdByName}
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <label for="draft-title">Question the entry answers</label>
        <input
          id="draft-title"
          value={title}
          disabled={!editable}
          maxLength={500}
          onInput={(event) => {
            setSaved(false);
            setEdits({ ...edits, title: event.currentTarget.value });
          }}
        />
        <label for="draft-questions">Other ways customers ask (one per line)</label>
        <textarea
          id="draft-questions"
          value={questions}
          disabled={!editable}
          rows={3}
          onInput={(event) => {
            setSaved(false);
            setEdits({ ...edits, questions: event.currentTarget.value });
          }}
        />
        <label for="draft-answer">Answer</label>
        <textarea
          id="draft-answer"
          value={answer}
          disabled={!editable}
          rows={6}
          onInput={(event) => {
            setSaved(false);
            setEdits({ ...edits, answer: event.currentTarget.value });
          }}
        />
        {error ? <ErrorBox error={error} /> : null}
        {saved ? (
          <p class="ok" role="status">
            Draft saved.
          </p>
        ) : null}
        <div class="actions">
          {editable ? (
            <button type="submit" class="secondary" disabled={working !== undefined}>
              {working === 'save' ? 'Saving…' : 'Save draft'}
            </button>
          ) : null}
          {editable && mayPublish ? (
            <>
              <button type="button" disabled={working !== undefined || !answer.trim()} onClick={publish}>
                {working === 'publish' ? 'Publishing…' : 'Publish'}
              </button>
              <button
                type="button"
                class="secondary danger"
                disabled={working !== undefined}
                onClick={reject}
              >
                Reject
              </button>
            </>
          ) : null}
          <button type="button" class="secondary" onClick={onClose}>
            Close
          </button>
        </div>
        {editable && !mayPublish ? <p class="muted">A supervisor reviews and publishes the draft.</p> : null}
      </form>
    </section>
  );
}
