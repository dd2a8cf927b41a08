// The channel dashboard of a cluster edge. The streamer signs in with the
// channel's dashboard token (kept in sessionStorage for this tab; sent as
// `Authorization: Bearer` on every API call and in the live socket's hello),
// then sees the channel's events (live from `/api/live`), what waits for the
// overlay, and the channel's plugins: install, grant, settings, remove.
// Text from the host (viewer names, chat, plugin messages) is only ever set
// as text, never parsed as HTML.

const TOKEN_KEY = 'stagehand.cluster.token';
/** Events per request; a full page means there may be older ones. */
const PAGE_SIZE = 50;
/** Rows kept on screen as live events arrive. */
const MAX_ROWS = 300;
/** The overlay whose queue is shown (the URL for OBS names it too). */
const OVERLAY = 'alerts';
const QUEUE_MS = 5000;
/** Alert titles shown from the queue. */
const QUEUE_SHOWN = 5;
/** The most alerts `GET /api/overlays/{name}` lists. */
const QUEUE_CAP = 50;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;
const REFUSED = 'token refused';

const $ = (id) => document.getElementById(id);

// ---- DOM and formatting helpers ------------------------------------------

/**
 * Creates an element: `el('button', {class: 'x', onclick: f}, 'Label')`.
 * `on…` attributes become listeners, `dataset` sets data-*, a few names set
 * properties; children are strings (as text), nodes, arrays or null.
 */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (['hidden', 'disabled', 'value'].includes(key)) {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    if (Array.isArray(child)) {
      append(node, child);
    } else {
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
}

function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A string from the host, or '' for anything that is not text. */
function str(value) {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

const list = (value) => (Array.isArray(value) ? value : []);

/** The clock time, with the date when not today. */
function formatTime(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) {
    return str(iso) || '—';
  }
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return date.toDateString() === new Date().toDateString() ? time : `${date.toLocaleDateString()} ${time}`;
}

function formatBytes(n) {
  if (!Number.isFinite(n)) {
    return '—';
  }
  return n < 1024 ? `${n} bytes` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

/** Shows a short message at the bottom of the page. */
function notify(message, kind = 'info') {
  const note = el('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  $('notices').appendChild(note);
  setTimeout(() => note.remove(), kind === 'error' ? 9000 : 4000);
}

/** Runs `action` with `button` disabled; a failure becomes a notice. */
async function withBusy(button, action) {
  button.disabled = true;
  button.classList.add('busy');
  try {
    return await action();
  } catch (error) {
    if (!error.signedOut) {
      notify(error.message || String(error), 'error');
    }
    return undefined;
  } finally {
    button.disabled = false;
    button.classList.remove('busy');
  }
}

function badge(text, tone = '') {
  return el('span', { class: `badge ${tone}` }, text);
}

/** What a permission key means, for the streamer. */
function describePermission(key) {
  const [kind, value] = String(key).split(/:(.*)/s);
  switch (kind) {
    case 'chat':
      return 'send chat messages';
    case 'tts_rules':
      return "mute viewers' TTS";
    case 'webhook':
      return `send webhooks to ${value}`;
    case 'media':
      return `show media from ${value}`;
    case 'deadline_ms':
      return `${value} ms per call (default 50)`;
    case 'memory_mib':
      return `${value} MiB of memory (default 64)`;
    default:
      return String(key);
  }
}

const describeAll = (keys) => keys.map(describePermission).join(', ');

// ---- The API ---------------------------------------------------------------

/** A failed call: the HTTP status (0: unreachable) and the host's code. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls `/api${path}` with `token`. `body` goes as JSON, or raw as
 * application/octet-stream when it is a file. Resolves to the parsed answer
 * (null when empty); errors (`{"error":{"code","message"}}`) reject.
 */
async function request(token, method, path, body) {
  const init = { method, cache: 'no-store', headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } };
  if (body instanceof Blob) {
    init.headers['Content-Type'] = 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api${path}`, init);
  } catch (networkError) {
    throw new ApiError(0, 'network', `cannot reach Stagehand (${networkError.message})`);
  }
  const text = await response.text().catch(() => '');
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && typeof data.error === 'object' && data.error) || {};
    const fallback =
      response.status === 413
        ? 'the file is too large for this server'
        : `${method} ${path} failed with HTTP ${response.status}`;
    throw new ApiError(response.status, str(error.code) || `http_${response.status}`, str(error.message) || fallback);
  }
  return data;
}

// ---- Events ----------------------------------------------------------------

/** An event of `GET /api/events`. */
function fromList(item) {
  return { ...item, event: item.event && typeof item.event === 'object' ? item.event : {} };
}

/** An event of the live socket: `{topic, seq, event, display}`. */
function fromLive(message) {
  const event = message.event && typeof message.event === 'object' ? message.event : {};
  return {
    seq: message.seq,
    id: event.id,
    kind: event.kind,
    source: event.source,
    occurred_at: event.occurred_at,
    stored_at: null,
    event,
    display: message.display,
  };
}

function eventRow(item, fresh) {
  const display = item.display && typeof item.display === 'object' ? item.display : {};
  const event = item.event;
  const kind = str(item.kind) || str(event.kind) || 'event';
  const who = str(event.viewer && event.viewer.display_name) || str(event.details && event.details.username);
  const label = str(display.label);
  const labelNode = label ? el('span', { class: 'event-label' }, label) : null;
  const color = str(display.color);
  if (labelNode && color && CSS.supports('color', color)) {
    labelNode.style.color = color;
  }
  const text = str(display.text) || [who, kind].filter(Boolean).join(' · ');
  const occurred = str(item.occurred_at);
  return el(
    'li',
    { class: fresh ? 'event fresh' : 'event', dataset: { seq: String(item.seq), kind, eventId: str(item.id) } },
    el('span', { class: 'event-icon', 'aria-hidden': 'true' }, str(display.icon) || '•'),
    el(
      'div',
      { class: 'event-main' },
      el('div', {}, labelNode, labelNode ? ' ' : null, el('span', { class: 'event-text' }, text)),
      el(
        'div',
        { class: 'event-meta' },
        el('time', { datetime: occurred, title: occurred }, formatTime(occurred)),
        [str(item.source), kind].filter(Boolean).map((part) => ` · ${part}`).join(''),
      ),
    ),
  );
}

/** The events list, newest first: loaded, extended with older, fed live. */
class Events {
  constructor(session) {
    this.session = session;
    this.items = [];
    this.hasOlder = false;
    this.loaded = false;
    this.list = $('events');
    this.older = $('older');
    this.older.onclick = () => withBusy(this.older, () => this.loadOlder());
  }

  /** (Re)loads the newest page, keeping live events newer than it. */
  async load() {
    try {
      const data = await this.session.api('GET', `/events?limit=${PAGE_SIZE}`);
      const fetched = list(data && data.events).map(fromList).filter((e) => Number.isFinite(e.seq));
      const top = fetched.reduce((max, e) => Math.max(max, e.seq), 0);
      this.items = this.merge(this.items.filter((e) => e.seq > top), fetched);
      this.hasOlder = fetched.length === PAGE_SIZE;
      this.loaded = true;
      $('events-error').hidden = true;
      this.render();
    } catch (error) {
      if (!error.signedOut) {
        $('events-error').textContent = `Cannot load events: ${error.message}`;
        $('events-error').hidden = false;
      }
    }
  }

  async loadOlder() {
    const last = this.items[this.items.length - 1];
    if (!last) {
      return;
    }
    const data = await this.session.api('GET', `/events?limit=${PAGE_SIZE}&before=${encodeURIComponent(last.seq)}`);
    const fetched = list(data && data.events).map(fromList).filter((e) => Number.isFinite(e.seq));
    this.items = this.merge(this.items, fetched);
    this.hasOlder = fetched.length === PAGE_SIZE;
    this.render();
  }

  /** The union of `a` and `b` by seq, newest first. */
  merge(a, b) {
    const bySeq = new Map();
    for (const item of [...a, ...b]) {
      if (!bySeq.has(item.seq)) {
        bySeq.set(item.seq, item);
      }
    }
    return [...bySeq.values()].sort((x, y) => y.seq - x.seq);
  }

  /** A live event: in its place (normally the top), unless already shown. */
  add(item) {
    if (!Number.isFinite(item.seq) || this.items.some((known) => known.seq === item.seq)) {
      return;
    }
    const at = this.items.findIndex((known) => known.seq < item.seq);
    if (at < 0 && this.hasOlder) {
      return; // Older than what is shown: "Load older" brings it.
    }
    const row = eventRow(item, true);
    if (at < 0) {
      this.items.push(item);
      this.list.appendChild(row);
    } else {
      this.items.splice(at, 0, item);
      this.list.insertBefore(row, this.list.children[at]);
    }
    while (this.items.length > MAX_ROWS) {
      this.items.pop();
      this.list.lastElementChild.remove();
      this.hasOlder = true;
    }
    this.showState();
  }

  render() {
    fill(this.list, this.items.map((item) => eventRow(item, false)));
    this.showState();
  }

  showState() {
    $('events-empty').hidden = !this.loaded || this.items.length > 0;
    this.older.hidden = !this.hasOlder || this.items.length === 0;
  }
}

// ---- The live socket -----------------------------------------------------

/**
 * `/api/live`: says hello with the token, shows "live" once welcomed, hands
 * new events to the list, reloads it when told messages were dropped or
 * after a reconnect, signs out when the token is refused (close 4003), and
 * otherwise reconnects with backoff.
 */
class Live {
  constructor(session) {
    this.session = session;
    this.socket = null;
    this.retryMs = FIRST_RETRY_MS;
    this.timer = null;
    this.everWelcomed = false;
    this.stopped = false;
  }

  connect() {
    if (this.stopped) {
      return;
    }
    clearTimeout(this.timer);
    setLiveStatus('connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/api/live`);
    let refusal = null;
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: 'hello', token: this.session.token }));
    socket.onmessage = (message) => {
      if (this.socket !== socket) {
        return;
      }
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!data || typeof data !== 'object') {
        return;
      }
      if (data.type === 'welcome') {
        this.retryMs = FIRST_RETRY_MS;
        setLiveStatus('live');
        // Events stored before the socket was welcomed never come on it.
        this.session.events.load();
        if (this.everWelcomed) {
          this.session.queue.refresh();
        }
        this.everWelcomed = true;
      } else if (data.type === 'lagged') {
        this.session.events.load();
      } else if (data.type === 'error') {
        refusal = str(data.message) || REFUSED;
      } else if (data.topic === 'events') {
        this.session.events.add(fromLive(data));
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) {
        return;
      }
      this.socket = null;
      if (this.stopped) {
        return;
      }
      if (event.code === 4003) {
        signOut(refusal || REFUSED);
        return;
      }
      setLiveStatus('offline');
      const wait = this.retryMs + Math.random() * 0.3 * this.retryMs;
      $('live-status').title = `Live updates: trying again in ${Math.round(wait / 1000)} s`;
      this.timer = setTimeout(() => this.connect(), wait);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    };
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.close(1000);
    }
  }
}

