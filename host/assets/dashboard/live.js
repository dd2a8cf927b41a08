// The live feed (`GET /api/live`, server-sent events): the first of the
// three layers that keep the pages current. The host pushes a message per
// change; this module hands each to the pages, reconnects with backoff when
// the connection drops, and asks the pages to re-fetch (`resync`) after a
// reconnect or when the host says we fell behind (`skipped`), since
// messages may have been missed in between.

/** The topics the host sends (the SSE `event:` names). */
export const TOPICS = ['event', 'event_display', 'eventsub', 'tts_rules', 'speech', 'plugins', 'overlays', 'media', 'external'];

const FIRST_RETRY_MS = 1000;
// The host is usually on this machine: retrying every 10 s at worst costs
// nothing and gets the page back soon after a restart.
const MAX_RETRY_MS = 10000;

export class LiveFeed {
  constructor(url = '/api/live') {
    this.url = url;
    this.handlers = new Map();
    this.source = null;
    this.retryMs = FIRST_RETRY_MS;
    this.retryTimer = null;
    this.everOpened = false;
    this.state = 'connecting';
  }

  /**
   * Registers `handler` for `topic`: one of TOPICS (called with the parsed
   * JSON data), `resync` (re-fetch everything), or `state` (called with
   * 'connecting', 'live' or 'reconnecting').
   */
  on(topic, handler) {
    if (!this.handlers.has(topic)) {
      this.handlers.set(topic, new Set());
    }
    this.handlers.get(topic).add(handler);
  }

  emit(topic, data) {
    for (const handler of this.handlers.get(topic) || []) {
      try {
        handler(data);
      } catch (error) {
        console.error(`live ${topic} handler failed`, error);
      }
    }
  }

  setState(state) {
    if (state !== this.state) {
      this.state = state;
      this.emit('state', state);
    }
  }

  /** Opens the connection (again). */
  start() {
    clearTimeout(this.retryTimer);
    if (this.source) {
      this.source.close();
    }
    const source = new EventSource(this.url, { withCredentials: true });
    this.source = source;

    source.addEventListener('open', () => {
      this.retryMs = FIRST_RETRY_MS;
      this.setState('live');
      if (this.everOpened) {
        this.emit('resync', 'reconnected');
      }
      this.everOpened = true;
    });

    for (const topic of TOPICS) {
      source.addEventListener(topic, (message) => {
        let data = null;
        try {
          data = message.data ? JSON.parse(message.data) : null;
        } catch {
          data = null;
        }
        this.emit(topic, data);
      });
    }

    // We fell behind and the host dropped messages for us: re-fetch.
    source.addEventListener('skipped', () => this.emit('resync', 'skipped'));

    source.addEventListener('error', () => {
      // The browser's own retry has no backoff and gives up on some
      // failures; take over: close, wait, reopen, waiting longer each time.
      source.close();
      if (this.source !== source) {
        return;
      }
      this.setState('reconnecting');
      const jitter = Math.random() * 0.3 * this.retryMs;
      this.retryTimer = setTimeout(() => this.start(), this.retryMs + jitter);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    });
  }

  /** Closes the connection for good. */
  stop() {
    clearTimeout(this.retryTimer);
    if (this.source) {
      this.source.close();
      this.source = null;
    }
  }
}
