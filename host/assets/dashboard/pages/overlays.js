// Overlays: which overlay pages are connected (OBS browser sources), how
// many alerts wait to be shown, the URL to paste into OBS, and the button
// that regenerates the overlay key (every page holding the old one is
// disconnected until given the new URL). Live on the `overlays` topic.

import { get, post } from '../api.js';
import { Page } from '../page.js';
import { badge, debounce, el, fill, notify, withBusy } from '../ui.js';

export class OverlaysPage extends Page {
  constructor() {
    super('overlays', 'Overlays', ['overlays']);
    this.rows = el('tbody', { id: 'overlay-rows' });
    this.refreshSoon = debounce(() => this.refresh(), 200);
    fill(
      this.body,
      el(
        'p',
        { class: 'muted' },
        'Paste an overlay URL into an OBS browser source. It carries the overlay key after the #, which never reaches a server log; keep it private.',
      ),
      el(
        'table',
        { class: 'grid' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Overlay'), el('th', {}, 'Pages connected'), el('th', {}, 'Alerts waiting'), el('th', {}, 'URL for OBS'))),
        this.rows,
      ),
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
      this.rows,
      overlays.map((o) =>
        el(
          'tr',
          { dataset: { overlay: o.name } },
          el('td', {}, el('strong', {}, o.name)),
          el('td', {}, badge(String(o.connected), o.connected > 0 ? 'ok' : 'neutral')),
          el('td', {}, String(o.pending)),
          el('td', {}, this.urlField(o.url)),
        ),
      ),
    );
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
