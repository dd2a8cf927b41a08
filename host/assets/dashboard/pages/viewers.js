// Viewers: who holds VIP, moderator, broadcaster or an active subscription
// now, with counts, a role filter and a login search, and the "Sync from
// Twitch" button that shows what the role sync found. Role and subscription
// events re-fetch the list live.

import { get, post, query } from '../api.js';
import { Page } from '../page.js';
import { badge, debounce, el, fill, formatRelative, formatTime, notify, withBusy } from '../ui.js';

const ROLE_NAMES = { vip: 'VIP', moderator: 'Moderator', broadcaster: 'Broadcaster', subscriber: 'Subscriber' };
const TIER_NAMES = { 1000: 'Tier 1', 2000: 'Tier 2', 3000: 'Tier 3' };
/** Events after which the list may differ. */
const ROLE_EVENT = /^channel\.(vip|moderator|subscribe|subscription)\b/;

export class ViewersPage extends Page {
  constructor() {
    super('viewers', 'Viewers', ['event']);
    this.role = '';
    this.search = '';
    this.counts = el('div', { class: 'chips', id: 'viewer-counts' });
    this.roleFilter = el(
      'select',
      {
        id: 'viewer-role-filter',
        onchange: () => {
          this.role = this.roleFilter.value;
          this.refresh();
        },
      },
      el('option', { value: '' }, 'Everyone with a role or sub'),
      Object.entries(ROLE_NAMES).map(([value, name]) => el('option', { value }, `${name}s`)),
    );
    const research = debounce(() => this.refresh(), 250);
    this.searchBox = el('input', {
      type: 'search',
      placeholder: 'Search login',
      'aria-label': 'Search by login',
      maxlength: 64,
      oninput: () => {
        this.search = this.searchBox.value.trim();
        research();
      },
    });
    this.syncButton = el('button', { type: 'button', id: 'role-sync', onclick: (e) => this.sync(e.currentTarget) }, '⟳ Sync from Twitch');
    this.syncResult = el('div', { class: 'sync-result', id: 'role-sync-result', hidden: true, role: 'status' });
    this.rows = el('tbody');
    this.footer = el('p', { class: 'muted' });
    this.refreshSoon = debounce(() => this.refresh(), 500);
    fill(
      this.body,
      el('div', { class: 'toolbar' }, this.roleFilter, this.searchBox, this.syncButton),
      this.syncResult,
      this.counts,
      el(
        'table',
        { class: 'grid', id: 'viewer-table' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Viewer'), el('th', {}, 'Roles'), el('th', {}, 'Subscription'), el('th', {}, 'First seen'))),
        this.rows,
      ),
      this.footer,
    );
  }

  async load() {
    const listing = await get(`/viewers${query({ role: this.role, search: this.search })}`);
    this.render(listing);
  }

  onLive(_topic, event) {
    if (event && ROLE_EVENT.test(event.kind || '')) {
      this.refreshSoon();
    }
  }

  render(listing) {
    const c = listing.counts;
    fill(
      this.counts,
      badge(`${c.vip} VIPs`, 'vip'),
      badge(`${c.moderator} moderators`, 'mod'),
      badge(`${c.subscriber} subscribers`, 'sub'),
      c.broadcaster ? badge(`${c.broadcaster} broadcaster`, 'neutral') : null,
    );
    const viewers = listing.viewers;
    fill(
      this.rows,
      viewers.length === 0
        ? el('tr', {}, el('td', { colspan: 4, class: 'empty' }, 'Nobody here yet. Try "Sync from Twitch".'))
        : viewers.map((v) => this.row(v)),
    );
    this.footer.textContent =
      listing.total > viewers.length ? `Showing ${viewers.length} of ${listing.total}. Narrow the search to see others.` : `${listing.total} shown.`;
  }

  row(viewer) {
    const roles = viewer.roles.map((r) =>
      el('span', { class: `badge ${r.role}`, title: `since ${formatTime(r.granted_at)}` }, ROLE_NAMES[r.role] || r.role),
    );
    const sub = viewer.subscription;
    const subscription = sub
      ? [
          badge(TIER_NAMES[sub.tier] || sub.tier, 'sub'),
          sub.is_gift ? ' gift' : '',
          sub.cumulative_months ? ` · ${sub.cumulative_months} months` : '',
          el('span', { class: 'muted' }, ` · since ${formatTime(sub.start_date)}`),
        ]
      : '—';
    return el(
      'tr',
      { dataset: { login: viewer.login } },
      el('td', {}, el('strong', {}, viewer.display_name), viewer.display_name.toLowerCase() === viewer.login ? '' : ` (${viewer.login})`),
      el('td', {}, roles.length ? roles : '—'),
      el('td', {}, subscription),
      el('td', { title: viewer.first_seen_at }, formatRelative(viewer.first_seen_at)),
    );
  }

  async sync(button) {
    button.textContent = '⟳ Syncing…';
    const result = await withBusy(button, () => post('/roles/sync'));
    button.textContent = '⟳ Sync from Twitch';
    if (!result) {
      return;
    }
    this.showSyncResult(result);
    this.refresh();
  }

  showSyncResult(result) {
    this.syncResult.hidden = false;
    if (result.status === 'skipped') {
      this.syncResult.className = 'sync-result warn';
      fill(this.syncResult, `Synced a moment ago; the next manual sync is allowed ${formatRelative(result.next_allowed_at)}.`);
      return;
    }
    this.syncResult.className = `sync-result ${result.success ? 'ok' : 'warn'}`;
    const part = (name, detail) => {
      if (!detail) {
        return null;
      }
      const changes = [
        detail.granted ? `+${detail.granted}` : null,
        detail.updated ? `~${detail.updated}` : null,
        detail.revoked ? `−${detail.revoked}` : null,
      ].filter(Boolean);
      return `${detail.count} ${name}${changes.length ? ` (${changes.join(' ')})` : ''}`;
    };
    fill(
      this.syncResult,
      el(
        'div',
        {},
        `Synced in ${result.duration_ms} ms: `,
        [part('subs', result.subscribers), part('VIPs', result.vips), part('mods', result.moderators)].filter(Boolean).join(', '),
      ),
      (result.errors || []).map((error) => el('div', { class: 'error-text' }, error)),
    );
    if (!result.success) {
      notify('Some roles could not be synced; see the Viewers page.', 'warn');
    }
  }
}
