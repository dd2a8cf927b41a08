// Overlays: one card per overlay (OBS browser source): whether it is
// paused, how many pages are connected, the alerts waiting in the order
// they will play, the URL to paste into OBS, and the streamer's controls:
// Pause/Resume (alerts wait while paused, kept across restarts), Skip
// current, Clear queue and Remove per waiting alert. Below them, the button
// that regenerates the overlay key (every page holding the old one is
// disconnected until given the new URL). Live on the `overlays` topic.

import { del, get, post } from '../api.js';
import { Page } from '../page.js';
import { badge, debounce, el, fill, formatTime, notify, withBusy } from '../ui.js';

export class OverlaysPage extends Page {
  constructor() {
    super('overlays', 'Overlays', ['overlays']);
    this.cards = el('div', { class: 'cards', id: 'overlay-cards' });
    this.refreshSoon = debounce(() => this.refresh(), 200);
    fill(
      this.body,
      el(
        'p',
        { class: 'muted' },
        'Paste an overlay URL into an OBS browser source. It carries the overlay key after the #, which never reaches a server log; keep it private. ' +
          'Pause an overlay during a cutscene or a break: what plays finishes, new alerts (speech too) wait, and Resume plays them in order.',
      ),
      this.cards,
      el(
        'div',
        { class: 'toolbar' },
        el('button', { type: 'button', id: 'overlay-regenerate', class: 'danger', onclick: (e) => this.regenerate(e.currentTarget) }, 'Regenerate overlay key'),
      ),
    );
  }

  onLive() {
    this.refreshSoon();
  }

  async load() {
    const overlays = await get('/overlays');
    fill(
      this.cards,
      overlays.map((o) => this.card(o)),
    );
  }

  /** One overlay: state, controls, waiting alerts and the OBS URL. */
  card(overlay) {
    const name = overlay.name;
    const path = `/overlays/${encodeURIComponent(name)}`;
    const toggle = overlay.paused
      ? el('button', { type: 'button', class: 'overlay-resume', onclick: (e) => this.act(e.currentTarget, `${path}/resume`, `${name} resumed.`) }, 'Resume')
      : el('button', { type: 'button', class: 'overlay-pause', onclick: (e) => this.act(e.currentTarget, `${path}/pause`, `${name} paused: new alerts wait.`) }, 'Pause');
    const skip = el(
      'button',
      { type: 'button', class: 'overlay-skip', title: 'Stop the alert playing now', onclick: (e) => this.skip(e.currentTarget, overlay) },
      'Skip current',
    );
    const clear = el(
      'button',
      { type: 'button', class: 'overlay-clear danger', disabled: overlay.pending === 0, onclick: (e) => this.clear(e.currentTarget, overlay) },
      'Clear queue',
    );
    const pages = overlay.connected === 1 ? '1 page' : `${overlay.connected} pages`;
    return el(
      'article',
      { class: overlay.paused ? 'card overlay paused' : 'card overlay', dataset: { overlay: name, paused: String(overlay.paused) } },
      el(
        'header',
        {},
        el('h3', {}, name),
        el(
          'span',
          { class: 'overlay-badges' },
          overlay.paused ? badge('Paused', 'warn') : null,
          ' ',
          badge(pages, overlay.connected > 0 ? 'ok' : 'neutral'),
        ),
      ),
      overlay.paused
        ? el('p', { class: 'warn-text overlay-paused-note' }, `Paused since ${formatTime(overlay.paused_at)}: nothing new plays until you resume.`)
        : null,
      el('div', { class: 'toolbar' }, toggle, skip, clear),
      el('h4', {}, `Waiting: ${overlay.pending}`),
      this.queueList(overlay, path),
      this.urlField(overlay.url),
    );
  }

