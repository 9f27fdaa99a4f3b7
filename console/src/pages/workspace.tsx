import { Fragment } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { eventStream, getJson, sendJson } from '../api';
import type { Session } from '../session';
import { ErrorBox, Loading } from '../ui';
import './workspace.css';

/**
 * The agent workspace: the queue of conversations waiting for a person (per tenant, waiting first,
 * live over the server-sent events of GET /admin/tickets/events), and the ticket an agent works on —
 * the bot's case summary on top, the conversation, a reply box with replies suggested from the
 * knowledge base, internal notes, take / assign / solve. The embedded helpdesk's routes
 * (adapters/ticketing/demo) do the work; this page only shows and asks.
 */

interface Comment {
  id: string;
  author: string;
  text: string;
  public: boolean;
  at: string;
  kind?: 'reply' | 'note' | 'assign' | 'solve' | 'close';
  agent?: string;
}

interface TranscriptLine {
  role: string;
  text: string;
  at?: string;
}

interface Ticket {
  id: string;
  reference: string;
  subject: string;
  status: string;
  priority: string;
  category: string;
  assignee?: string;
  tenant: string;
  channel: string;
  summary: string;
  intent?: string;
  slots: Record<string, unknown>;
  entities: Record<string, string[]>;
  transcript: TranscriptLine[];
  comments: Comment[];
  createdAt: string;
  updatedAt: string;
}

interface Suggestion {
  id: string;
  title: string;
  text: string;
  source: string;
  url?: string;
}

interface Assignee {
  id: string;
  displayName: string;
  role: string;
}

interface DeskEvent {
  type: string;
  ticketId?: string;
}

const OPEN = new Set(['new', 'open']);

/** Waiting first (nobody took it, oldest first), then the caller's own, then the rest; done ones last. */
function queueOrder(me: string) {
  const rank = (t: Ticket) =>
    !OPEN.has(t.status) ? 3 : t.status === 'new' && !t.assignee ? 0 : t.assignee === me ? 1 : 2;
  return (a: Ticket, b: Ticket) => rank(a) - rank(b) || a.createdAt.localeCompare(b.createdAt);
}

const since = (iso: string) => {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60_000));
  return minutes < 60 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
};

const time = (iso?: string) =>
  iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';

