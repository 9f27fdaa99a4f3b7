// The agent console of the embedded helpdesk. Text goes into the page only through textContent.
// Who the agent is comes from their session (GET /admin/me), never from anything typed here.
const $ = (id) => document.getElementById(id);
const store = window.sessionStorage;
let tickets = [];
let selected = store.getItem('hub.agent.ticket') || '';
let csrfToken = '';

const toLogin = () => window.location.assign(`/login?next=${encodeURIComponent('/agent')}`);

$('refresh').addEventListener('click', () => load());
$('logout').addEventListener('click', async () => {
  await call('POST', '/auth/logout', {}).catch(() => {});
  toLogin();
});

async function call(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    toLogin();
    throw new Error('Signed out');
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error?.message || `${response.status} ${response.statusText}`);
  return data;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function renderList() {
  const list = $('tickets');
  list.replaceChildren();
  for (const ticket of tickets) {
    const item = el('li', undefined, ticket.id === selected ? 'selected' : '');
    item.append(el('span', ticket.status + (ticket.assignee ? ` · ${ticket.assignee}` : ''), 'state'));
    item.append(el('strong', `#${ticket.id} `), el('span', ticket.subject));
    item.addEventListener('click', () => {
      selected = ticket.id;
      store.setItem('hub.agent.ticket', selected);
      renderList();
      renderTicket();
    });
    list.append(item);
  }
}

function renderTicket() {
  const ticket = tickets.find((t) => t.id === selected);
  $('ticket').hidden = !ticket;
  if (!ticket) return;
  $('subject').textContent = `#${ticket.id} ${ticket.subject}`;
  $('meta').textContent =
    `${ticket.reference} · ${ticket.channel} · ${ticket.status} · ${ticket.priority} · ${ticket.category}${ticket.assignee ? ` · ${ticket.assignee}` : ''}`;
  $('summary').textContent = ticket.summary;
  const thread = $('thread');
  thread.replaceChildren();
  for (const line of ticket.transcript) {
    const item = el('li', undefined, line.role);
    item.append(el('span', `${line.role} · ${line.at}`, 'who'), document.createTextNode(line.text));
    thread.append(item);
  }
  // The first comment is the ticket description the hub wrote; the transcript above already shows it.
  for (const comment of ticket.comments.slice(1)) {
    // What the customer wrote while the ticket was open arrives as their public comments.
    const kind = !comment.public ? 'note' : comment.author === 'customer' ? 'customer' : 'agent';
    const item = el('li', undefined, kind);
    item.append(el('span', `${comment.author}${comment.public ? '' : ' (internal)'} · ${comment.at}`, 'who'));
    item.append(document.createTextNode(comment.text));
    thread.append(item);
  }
  const closed = ticket.status === 'closed';
  for (const button of document.querySelectorAll('.actions button')) button.disabled = closed;
}

async function load() {
  try {
    tickets = (await call('GET', '/admin/tickets')).tickets;
    $('status').textContent = tickets.length
      ? ''
      : 'No tickets yet. A customer saying "I want a human" opens one.';
    renderList();
    renderTicket();
  } catch (error) {
    $('status').textContent = error.message;
  }
}

for (const button of document.querySelectorAll('.actions button')) {
  button.addEventListener('click', async () => {
    const action = button.dataset.action;
    const body = action === 'reply' ? { text: $('reply').value } : {};
    try {
      await call('POST', `/admin/tickets/${encodeURIComponent(selected)}/${action}`, body);
      if (action === 'reply') $('reply').value = '';
      $('status').textContent = '';
      await load();
    } catch (error) {
      $('status').textContent = error.message;
    }
  });
}

async function start() {
  const me = await call('GET', '/admin/me');
  csrfToken = me.csrfToken || '';
  $('me').textContent = `${me.operator.displayName} (${me.operator.role})`;
  await load();
  setInterval(load, 5000);
}

start().catch((error) => {
  $('status').textContent = error.message;
});
