// The web chat widget: no framework and no build step. Whatever comes from the server becomes text
// nodes (never HTML), and links are kept only for http(s) and mailto URLs.

const STRINGS = {
  en: {
    title: 'Customer service',
    connecting: 'Connecting…',
    online: 'Online',
    offline: 'Reconnecting…',
    welcomeTitle: 'Hi there 👋',
    welcomeText: 'Ask us anything about your order, delivery, returns or invoices.',
    placeholder: 'Type a message…',
    send: 'Send',
    typing: 'Agent is typing…',
    sources: 'Sources',
    sending: 'Sending…',
    failed: 'Not sent',
    agent: 'Agent',
  },
  zh: {
    title: '在线客服',
    connecting: '正在连接…',
    online: '在线',
    offline: '正在重新连接…',
    welcomeTitle: '您好 👋',
    welcomeText: '关于订单、配送、退货或发票的问题，都可以问我们。',
    placeholder: '输入消息…',
    send: '发送',
    typing: '客服正在输入…',
    sources: '来源',
    sending: '发送中…',
    failed: '发送失败',
    agent: '人工客服',
  },
};

const language = navigator.language || 'en';
const lang = language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
const t = (key) => STRINGS[lang][key] ?? STRINGS.en[key];
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
const byId = (id) => document.getElementById(id);

const channel = meta('webchat-channel');
const wsPath = meta('webchat-ws');
const title = meta('webchat-title') || t('title');
const els = {
  messages: byId('messages'),
  empty: byId('empty'),
  typing: byId('typing'),
  form: byId('composer'),
  input: byId('input'),
  send: byId('send'),
  status: byId('status'),
  statusText: byId('status-text'),
};

/* ---------- storage: private browsing can refuse localStorage; the chat still works for the tab ---------- */

const storage = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch {
      /* keep going in memory */
    }
  },
  remove(key) {
    try {
      localStorage.removeItem(key);
    } catch {
      /* nothing stored */
    }
  },
};

function randomId(bytes) {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...data))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replaceAll('=', '');
}

const sessionKey = `hub-webchat:${channel}:session`;
const tokenKey = `hub-webchat:${channel}:token`;
const pendingKey = `hub-webchat:${channel}:pending`;

/**
 * The conversation and the hub's signed token for it. The hub names a new session in its first
 * frame; a reconnect must present the token, which the hub renews before it expires.
 */
let session = storage.get(sessionKey);
let sessionToken = storage.get(tokenKey);

function keepSession(frame) {
  session = frame.session;
  sessionToken = frame.token;
  storage.set(sessionKey, session);
  storage.set(tokenKey, sessionToken);
}

function forgetSession() {
  session = null;
  sessionToken = null;
  storage.remove(sessionKey);
  storage.remove(tokenKey);
}

/** Frames sent but not acknowledged; resent with the same id after a reconnect, so the server dedupes. */
const pending = new Map();
try {
  for (const frame of JSON.parse(storage.get(pendingKey) || '[]')) pending.set(frame.id, frame);
} catch {
  /* a corrupt entry is dropped */
}
const savePending = () => storage.set(pendingKey, JSON.stringify([...pending.values()]));

/* ---------- safe rendering ---------- */

function safeUrl(url, protocols = ['http:', 'https:', 'mailto:']) {
  try {
    const parsed = new URL(url, location.href);
    return protocols.includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function link(href, text, className) {
  const anchor = el('a', className, text);
  anchor.href = href;
  anchor.target = '_blank';
  anchor.rel = 'noopener noreferrer';
  return anchor;
}

// A bare URL does not swallow the punctuation that ends its sentence, nor what follows it without a
// space in Chinese text: it stops at the first CJK character or full-width sign (（）。，、「」…).
const NOT_IN_URL = String.raw`\s<>()\u2018-\u201f\u2026\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef`;
const INLINE = new RegExp(
  String.raw`\*\*([^*]+)\*\*|` +
    '`([^`]+)`|' +
    String.raw`\[([^\]]+)\]\(([^)\s]+)\)|` +
    String.raw`(https?:\/\/[^${NOT_IN_URL}]*[^${NOT_IN_URL}.,;:!?'"])`,
  'g',
);

/** **bold**, `code`, [text](url) and bare URLs, built as DOM nodes; anything else stays literal text. */
function appendInline(parent, text) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    parent.append(text.slice(last, match.index));
    const [whole, bold, code, label, href, bare] = match;
    const url = safeUrl(href ?? bare ?? '');
    if (bold) parent.append(el('strong', '', bold));
    else if (code) parent.append(el('code', '', code));
    else if (url) parent.append(link(url, label ?? bare));
    else parent.append(label ?? whole);
    last = match.index + whole.length;
  }
  parent.append(text.slice(last));
}