export default function Workspace({ session }: { session: Session }) {
  const me = session.operator.displayName;
  const [tickets, setTickets] = useState<Ticket[]>();
  const [error, setError] = useState<unknown>();
  const [tenant, setTenant] = useState('');
  const [showDone, setShowDone] = useState(false);
  const [selectedId, setSelectedId] = useState<string | undefined>(
    () => new URLSearchParams(location.search).get('ticket') ?? undefined,
  );
  const [live, setLive] = useState<'connecting' | 'live'>('connecting');
  const [changed, setChanged] = useState<{ ticketId?: string; n: number }>({ n: 0 });

  const reload = useCallback(async () => {
    try {
      const { tickets } = await getJson<{ tickets: Ticket[] }>('/admin/tickets');
      setTickets(tickets);
      setError(undefined);
    } catch (caught) {
      setError(caught);
    }
  }, []);

  useEffect(() => {
    void reload();
    // Every change re-reads the list: the events carry no text, the list is the truth.
    return eventStream('/admin/tickets/events', (data: unknown) => {
      const event = data as DeskEvent;
      if (event.type === 'ready') {
        setLive('live');
        void reload();
        return;
      }
      void reload();
      setChanged((c) => ({ ticketId: event.ticketId, n: c.n + 1 }));
    });
  }, [reload]);

  const select = (id: string) => {
    setSelectedId(id);
    const url = new URL(location.href);
    url.searchParams.set('ticket', id);
    history.replaceState(history.state, '', url);
  };

  const tenants = useMemo(() => [...new Set((tickets ?? []).map((t) => t.tenant))].sort(), [tickets]);
  const queue = useMemo(
    () =>
      (tickets ?? [])
        .filter((t) => !tenant || t.tenant === tenant)
        .filter((t) => showDone || OPEN.has(t.status))
        .sort(queueOrder(me)),
    [tickets, tenant, showDone, me],
  );
  const waitingIn = (one?: string) =>
    (tickets ?? []).filter((t) => t.status === 'new' && !t.assignee && (!one || t.tenant === one)).length;
  const waiting = waitingIn(tenant || undefined);
  const selected = tickets?.find((t) => t.id === selectedId);

  return (
    <>
      <h1>Agent workspace</h1>
      <div class="workspace">
        <section
          class="ws-queue panel"
          aria-labelledby="ws-queue-title"
          data-state={tickets ? 'loaded' : 'loading'}
        >
          <div class="ws-queue-head">
            <h2 id="ws-queue-title">
              Queue <span class="ws-count">{waiting} waiting</span>
            </h2>
            <span class={`ws-live ws-live-${live}`} role="status">
              {live === 'live' ? 'Live' : 'Connecting…'}
            </span>
          </div>
          <div class="ws-queue-filters">
            <label>
              Tenant{' '}
              <select value={tenant} onChange={(e) => setTenant((e.target as HTMLSelectElement).value)}>
                <option value="">All</option>
                {tenants.map((t) => (
                  <option key={t} value={t}>
                    {t} ({waitingIn(t)} waiting)
                  </option>
                ))}
              </select>
            </label>
            <label>
              <input
                type="checkbox"
                checked={showDone}
                onChange={(e) => setShowDone((e.target as HTMLInputElement).checked)}
              />{' '}
              Solved and closed
            </label>
          </div>
          {error ? <ErrorBox error={error} /> : null}
          {!tickets && !error ? <Loading /> : null}
          {tickets && queue.length === 0 ? <p class="ws-empty">Nobody is waiting.</p> : null}
          <ul class="ws-list" data-testid="queue">
            {queue.map((t) => (
              <li key={t.id}>
                <button
                  type="button"
                  class={`ws-item${t.id === selectedId ? ' ws-selected' : ''}`}
                  aria-current={t.id === selectedId ? 'true' : undefined}
                  data-ticket={t.id}
                  onClick={() => select(t.id)}
                >
                  <span class="ws-item-subject">{t.subject}</span>
                  <span class="ws-item-meta">
                    <span class={`ws-badge ws-status-${t.status}`}>
                      {t.status === 'new' && !t.assignee ? 'waiting' : t.status}
                    </span>
                    <span>{t.tenant}</span>
                    <span>{t.channel}</span>
                    <span>{t.assignee ?? 'nobody yet'}</span>
                    <span>{since(t.createdAt)}</span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
        <section class="ws-ticket panel" aria-label="Ticket">
          {selected ? (
            <TicketView
              key={selected.id}
              ticket={selected}
              session={session}
              changed={changed.ticketId === selected.id ? changed.n : 0}
              onChange={reload}
            />
          ) : (
            <p class="ws-empty">Pick a conversation from the queue.</p>
          )}
        </section>
      </div>
    </>
  );
}

function TicketView(props: {
  ticket: Ticket;
  session: Session;
  changed: number;
  onChange: () => Promise<void>;
}) {
  const { ticket, session, onChange } = props;
  const me = session.operator.displayName;
  const canAct = session.can('tickets.act');
  const canAssign = session.can('tickets.assign');
  const open = OPEN.has(ticket.status);
  const mine = ticket.assignee === me;
  const othersTicket = session.operator.role === 'agent' && ticket.assignee !== undefined && !mine;
  const [reply, setReply] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState('');
  const replyBox = useRef<HTMLTextAreaElement>(null);

  const act = async (label: string, run: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await run();
      setNotice(label);
      await onChange();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const insert = (text: string) => {
    setReply((current) => (current.trim() ? `${current.trimEnd()}\n\n${text}` : text));
    replyBox.current?.focus();
  };

  return (
    <article class="ws-case" data-testid="ticket">
      <header class="ws-case-head">
        <h2>{ticket.subject}</h2>
        <p class="ws-case-meta">
          <span class={`ws-badge ws-status-${ticket.status}`}>{ticket.status}</span>
          <span>{ticket.reference}</span>
          <span>
            {ticket.tenant} · {ticket.channel}
          </span>
          <span>
            {ticket.priority} · {ticket.category}
          </span>
          <span>{ticket.assignee ? `Assigned to ${ticket.assignee}` : 'Not taken'}</span>
        </p>
      </header>

      <CaseSummary ticket={ticket} />

      {canAct && open && !othersTicket ? (
        <div class="ws-actions">
          {!mine ? (
            <button
              type="button"
              disabled={busy}
              onClick={() => act('Taken', () => sendJson('POST', `/admin/tickets/${ticket.id}/assign`, {}))}
            >
              Take
            </button>
          ) : null}
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              act('Solved; the bot answers again', () =>
                sendJson('POST', `/admin/tickets/${ticket.id}/solve`, {}),
              )
            }
          >
            Solve and return to the bot
          </button>
          {canAssign ? <AssignControl ticket={ticket} busy={busy} act={act} /> : null}
        </div>
      ) : null}
      {othersTicket ? <p class="ws-empty">{ticket.assignee} works on this conversation.</p> : null}
      {notice ? (
        <p class="ws-notice" role="status">
          {notice}
        </p>
      ) : null}
      {error ? <ErrorBox error={error} /> : null}

      <Conversation ticket={ticket} />

      {canAct && open && !othersTicket ? (
        <div class="ws-compose">
          <form
            class="ws-reply"
            onSubmit={(e) => {
              e.preventDefault();
              const text = reply.trim();
              if (!text) return;
              void act('Sent to the customer', async () => {
                await sendJson('POST', `/admin/tickets/${ticket.id}/reply`, { text });
                setReply('');
              });
            }}
          >
            <label for="ws-reply-text">Reply to the customer</label>
            <textarea
              id="ws-reply-text"
              ref={replyBox}
              rows={4}
              value={reply}
              onInput={(e) => setReply((e.target as HTMLTextAreaElement).value)}
            />
            <button type="submit" disabled={busy || !reply.trim()}>
              Send reply
            </button>
          </form>
          <Suggestions ticket={ticket} changed={props.changed} onInsert={insert} />
          <form
            class="ws-note"
            onSubmit={(e) => {
              e.preventDefault();
              const text = note.trim();
              if (!text) return;
              void act('Note added (agents only)', async () => {
                await sendJson('POST', `/admin/tickets/${ticket.id}/note`, { text });
                setNote('');
              });
            }}
          >
            <label for="ws-note-text">Internal note (never sent to the customer)</label>
            <textarea
              id="ws-note-text"
              rows={2}
              value={note}
              onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)}
            />
            <button type="submit" disabled={busy || !note.trim()}>
              Add note
            </button>
          </form>
        </div>
      ) : null}
    </article>
  );
}

/** What the bot knows: its summary, the intent, the slots it filled and the entities the customer named. */
function CaseSummary({ ticket }: { ticket: Ticket }) {
  const slots = Object.entries(ticket.slots).filter(([, v]) => v !== undefined && v !== null && v !== '');
  const entities = Object.entries(ticket.entities).filter(([, values]) => values.length > 0);
  const tried = ticket.transcript.filter((line) => line.role !== 'customer').length;
  return (
    <section class="ws-summary" aria-labelledby="ws-summary-title" data-testid="case-summary">
      <h3 id="ws-summary-title">Case summary</h3>
      <p class="ws-summary-text">{ticket.summary}</p>
      <dl class="ws-facts">
        <dt>Intent</dt>
        <dd>{ticket.intent ?? 'not recognised'}</dd>
        {slots.map(([key, value]) => (
          <Fragment key={`s-${key}`}>
            <dt>{key}</dt>
            <dd>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
          </Fragment>
        ))}
        {entities.map(([kind, values]) => (
          <Fragment key={`e-${kind}`}>
            <dt>{kind.replace(/_/g, ' ')}</dt>
            <dd>{values.join(', ')}</dd>
          </Fragment>
        ))}
        <dt>Tried</dt>
        <dd>
          {tried === 0
            ? 'No bot answer before the handoff'
            : `${tried} bot answer${tried === 1 ? '' : 's'} before the handoff`}
        </dd>
      </dl>
    </section>
  );
}

const ROLE_LABEL: Record<string, string> = {
  customer: 'Customer',
  bot: 'Bot',
  assistant: 'Bot',
  agent: 'Agent',
};

/** The conversation before the handoff, then the ticket's thread: customer messages, replies, notes. */
function Conversation({ ticket }: { ticket: Ticket }) {
  // The ticket's first comment is the bot's description: the summary above already says it.
  const thread = ticket.comments.filter((c) => c.author !== 'bot');
  return (
    <section class="ws-thread" aria-labelledby="ws-thread-title">
      <h3 id="ws-thread-title">Conversation</h3>
      <ol class="ws-lines" data-testid="thread">
        {ticket.transcript.map((line, i) => (
          <li key={`t${i}`} class={`ws-line ws-from-${line.role === 'customer' ? 'customer' : 'bot'}`}>
            <span class="ws-who">
              {ROLE_LABEL[line.role] ?? line.role} {time(line.at)}
            </span>
            <span class="ws-text">{line.text}</span>
          </li>
        ))}
        {thread.map((c) => {
          const kind = c.kind ?? (c.author === 'customer' ? 'customer' : c.public ? 'reply' : 'system');
          const cls =
            kind === 'note'
              ? 'note'
              : kind === 'reply'
                ? 'agent'
                : kind === 'customer'
                  ? 'customer'
                  : 'system';
          const who =
            kind === 'note'
              ? `Internal note · ${c.agent ?? 'agent'}`
              : kind === 'reply'
                ? (c.agent ?? 'Agent')
                : kind === 'customer'
                  ? 'Customer'
                  : 'Desk';
          return (
            <li key={c.id} class={`ws-line ws-from-${cls}`} data-kind={kind}>
              <span class="ws-who">
                {who} {time(c.at)}
              </span>
              <span class="ws-text">{c.text}</span>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

/** The knowledge base's answers to the customer's last question; a click puts one in the reply box. */
function Suggestions(props: { ticket: Ticket; changed: number; onInsert: (text: string) => void }) {
  const { ticket, changed, onInsert } = props;
  const [suggestions, setSuggestions] = useState<Suggestion[]>();
  const [error, setError] = useState<unknown>();
  const customerLines = ticket.comments.filter((c) => c.author === 'customer').length;
  useEffect(() => {
    let current = true;
    getJson<{ suggestions: Suggestion[] }>(`/admin/tickets/${ticket.id}/suggestions`)
      .then((answer) => current && setSuggestions(answer.suggestions))
      .catch((caught) => current && setError(caught));
    return () => {
      current = false;
    };
    // A new customer message is a new question: ask again.
  }, [ticket.id, customerLines, changed]);
  return (
    <section class="ws-suggestions" aria-labelledby="ws-suggestions-title">
      <h3 id="ws-suggestions-title">Suggested replies</h3>
      {error ? <ErrorBox error={error} /> : null}
      {!suggestions && !error ? <Loading /> : null}
      {suggestions?.length === 0 ? <p class="ws-empty">The knowledge base has nothing close.</p> : null}
      <ul class="ws-suggestion-list" data-testid="suggestions">
        {(suggestions ?? []).map((s) => (
          <li key={s.id}>
            <button type="button" class="ws-suggestion" onClick={() => onInsert(s.text)}>
              <span class="ws-suggestion-title">{s.title}</span>
              <span class="ws-suggestion-text">{s.text}</span>
              <span class="ws-suggestion-insert">Insert</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function AssignControl(props: {
  ticket: Ticket;
  busy: boolean;
  act: (label: string, run: () => Promise<unknown>) => Promise<void>;
}) {
  const { ticket, busy, act } = props;
  const [assignees, setAssignees] = useState<Assignee[]>();
  const [chosen, setChosen] = useState('');
  useEffect(() => {
    getJson<{ assignees: Assignee[] }>('/admin/tickets/assignees')
      .then((answer) => setAssignees(answer.assignees))
      .catch(() => setAssignees([]));
  }, []);
  const options = (assignees ?? []).filter((a) => a.displayName !== ticket.assignee);
  return (
    <form
      class="ws-assign"
      onSubmit={(e) => {
        e.preventDefault();
        if (!chosen) return;
        const name = options.find((a) => a.id === chosen)?.displayName ?? '';
        void act(`Assigned to ${name}`, () =>
          sendJson('POST', `/admin/tickets/${ticket.id}/assignee`, { operatorId: chosen }),
        );
      }}
    >
      <label for="ws-assignee">Assign to</label>
      <select
        id="ws-assignee"
        value={chosen}
        onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}
      >
        <option value="">Choose…</option>
        {options.map((a) => (
          <option key={a.id} value={a.id}>
            {a.displayName} ({a.role})
          </option>
        ))}
      </select>
      <button type="submit" disabled={busy || !chosen}>
        Assign
      </button>
    </form>
  );
}