function setLiveStatus(state) {
  const status = $('live-status');
  status.className = `live-state ${state}`;
  status.textContent = { live: 'live', connecting: 'connecting…', offline: 'offline' }[state];
  status.title = 'Live updates';
}

// ---- The overlay queue ---------------------------------------------------

class Queue {
  constructor(session) {
    this.session = session;
    this.busy = false;
    this.timer = null;
  }

  start() {
    this.refresh();
    this.timer = setInterval(() => {
      if (!document.hidden) {
        this.refresh();
      }
    }, QUEUE_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  async refresh() {
    if (this.busy) {
      return;
    }
    this.busy = true;
    try {
      const data = await this.session.api('GET', `/overlays/${OVERLAY}`);
      this.render(list(data && data.queued));
      $('queue-error').hidden = true;
    } catch (error) {
      if (!error.signedOut) {
        $('queue-error').textContent = `Cannot read the queue: ${error.message}`;
        $('queue-error').hidden = false;
      }
    } finally {
      this.busy = false;
    }
  }

  render(queued) {
    const n = queued.length;
    $('queue-count').textContent = n >= QUEUE_CAP ? `${n}+` : String(n);
    $('queue-words').textContent = n === 1 ? 'alert waits for the overlay' : 'alerts wait for the overlay';
    const shown = queued.slice(0, QUEUE_SHOWN).map((alert) =>
      el(
        'li',
        { dataset: { alertId: str(alert.id) } },
        str(alert.title) || `${str(alert.plugin) || 'an'} alert`,
        el('span', { class: 'muted' }, ` · ${str(alert.plugin)} · ${formatTime(alert.queued_at)}`),
      ),
    );
    fill($('queue-list'), shown, n > QUEUE_SHOWN ? el('li', { class: 'muted more' }, `and ${n - QUEUE_SHOWN} more`) : null);
  }
}

// ---- Plugins ---------------------------------------------------------------

/** Asks in the dialog whether to remove plugin `name`. */
function confirmRemove(name) {
  const dialog = $('remove-dialog');
  $('remove-title').textContent = `Remove ${name}?`;
  $('remove-confirm').textContent = `Remove ${name}`;
  return new Promise((resolve) => {
    const close = (answer) => {
      $('remove-confirm').onclick = $('remove-cancel').onclick = dialog.oncancel = null;
      dialog.close();
      resolve(answer);
    };
    $('remove-confirm').onclick = () => close(true);
    $('remove-cancel').onclick = () => close(false);
    dialog.oncancel = (event) => {
      event.preventDefault();
      close(false);
    };
    dialog.showModal();
  });
}

/**
 * The plugins list, a card per plugin. Cards are updated in place, so a
 * settings editor being typed in survives a reload of the list.
 */
class Plugins {
  constructor(session) {
    this.session = session;
    this.cards = new Map();
    this.container = $('plugins');
  }

  async load() {
    try {
      const data = await this.session.api('GET', '/plugins');
      this.render(list(data && data.plugins).filter((p) => p && typeof p.name === 'string'));
      $('plugins-error').hidden = true;
    } catch (error) {
      if (!error.signedOut) {
        $('plugins-error').textContent = `Cannot load plugins: ${error.message}`;
        $('plugins-error').hidden = false;
      }
    }
  }

  render(plugins) {
    $('plugins-empty').hidden = plugins.length > 0;
    const names = new Set(plugins.map((p) => p.name));
    for (const [name, card] of this.cards) {
      if (!names.has(name)) {
        card.root.remove();
        this.cards.delete(name);
      }
    }
    plugins.forEach((plugin, i) => {
      let card = this.cards.get(plugin.name);
      if (!card) {
        card = this.createCard(plugin.name);
        this.cards.set(plugin.name, card);
      }
      // The host's order; a card already in place is not moved (moving
      // would take the focus from its settings editor).
      const there = this.container.children[i];
      if (there !== card.root) {
        this.container.insertBefore(card.root, there || null);
      }
      this.updateCard(card, plugin);
    });
  }

  createCard(name) {
    const card = {
      name,
      dirty: false,
      title: el('h3'),
      badges: el('span'),
      description: el('p', { class: 'muted description' }),
      facts: el('dl', { class: 'facts' }),
      pending: el('div', { class: 'pending' }),
      note: el('p', { class: 'muted settings-note' }),
      text: el('textarea', {
        class: 'mono settings-json',
        rows: 10,
        spellcheck: 'false',
        'aria-label': `Settings of ${name}`,
        oninput: () => {
          card.dirty = true;
        },
      }),
      error: el('p', { class: 'error-text settings-error', role: 'alert', hidden: true }),
    };
    const save = el(
      'button',
      { type: 'button', class: 'save-settings', dataset: { action: 'save-settings' }, onclick: () => withBusy(save, () => this.saveSettings(card)) },
      'Save settings',
    );
    const remove = el(
      'button',
      { type: 'button', class: 'danger', dataset: { action: 'remove' }, title: 'Delete it with its settings, grants and stored data', onclick: () => this.remove(name, remove) },
      'Remove',
    );
    card.settings = el(
      'details',
      { class: 'settings' },
      el('summary', {}, 'Settings'),
      card.note,
      card.text,
      card.error,
      el('div', { class: 'toolbar' }, save),
    );
    card.root = el(
      'article',
      { class: 'card plugin', dataset: { name } },
      el('header', {}, card.title, card.badges),
      card.description,
      card.pending,
      card.facts,
      card.settings,
      el('div', { class: 'toolbar' }, remove),
    );
    return card;
  }

  updateCard(card, p) {
    const pkg = p.package && typeof p.package === 'object' ? p.package : null;
    const granted = list(p.granted).map(String);
    const pending = list(p.pending_permissions).map(String);
    card.plugin = p;
    card.root.dataset.enabled = String(p.enabled !== false);
    fill(card.title, p.name, pkg && str(pkg.version) ? el('span', { class: 'muted' }, ` ${str(pkg.version)}`) : null);
    fill(
      card.badges,
      !pkg
        ? badge('unreadable', 'bad')
        : pending.length
          ? badge('waits for grant', 'warn')
          : p.enabled === false
            ? badge('disabled')
            : badge('enabled', 'ok'),
    );
    const description = pkg ? str(pkg.description) : 'Its stored package cannot be read: install it again.';
    card.description.textContent = description;
    card.description.className = pkg ? 'muted description' : 'error-text description';
    card.description.hidden = !description;

    const grant = el(
      'button',
      { type: 'button', class: 'primary', dataset: { action: 'grant' }, onclick: () => withBusy(grant, () => this.grant(card, granted, pending)) },
      'Grant',
    );
    fill(
      card.pending,
      pending.length ? [el('p', { class: 'warn-text' }, `It does not run until you allow: ${describeAll(pending)}.`), grant] : null,
    );
    card.pending.hidden = pending.length === 0;

    const asks = pkg ? list(pkg.permissions).map(String) : [];
    const digest = str(p.digest);
    const facts = pkg
      ? [
          ['Contract', str(pkg.contract) ? `stagehand:plugin@${str(pkg.contract)}` : '—'],
          ['Asks for', asks.length ? describeAll(asks) : 'nothing beyond overlay alerts'],
          ['Granted', granted.length ? describeAll(granted) : '—'],
          ['Limits', `${str(pkg.deadline_ms) || '?'} ms per call, ${str(pkg.memory_mib) || '?'} MiB`],
          ['Component', formatBytes(pkg.wasm_bytes)],
        ]
      : [];
    facts.push(['Installed', formatTime(p.updated_at)]);
    facts.push(['Digest', el('span', { class: 'mono', title: digest }, digest.slice(0, 16) || '—')]);
    fill(card.facts, facts.map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));

    const saved = p.settings !== null && p.settings !== undefined;
    card.note.textContent = saved
      ? 'Settings saved for this channel. Saving replaces them; a plugin with a settings schema checks them first.'
      : 'Nothing saved: it runs with the settings in its package. Write a JSON object and save to replace them.';
    if (!card.dirty) {
      card.text.value = saved ? JSON.stringify(p.settings, null, 2) : '';
    }
  }

  async saveSettings(card) {
    card.error.hidden = true;
    delete card.error.dataset.code; // an earlier failure's
    const showError = (message) => {
      card.error.textContent = message;
      card.error.hidden = false;
    };
    const source = card.text.value.trim();
    if (!source) {
      showError('Write the settings as a JSON object, e.g. {"volume": 0.8}.');
      return;
    }
    let settings;
    try {
      settings = JSON.parse(source);
    } catch (error) {
      showError(`Not valid JSON: ${error.message}`);
      return;
    }
    if (!settings || typeof settings !== 'object' || Array.isArray(settings)) {
      showError('Settings must be a JSON object ({ … }).');
      return;
    }
    try {
      const answer = await this.session.api('PUT', `/plugins/${encodeURIComponent(card.name)}/settings`, settings);
      card.dirty = false;
      card.text.value = JSON.stringify(answer && 'settings' in answer ? answer.settings : settings, null, 2);
      notify(`${card.name}: settings saved.`);
      this.load();
    } catch (error) {
      if (!error.signedOut) {
        card.error.dataset.code = error.code;
        showError(error.status === 422 ? error.message : `Not saved: ${error.message}`);
      }
    }
  }

  async grant(card, granted, pending) {
    const all = [...new Set([...granted, ...pending])];
    await this.session.api('PUT', `/plugins/${encodeURIComponent(card.name)}/grants`, { granted: all });
    notify(`${card.name}: allowed ${describeAll(pending)}.`);
    await this.load();
  }

  async remove(name, button) {
    if (!(await confirmRemove(name))) {
      return;
    }
    const removed = await withBusy(button, async () => {
      await this.session.api('DELETE', `/plugins/${encodeURIComponent(name)}`);
      return true;
    });
    if (removed) {
      notify(`${name} removed.`);
    }
    this.load();
  }
}

/**
 * The plugin name a file suggests: its name without the extension and, for
 * a package named by `stagehand plugin pack` (`<name>-<version>.stagehand`),
 * without the version; lowercased, other characters as `-`.
 */
function nameFromFile(fileName) {
  let stem = fileName.replace(/\.(stagehand|wasm)$/i, '');
  if (/\.stagehand$/i.test(fileName)) {
    stem = stem.replace(/-v?\d+\.\d+[0-9A-Za-z.+-]*$/, '');
  }
  return stem
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

class Installer {
  constructor(session) {
    this.session = session;
    this.file = $('install-file');
    this.name = $('install-name');
    this.button = $('install');
    this.result = $('install-result');
    this.suggested = '';
    this.file.onchange = () => {
      const [file] = this.file.files;
      // The name follows the file unless the streamer typed another.
      if (file && (!this.name.value || this.name.value === this.suggested)) {
        this.suggested = nameFromFile(file.name);
        this.name.value = this.suggested;
      }
    };
    $('install-form').onsubmit = (event) => {
      event.preventDefault();
      withBusy(this.button, () => this.install());
    };
  }

  show(state, ...children) {
    this.result.className = state === 'error' ? 'install-result error' : 'install-result';
    this.result.dataset.state = state;
    delete this.result.dataset.code; // an earlier failure's
    fill(this.result, children);
    this.result.hidden = false;
  }

  async install() {
    const [file] = this.file.files;
    const name = this.name.value.trim();
    if (!file) {
      this.show('error', el('p', { class: 'error-text' }, 'Choose a .stagehand package or a .wasm file first.'));
      return;
    }
    if (!/^[a-z0-9-]{1,64}$/.test(name)) {
      this.show('error', el('p', { class: 'error-text' }, 'The name must be 1 to 64 of a–z, 0–9 and -.'));
      return;
    }
    this.show('busy', el('p', { class: 'muted' }, `Installing ${file.name}…`));
    try {
      const answer = await this.session.api('PUT', `/plugins/${encodeURIComponent(name)}`, file);
      const s = (answer && answer.installed) || {};
      const asks = list(s.permissions).map(String);
      this.show(
        'ok',
        el('p', { class: 'ok-text' }, `Installed ${str(s.name) || name} ${str(s.version)}`.trim() + '.'),
        str(s.description) ? el('p', { class: 'muted' }, str(s.description)) : null,
        el(
          'dl',
          { class: 'facts' },
          [
            ['Contract', str(s.contract) ? `stagehand:plugin@${str(s.contract)}` : '—'],
            ['Asks for', asks.length ? describeAll(asks) : 'nothing beyond overlay alerts'],
            ['Limits', `${str(s.deadline_ms) || '?'} ms per call, ${str(s.memory_mib) || '?'} MiB`],
            ['Component', formatBytes(s.wasm_bytes)],
          ].map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]),
        ),
      );
      this.file.value = '';
      this.name.value = this.suggested = '';
      await this.session.plugins.load();
      const card = this.session.plugins.cards.get(name);
      const pending = card ? list(card.plugin.pending_permissions).map(String) : [];
      if (pending.length) {
        this.result.appendChild(el('p', { class: 'warn-text' }, `It does not run until you allow (on its card below): ${describeAll(pending)}.`));
      }
    } catch (error) {
      if (error.signedOut) {
        return;
      }
      this.show('error', el('p', { class: 'error-text' }, `${file.name} was not installed: ${error.message}`));
      this.result.dataset.code = error.code;
    }
  }