  /** The waiting alerts in play order, each with Remove. */
  queueList(overlay, path) {
    if (overlay.queued.length === 0) {
      return el('p', { class: 'empty overlay-queue-empty' }, 'Nothing waiting.');
    }
    const more = overlay.pending - overlay.queued.length;
    return el(
      'div',
      {},
      el(
        'ol',
        { class: 'overlay-queue' },
        overlay.queued.map((alert) =>
          el(
            'li',
            { class: 'overlay-queue-item', dataset: { id: alert.id } },
            el(
              'div',
              { class: 'overlay-queue-row' },
              el(
                'div',
                { class: 'overlay-queue-main' },
                el('span', { class: 'overlay-queue-title' }, alert.title || (alert.speech ? '(speech)' : '(no text)')),
                el(
                  'div',
                  { class: 'event-meta' },
                  [
                    alert.speech ? 'speech' : alert.kind || null,
                    alert.plugin || null,
                    `queued ${formatTime(alert.queued_at)}`,
                    alert.sent ? 'sent to the page' : null,
                  ]
                    .filter(Boolean)
                    .join(' · '),
                ),
              ),
              el(
                'button',
                {
                  type: 'button',
                  class: 'overlay-remove',
                  title: 'Withdraw this alert: it never plays',
                  onclick: (e) => this.remove(e.currentTarget, `${path}/queue/${encodeURIComponent(alert.id)}`),
                },
                'Remove',
              ),
            ),
          ),
        ),
      ),
      more > 0 ? el('p', { class: 'muted overlay-queue-more' }, `…and ${more} more.`) : null,
    );
  }

  /** Pause or resume; the live feed redraws every open dashboard. */
  async act(button, path, done) {
    const result = await withBusy(button, () => post(path));
    if (result) {
      notify(done);
      this.refresh();
    }
  }

  async skip(button, overlay) {
    const result = await withBusy(button, () => post(`/overlays/${encodeURIComponent(overlay.name)}/skip`));
    if (!result) {
      return;
    }
    if (result.pages === 0) {
      notify(`No page of ${overlay.name} is connected: nothing to skip.`, 'warn');
    } else {
      notify(`Skipped what ${overlay.name} was playing.`);
    }
  }

  async clear(button, overlay) {
    const sure = window.confirm(
      `Clear the queue of ${overlay.name}? ${overlay.pending} waiting alert(s) will never play.`,
    );
    if (!sure) {
      return;
    }
    const result = await withBusy(button, () => post(`/overlays/${encodeURIComponent(overlay.name)}/clear`));
    if (result) {
      notify(`${result.withdrawn} alert(s) withdrawn from ${overlay.name}.`);
      this.refresh();
    }
  }

  async remove(button, path) {
    const result = await withBusy(button, () => del(path));
    if (result) {
      notify('Alert removed from the queue.');
      this.refresh();
    }
  }

  /** The URL, hidden until revealed (it is a secret on a streamed screen), with Copy. */
  urlField(url) {
    const field = el('input', { type: 'password', readonly: true, value: url, class: 'mono url', 'aria-label': 'Overlay URL' });
    const reveal = el(
      'button',
      {
        type: 'button',
        onclick: () => {
          field.type = field.type === 'password' ? 'text' : 'password';
          reveal.textContent = field.type === 'password' ? 'Show' : 'Hide';
        },
      },
      'Show',
    );
    const copy = el(
      'button',
      {
        type: 'button',
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(url);
            notify('Overlay URL copied.');
          } catch {
            field.type = 'text';
            field.select();
            notify('Press Ctrl+C to copy the selected URL.', 'warn');
          }
        },
      },
      'Copy',
    );
    return el('span', { class: 'url-field' }, field, reveal, copy);
  }

  async regenerate(button) {
    const sure = window.confirm(
      'Regenerate the overlay key? Every connected overlay stops until you paste its new URL into OBS.',
    );
    if (!sure) {
      return;
    }
    const result = await withBusy(button, () => post('/overlay/key'));
    if (result) {
      notify(`New overlay key. ${result.disconnected} page(s) disconnected; copy the new URL into OBS.`, 'warn');
      this.refresh();
    }
  }
}
