// What every dashboard page shares: its section of the document, loading
// with an error line, and the rules for staying current. The visible page
// applies live messages at once; a hidden page only notes that it is stale
// and re-fetches when shown. `refresh()` never runs twice at the same time:
// a call while loading runs once more afterwards.

import { el, fill } from './ui.js';

export class Page {
  /**
   * @param {string} id - the tab's id (also the URL fragment, `#events`)
   * @param {string} title - the tab's label
   * @param {string[]} topics - live topics that change what the page shows
   */
  constructor(id, title, topics = []) {
    this.id = id;
    this.title = title;
    this.topics = topics;
    this.active = false;
    this.stale = true;
    this.loading = false;
    this.loadAgain = false;
    this.errorLine = el('p', { class: 'page-error', role: 'alert', hidden: true });
    this.body = el('div', { class: 'page-body' });
    this.root = el(
      'section',
      { class: 'page', id: `page-${id}`, hidden: true, 'aria-label': title },
      el('h2', {}, title),
      this.errorLine,
      this.body,
    );
  }

  /** Fetches and draws what the page shows. Pages implement it. */
  async load() {}

  /** Called with a live message of one of `topics` while visible. */
  onLive(_topic, _data) {
    this.refresh();
  }

  /** Called every second while visible (countdowns, "3s ago"). */
  tick(_nowMs) {}

  show() {
    this.active = true;
    this.root.hidden = false;
    if (this.stale) {
      this.refresh();
    }
  }

  hide() {
    this.active = false;
    this.root.hidden = true;
  }

  /** A live message arrived (any topic). */
  deliver(topic, data) {
    if (!this.topics.includes(topic)) {
      return;
    }
    if (this.active) {
      this.onLive(topic, data);
    } else {
      this.stale = true;
    }
  }

  /** Re-fetch now if visible, else when next shown. */
  invalidate() {
    this.stale = true;
    if (this.active) {
      this.refresh();
    }
  }

  async refresh() {
    if (this.loading) {
      this.loadAgain = true;
      return;
    }
    this.loading = true;
    this.stale = false;
    this.root.classList.add('loading');
    try {
      await this.load();
      this.showError(null);
    } catch (error) {
      this.stale = true;
      this.showError(error);
    } finally {
      this.loading = false;
      this.root.classList.remove('loading');
      if (this.loadAgain) {
        this.loadAgain = false;
        this.refresh();
      }
    }
  }

  showError(error) {
    if (!error) {
      this.errorLine.hidden = true;
      return;
    }
    fill(this.errorLine, error.message || String(error));
    this.errorLine.hidden = false;
  }
}