  reset() {
    this.file.value = '';
    this.name.value = this.suggested = '';
    this.result.hidden = true;
    fill(this.result);
    delete this.result.dataset.state;
    delete this.result.dataset.code;
  }
}

// ---- The session -----------------------------------------------------------

/** One signed-in channel: its token, and every part of the page using it. */
class Session {
  constructor(token, channel) {
    this.token = token;
    this.channel = channel;
    this.stopped = false;
    this.events = new Events(this);
    this.live = new Live(this);
    this.queue = new Queue(this);
    this.plugins = new Plugins(this);
    this.installer = new Installer(this);
  }

  /**
   * Calls the API with this session's token; a 401 signs out. A call that
   * ends after sign-out rejects with `signedOut` set (nothing to show).
   */
  async api(method, path, body) {
    const gone = () => Object.assign(new Error(REFUSED), { signedOut: true });
    if (this.stopped) {
      throw gone();
    }
    try {
      const data = await request(this.token, method, path, body);
      if (this.stopped) {
        throw gone();
      }
      return data;
    } catch (error) {
      if (error.status === 401 && !this.stopped) {
        signOut(REFUSED);
      }
      if (this.stopped) {
        throw gone();
      }
      throw error;
    }
  }

  start() {
    $('channel-login').textContent = str(this.channel.login);
    $('channel-id').textContent = str(this.channel.id) ? `#${str(this.channel.id)}` : '';
    $('channel').hidden = false;
    $('sign-out').hidden = false;
    $('sign-in-view').hidden = true;
    $('dashboard').hidden = false;
    document.title = `${str(this.channel.login)} · Stagehand`;
    this.events.load();
    this.live.connect();
    this.queue.start();
    this.plugins.load();
  }