const clock = new Intl.DateTimeFormat(language, { hour: '2-digit', minute: '2-digit' });
const timeOf = (iso) => {
  const date = iso ? new Date(iso) : new Date();
  return Number.isNaN(date.getTime()) ? '' : clock.format(date);
};

/* ---------- message list ---------- */

const rows = new Map();

function addRow(key, who, bubble, at) {
  const row = el('div', `row ${who}`);
  row.append(bubble);
  const info = el('div', 'meta', timeOf(at));
  row.append(info);
  rows.set(key, row);
  els.empty.hidden = true;
  els.messages.append(row);
  return row;
}

const scrollDown = () => {
  els.messages.scrollTop = els.messages.scrollHeight;
};

function setUserState(clientId, state) {
  const row = rows.get(`in:${clientId}`);
  if (!row) return;
  row.classList.toggle('pending', state === 'pending');
  row.classList.toggle('failed', state === 'failed');
  const info = row.querySelector('.meta');
  if (state === 'pending') info.textContent = t('sending');
  else if (state === 'failed') info.textContent = t('failed');
  else if (info.textContent === t('sending')) info.textContent = timeOf();
}

function renderUser(clientId, text, state, at) {
  if (rows.has(`in:${clientId}`)) return setUserState(clientId, state);
  addRow(`in:${clientId}`, 'user', el('div', 'bubble', text), at);
  setUserState(clientId, state);
}

function renderChoices(parent, choices) {
  const group = el('div', 'choices');
  for (const choice of choices) {
    const button = el('button', 'choice', choice.title);
    button.type = 'button';
    button.addEventListener('click', () => {
      for (const other of group.querySelectorAll('button')) other.disabled = true;
      sendFrame(
        { type: 'action', id: randomId(12), actionId: choice.id, title: choice.title, locale: language },
        choice.title,
      );
    });
    group.append(button);
  }
  parent.append(group);
}

function renderContent(content) {
  const bubble = el('div', 'bubble');
  if (content.type === 'text') {
    if (content.format === 'markdown') appendInline(bubble, content.text);
    else bubble.textContent = content.text;
  } else if (content.type === 'choices') {
    appendInline(bubble, content.text);
    renderChoices(bubble, content.choices ?? []);
  } else if (content.type === 'card') {
    bubble.classList.add('card');
    const image = content.imageUrl && safeUrl(content.imageUrl, ['https:', 'http:']);
    if (image) {
      const img = el('img');
      img.src = image;
      img.alt = '';
      bubble.append(img);
    }
    const body = el('div', 'card-body');
    body.append(el('p', 'card-title', content.title));
    if (content.subtitle) body.append(el('p', 'card-subtitle', content.subtitle));
    if (content.text) appendInline(body.appendChild(el('p', 'card-text')), content.text);
    if (content.buttons?.length) renderChoices(body, content.buttons);
    bubble.append(body);
  } else if (content.type === 'file') {
    if (content.caption) bubble.append(el('div', '', content.caption));
    const url = safeUrl(content.url);
    bubble.append(url ? link(url, `📎 ${content.name}`) : el('span', '', content.name));
  }
  return bubble;
}

function renderCitations(row, citations) {
  const seen = new Set();
  const sources = el('div', 'sources', `${t('sources')}:`);
  for (const citation of citations) {
    if (seen.has(citation.id)) continue;
    seen.add(citation.id);
    const url = citation.url && safeUrl(citation.url, ['http:', 'https:']);
    const chip = url ? link(url, citation.title, 'chip') : el('span', 'chip', citation.title);
    chip.title = citation.source || citation.title;
    sources.append(chip);
  }
  row.insertBefore(sources, row.querySelector('.meta'));
}

/** True while the customer waits for a person or talks to one (the latest reply says so): no typing dots then. */
let withPerson = false;

function renderReply(message) {
  if (!message?.content || message.content.type === 'typing' || rows.has(`out:${message.id}`)) return;
  // A turn's reply says who owns the conversation now; a notice of the hub's own (rate limit) does not.
  if (message.inReplyTo) withPerson = message.handoff === 'waiting' || message.handoff === 'human';
  const byAgent = message.author?.kind === 'agent';
  const row = addRow(
    `out:${message.id}`,
    byAgent ? 'bot agent' : 'bot',
    renderContent(message.content),
    message.createdAt,
  );
  if (byAgent) row.prepend(el('div', 'author', message.author?.name || t('agent')));
  if (message.citations?.length) renderCitations(row, message.citations);
}

/* ---------- typing indicator ---------- */

