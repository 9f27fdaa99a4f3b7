import type { TargetedEvent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api';
import { navigate } from '../app';
import type { PageProps } from '../pages';
import { type Column, DataTable, ErrorBox, fmtMs, Loading, useData } from '../ui';
import './conversations.css';

/**
 * Conversations: search by customer, channel, intent, outcome, rating and date; open one to read
 * its transcript, each customer turn with the bot's trace (GET /admin/conversations[/<id>]). The
 * hub masks what an analyst may not read; this page shows what it is given. The search and the
 * open conversation live in the address (`?customer=…&id=…`), so back, reload and links work.
 */

const PATH = '/console/conversations';
const OUTCOMES = ['open', 'bot_resolved', 'handed_off', 'abandoned', 'ended_unanswered'] as const;
const OUTCOME_LABELS: Record<string, string> = {
  open: 'Open',
  bot_resolved: 'Bot-resolved',
  handed_off: 'Handed off',
  abandoned: 'Abandoned',
  ended_unanswered: 'Ended unanswered',
};
const RATINGS = [
  ['5', '5'],
  ['4-5', '4–5'],
  ['3', '3'],
  ['1-2', '1–2'],
  ['1', '1'],
] as const;
const FILTER_KEYS = ['customer', 'tenant', 'channel', 'intent', 'outcome', 'rating', 'from', 'to'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
type Search = Partial<Record<FilterKey, string>> & { page?: string };

interface Summary {
  id: string;
  tenant: string;
  channel: string;
  customerId: string | null;
  startedAt: string;
  lastAt: string;
  turns: number;
  lastIntent: string | null;
  outcome: string | null;
  rating: number | null;
}

interface Passage {
  id: string;
  score: number;
  title?: string;
  section?: string;
  text?: string;
}

interface Trace {
  intent?: { name: string; confidence: number; tier: string };
  decision?: string;
  retrieved: Passage[];
  model?: string;
  citations: Array<{ id: string; title?: string; url?: string }>;
  source?: string;
  actions: string[];
  latencyMs?: number;
  outcome?: string;
  language?: string;
  feedback?: string;
  rating?: number;
}

interface Line {
  who: 'customer' | 'bot' | 'agent';
  kind: string;
  at: string;
  text: string;
  trace?: Trace;
}

interface SearchAnswer {
  conversations: Summary[];
  page: number;
  pageSize: number;
  hasMore: boolean;
}

interface ConversationAnswer {
  conversation: Summary;
  lines: Line[];
  truncated: boolean;
}

/** The address's query as the page's state. */
function useQuery(): URLSearchParams {
  const [search, setSearch] = useState(window.location.search);
  useEffect(() => {
    const update = () => setSearch(window.location.search);
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return new URLSearchParams(search);
}

function go(query: Record<string, string | undefined>): void {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
  const text = params.toString();
  navigate(text ? `${PATH}?${text}` : PATH);
}

function searchOf(query: URLSearchParams): Search {
  const search: Search = {};
  for (const key of [...FILTER_KEYS, 'page'] as const) {
    const value = query.get(key);
    if (value) search[key] = value;
  }
  return search;
}

const when = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
const outcomeLabel = (outcome: string | null) => (outcome ? (OUTCOME_LABELS[outcome] ?? outcome) : '–');

export default function ConversationsPage({ session }: PageProps) {
  const query = useQuery();
  const search = searchOf(query);
  const id = query.get('id');
  return (
    <>
      <h1>Conversations</h1>
      {id ? (
        <Transcript id={id} back={search} />
      ) : (
        <>
          <SearchForm key={JSON.stringify(search)} value={search} tenants={session.operator.tenants} />
          <Results search={search} />
        </>
      )}
    </>
  );
}

function SearchForm({ value, tenants }: { value: Search; tenants: string[] }) {
  // The page gives the form a key per search, so back and forward bring a fresh draft.
  const [draft, setDraft] = useState<Search>(value);
  const set = (key: FilterKey) => (event: TargetedEvent<HTMLInputElement | HTMLSelectElement>) =>
    setDraft({ ...draft, [key]: event.currentTarget.value || undefined });
  const submit = (event: Event) => {
    event.preventDefault();
    go({ ...draft, page: undefined });
  };
  const scoped = !tenants.includes('*');
  return (
    <form class="conv-search panel" aria-label="Search conversations" onSubmit={submit}>
      <label class="wide">
        Customer
        <input
          name="customer"
          value={draft.customer ?? ''}
          onInput={set('customer')}
          placeholder="uuid, user id or channel:user id"
          autoComplete="off"
        />
      </label>
      {scoped ? (
        <label>
          Tenant
          <select name="tenant" value={draft.tenant ?? ''} onChange={set('tenant')}>
            <option value="">All yours</option>
            {tenants.map((tenant) => (
              <option key={tenant} value={tenant}>
                {tenant}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <label>
          Tenant
          <input name="tenant" value={draft.tenant ?? ''} onInput={set('tenant')} autoComplete="off" />
        </label>
      )}
      <label>
        Channel
        <input name="channel" value={draft.channel ?? ''} onInput={set('channel')} autoComplete="off" />
      </label>
      <label>
        Intent
        <input name="intent" value={draft.intent ?? ''} onInput={set('intent')} autoComplete="off" />
      </label>
      <label>
        Outcome
        <select name="outcome" value={draft.outcome ?? ''} onChange={set('outcome')}>
          <option value="">Any</option>
          {OUTCOMES.map((outcome) => (
            <option key={outcome} value={outcome}>
              {OUTCOME_LABELS[outcome]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Rating
        <select name="rating" value={draft.rating ?? ''} onChange={set('rating')}>
          <option value="">Any</option>
          {RATINGS.map(([rating, label]) => (
            <option key={rating} value={rating}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        From
        <input type="date" name="from" value={draft.from ?? ''} onInput={set('from')} />
      </label>
      <label>
        To
        <input type="date" name="to" value={draft.to ?? ''} onInput={set('to')} />
      </label>
      <div class="conv-actions">
        <button type="submit">Search</button>
        <button type="button" class="secondary" onClick={() => go({})}>
          Clear
        </button>
      </div>
    </form>
  );
}

function Results({ search }: { search: Search }) {
  const page = Math.max(1, Number(search.page ?? 1) || 1);
  const key = JSON.stringify(search);
  const { data, error, loading } = useData(
    () => getJson<SearchAnswer>('/admin/conversations', { ...search, page }),
    [key],
  );
  const open = (row: Summary) => go({ ...search, id: row.id });
  const columns: Column<Summary>[] = [
    {
      key: 'lastAt',
      label: 'Last activity',
      render: (row) => (
        <a
          href={`${PATH}?${new URLSearchParams({ ...clean(search), id: row.id })}`}
          data-testid="open-conversation"
          onClick={(event) => {
            if (event.ctrlKey || event.metaKey || event.shiftKey) return;
            event.preventDefault();
            open(row);
          }}
        >
          {when(row.lastAt)}
        </a>
      ),
    },
    { key: 'tenant', label: 'Tenant' },
    { key: 'channel', label: 'Channel' },
    { key: 'turns', label: 'Turns', numeric: true },
    { key: 'lastIntent', label: 'Last intent', render: (row) => row.lastIntent ?? '–' },
    { key: 'outcome', label: 'Outcome', render: (row) => outcomeLabel(row.outcome) },
    { key: 'rating', label: 'Rating', numeric: true, render: (row) => row.rating ?? '–' },
    { key: 'startedAt', label: 'Started', render: (row) => when(row.startedAt) },
  ];
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading what="Searching" />;
  return (
    <section class="conv-results" aria-labelledby="conv-results" aria-busy={loading}>
      <h2 id="conv-results">
        {data.conversations.length === 0 && page === 1 ? 'No conversation matches' : `Results, page ${page}`}
      </h2>
      <DataTable
        columns={columns}
        rows={data.conversations}
        rowKey={(row) => row.id}
        caption="Conversations, newest activity first"
        empty="Try fewer filters or another date range."
      />
      {page > 1 || data.hasMore ? (
        <nav class="conv-pages" aria-label="Result pages">
          <button
            type="button"
            class="secondary"
            disabled={page <= 1}
            onClick={() => go({ ...search, page: String(page - 1) })}
          >
            Previous
          </button>
          <button
            type="button"
            class="secondary"
            disabled={!data.hasMore}
            onClick={() => go({ ...search, page: String(page + 1) })}
          >
            Next
          </button>
        </nav>
      ) : null}
    </section>
  );
}

function clean(search: Search): Record<string, string> {
  return Object.fromEntries(Object.entries(search).filter((entry): entry is [string, string] => !!entry[1]));
}

function Transcript({ id, back }: { id: string; back: Search }) {
  const { data, error } = useData(
    () => getJson<ConversationAnswer>(`/admin/conversations/${encodeURIComponent(id)}`),
    [id],
  );
  const backLink = (
    <a
      href={`${PATH}?${new URLSearchParams(clean(back))}`}
      onClick={(event) => {
        event.preventDefault();
        go({ ...back });
      }}
    >
      ← Back to the results
    </a>
  );
  if (error) {
    return (
      <>
        <p>{backLink}</p>
        <ErrorBox error={error} />
      </>
    );
  }
  if (!data) return <Loading what="Opening the conversation" />;
  const { conversation, lines, truncated } = data;
  return (
    <section aria-labelledby="conv-title" data-testid="transcript">
      <p>{backLink}</p>
      <h2 id="conv-title">
        {conversation.channel} · {conversation.tenant} · {when(conversation.startedAt)}
      </h2>
      <dl class="conv-facts">
        <div>
          <dt>Outcome</dt>
          <dd>{outcomeLabel(conversation.outcome)}</dd>
        </div>
        <div>
          <dt>Rating</dt>
          <dd>{conversation.rating ?? '–'}</dd>
        </div>
        <div>
          <dt>Turns</dt>
          <dd>{conversation.turns}</dd>
        </div>
        <div>
          <dt>Last activity</dt>
          <dd>{when(conversation.lastAt)}</dd>
        </div>
        <div>
          <dt>Customer</dt>
          <dd class="conv-id">{conversation.customerId ?? '–'}</dd>
        </div>
      </dl>
      {truncated ? <p class="muted">Only the newest {lines.length} lines are shown.</p> : null}
      <ol class="conv-lines">
        {lines.map((line, index) => (
          <li
            key={`${line.at}-${index}`}
            class={`conv-line conv-${line.who}`}
            data-testid="line"
            data-who={line.who}
          >
            <div class="conv-meta">
              <span class="conv-who">
                {line.who === 'customer' ? 'Customer' : line.who === 'agent' ? 'Agent' : 'Bot'}
              </span>{' '}
              <time dateTime={line.at}>{when(line.at)}</time>
            </div>
            <p class="conv-text" data-testid="line-text">
              {line.text || <span class="muted">[{line.kind}]</span>}
            </p>
            {line.trace ? <TraceView trace={line.trace} /> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

function TraceView({ trace }: { trace: Trace }) {
  const headline = [
    trace.intent ? `${trace.intent.name} ${trace.intent.confidence.toFixed(2)}` : undefined,
    trace.decision,
    trace.rating === undefined ? undefined : `rated ${trace.rating}`,
    trace.feedback,
    trace.latencyMs === undefined ? undefined : fmtMs(trace.latencyMs),
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <details class="conv-trace" data-testid="trace">
      <summary>Trace{headline ? `: ${headline}` : ''}</summary>
      <dl class="conv-facts">
        {trace.intent ? (
          <>
            <div>
              <dt>Intent</dt>
              <dd data-testid="trace-intent">{trace.intent.name}</dd>
            </div>
            <div>
              <dt>Confidence</dt>
              <dd data-testid="trace-confidence">
                {trace.intent.confidence.toFixed(2)} ({trace.intent.tier})
              </dd>
            </div>
          </>
        ) : null}
        <Fact label="Decision" value={trace.decision} />
        <Fact label="Written by" value={trace.source} />
        <Fact label="Model" value={trace.model} />
        <Fact label="Actions" value={trace.actions.join(', ') || undefined} />
        <Fact
          label="Latency"
          value={trace.latencyMs === undefined ? undefined : fmtMs(trace.latencyMs)}
          testid="trace-latency"
        />
        <Fact label="Language" value={trace.language} />
        <Fact label="Feedback" value={trace.feedback} />
        <Fact label="Rating" value={trace.rating === undefined ? undefined : String(trace.rating)} />
      </dl>
      {trace.retrieved.length ? (
        <div class="table-wrap">
          <table class="conv-passages">
            <caption>Retrieved passages</caption>
            <thead>
              <tr>
                <th scope="col">Passage</th>
                <th scope="col" class="num">
                  Score
                </th>
              </tr>
            </thead>
            <tbody>
              {trace.retrieved.map((passage) => (
                <tr key={passage.id} data-testid="passage">
                  <td>
                    <strong>{passage.title ?? passage.id}</strong>
                    {passage.title ? <span class="muted conv-id"> {passage.id}</span> : null}
                    {passage.text ? <p class="conv-snippet">{passage.text}</p> : null}
                  </td>
                  <td class="num" data-testid="passage-score">
                    {passage.score.toFixed(3)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted">No passages retrieved.</p>
      )}
      {trace.citations.length ? (
        <p>
          Cited:{' '}
          {trace.citations.map((citation, index) => (
            <span key={citation.id}>
              {index ? ', ' : ''}
              {citation.url && /^https?:\/\//.test(citation.url) ? (
                <a href={citation.url} rel="noopener noreferrer" target="_blank">
                  {citation.title ?? citation.id}
                </a>
              ) : (
                (citation.title ?? citation.id)
              )}
            </span>
          ))}
        </p>
      ) : null}
    </details>
  );
}

function Fact({ label, value, testid }: { label: string; value?: string; testid?: string }) {
  if (value === undefined) return null;
  return (
    <div>
      <dt>{label}</dt>
      <dd data-testid={testid}>{value}</dd>
    </div>
  );
}