  stop() {
    this.stopped = true;
    this.live.stop();
    this.queue.stop();
  }
}

let session = null;

function showSignIn(message, token = '') {
  $('dashboard').hidden = true;
  $('channel').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in-view').hidden = false;
  $('token').value = token;
  $('sign-in-error').textContent = message || '';
  $('sign-in-error').hidden = !message;
  document.title = 'Stagehand';
  $('token').focus();
}

/** Forgets the token and everything shown for it; `message` says why. */
function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (session) {
    session.stop();
    session.installer.reset();
    session = null;
  }
  setLiveStatus('offline');
  const dialog = $('remove-dialog');
  if (dialog.open) {
    $('remove-cancel').click();
  }
  for (const id of ['events', 'plugins', 'queue-list']) {
    fill($(id));
  }
  for (const id of ['events-error', 'events-empty', 'older', 'plugins-error', 'plugins-empty', 'queue-error']) {
    $(id).hidden = true;
  }
  $('queue-count').textContent = '–';
  $('channel-login').textContent = $('channel-id').textContent = '';
  showSignIn(message);
}

/** Checks `token` with `GET /api/channel`, then opens the dashboard. */
async function signIn(token) {
  const button = $('sign-in');
  button.disabled = true;
  $('sign-in-error').hidden = true;
  let channel;
  try {
    channel = await request(token, 'GET', '/channel');
  } catch (error) {
    button.disabled = false;
    if (error.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showSignIn(REFUSED);
    } else {
      showSignIn(`Cannot sign in: ${error.message}`, token);
    }
    return;
  }
  button.disabled = false;
  sessionStorage.setItem(TOKEN_KEY, token);
  session = new Session(token, channel || {});
  session.start();
}

function main() {
  $('overlay-url').textContent = `${location.origin}/overlay/${OVERLAY}#key=`;
  $('sign-in-form').onsubmit = (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) {
      showSignIn('Enter the dashboard token.');
      return;
    }
    if (!/^[\x21-\x7e]{1,256}$/.test(token)) {
      showSignIn(REFUSED); // it could not even be sent
      return;
    }
    if (!session) {
      signIn(token);
    }
  };
  $('sign-out').onclick = () => signOut();
  // A tab brought back to the front refreshes the queue at once.
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && session) {
      session.queue.refresh();
    }
  });
  setLiveStatus('offline');
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    $('sign-in-view').hidden = true;
    signIn(saved);
  } else {
    showSignIn();
  }
}

main();