let typingTimer;
function setTyping(wanted) {
  const on = wanted && !withPerson;
  clearTimeout(typingTimer);
  els.typing.hidden = !on;
  // The server turns it off too; this guards against a lost frame.
  if (on) typingTimer = setTimeout(() => setTyping(false), 45_000);
  scrollDown();
}

/* ---------- connection ---------- */

let socket;
let attempt = 0;
let reconnectTimer;

function setStatus(state) {
  els.status.dataset.state = state;
  els.statusText.textContent = t(
    state === 'online' ? 'online' : state === 'offline' ? 'offline' : 'connecting',
  );
}

function transmit(frame) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

function sendFrame(frame, text) {
  pending.set(frame.id, frame);
  savePending();
  renderUser(frame.id, text, 'pending');
  scrollDown();
  transmit(frame);
}

function onHistory(entries) {
  for (const entry of entries) {
    if (entry.direction === 'in') {
      // In the transcript means accepted: nothing left to resend.
      pending.delete(entry.clientId);
      renderUser(entry.clientId, entry.text, 'sent', entry.at);
    } else renderReply(entry.message);
  }
  savePending();
  // Messages still unacknowledged belong after everything the transcript already holds.
  for (const id of pending.keys()) {
    const row = rows.get(`in:${id}`);
    if (row) els.messages.append(row);
  }
  scrollDown();
}

function onFrame(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    return;
  }
  if (frame.type === 'ack') {
    pending.delete(frame.id);
    savePending();
    setUserState(frame.id, 'sent');
  } else if (frame.type === 'session') keepSession(frame);
  else if (frame.type === 'typing') setTyping(frame.on);
  else if (frame.type === 'reply') {
    setTyping(false);
    renderReply(frame.message);
    scrollDown();
  } else if (frame.type === 'history') onHistory(frame.entries ?? []);
  else if (frame.type === 'error' && frame.code === 'rate_limited' && frame.message) {
    // Said once per throttled message, in the chat, where the customer looks.
    renderReply({ id: `limit:${frame.id ?? 'socket'}`, content: { type: 'text', text: frame.message } });
    scrollDown();
  }
  if (frame.type === 'error' && frame.id && pending.has(frame.id)) {
    if (frame.retryable) {
      setTimeout(() => pending.has(frame.id) && transmit(pending.get(frame.id)), frame.retryAfterMs ?? 3000);
      return;
    }
    pending.delete(frame.id);
    savePending();
    setUserState(frame.id, 'failed');
  }
}

function connect() {
  clearTimeout(reconnectTimer);
  setStatus('connecting');
  const url = new URL(wsPath, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (session && sessionToken) {
    url.searchParams.set('session', session);
    url.searchParams.set('token', sessionToken);
  }
  const current = new WebSocket(url);
  socket = current;
  current.addEventListener('open', () => {
    attempt = 0;
    setStatus('online');
    for (const frame of pending.values()) transmit(frame);
  });
  current.addEventListener('message', (event) => onFrame(event.data));
  current.addEventListener('close', (event) => {
    if (socket !== current) return;
    setTyping(false);
    setStatus('offline');
    // 1008: the hub refused the session or its token (expired, or signed with another key); start
    // a new conversation rather than retry forever.
    if (event.code === 1008) forgetSession();
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  // Exponential backoff with jitter, so a restarted server is not hit by every browser at once.
  const delay = Math.min(15_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
  attempt += 1;
  reconnectTimer = setTimeout(connect, delay);
}

window.addEventListener('online', () => {
  if (socket?.readyState !== WebSocket.OPEN) {
    attempt = 0;
    connect();
  }
});

/* ---------- composer ---------- */

function resizeInput() {
  els.input.style.height = 'auto';
  els.input.style.height = `${Math.min(els.input.scrollHeight, 140)}px`;
  els.send.disabled = els.input.value.trim() === '';
}

function submit() {
  const text = els.input.value.trim();
  if (!text) return;
  sendFrame({ type: 'message', id: randomId(12), text, locale: language }, text);
  els.input.value = '';
  resizeInput();
  els.input.focus();
}

els.form.addEventListener('submit', (event) => {
  event.preventDefault();
  submit();
});
els.input.addEventListener('input', resizeInput);
els.input.addEventListener('keydown', (event) => {
  // Enter sends, Shift+Enter breaks the line; never while an IME (pinyin) is composing.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    submit();
  }
});

/* ---------- start ---------- */

document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
document.title = title;
for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
for (const node of document.querySelectorAll('[data-i18n-placeholder]'))
  node.placeholder = t(node.dataset.i18nPlaceholder);
for (const node of document.querySelectorAll('[data-i18n-title]')) node.title = t(node.dataset.i18nTitle);
byId('chat-title').textContent = title;
for (const frame of pending.values()) renderUser(frame.id, frame.text ?? frame.title ?? '', 'pending');
connect();
