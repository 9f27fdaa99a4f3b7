// The agent console of the embedded helpdesk. Text goes into the page only through textContent.
const $ = (id) => document.getElementById(id);
const store = window.sessionStorage;
let tickets = [];
let selected = store.getItem('hub.agent.ticket') || '';

$('agent').value = store.getItem('hub.agent.name') || '';
$('token').value = store.getItem('hub.agent.token') || '';
$('agent').addEventListener('change', () => store.setItem('hub.agent.name', $('agent').value.trim()));
$('token').addEventListener('change', () => {
  store.setItem('hub.agent.token', $('token').value.trim());
  load();
});
$('refresh').addEventListener('click', () => load());

async function call(method, path, body) {
  const headers = {};
  const token = $('token').value.trim();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
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
    const agent = $('agent').value.trim() || 'Agent';
    const body = action === 'reply' ? { agent, text: $('reply').value } : { agent };
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

load();
setInterval(load, 5000);
