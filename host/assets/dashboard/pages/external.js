// External: the connections to the world outside Twitch, one card each.
// The Redis bridge (a Discord bot's events in, every stored event out):
// configured or not, connected or not, the last message, counters and the
// last error. Webhooks get their card when the host reports them. Live on
// the `external` topic (the host sends at most one notice a second).

import { get } from '../api.js';
import { Page } from '../page.js';
import { badge, el, fill, formatRelative, formatTime } from '../ui.js';

/** A time fact: the clock time and how long ago, "14:02:11 (12s ago)". */
function when(iso) {
  return iso ? `${formatTime(iso)} (${formatRelative(iso)})` : '—';
}

export class ExternalPage extends Page {
  constructor() {
    super('external', 'External', ['external']);
    this.status = null;
    this.redisCard = el('article', { class: 'card', id: 'external-redis' });
    this.hooksCard = el('article', { class: 'card', id: 'external-hooks', hidden: true });
    fill(
      this.body,
      el(
        'p',
        { class: 'muted' },
        'Events from outside Twitch: a Discord bot publishing on Redis, services calling a webhook. They appear on the Events page like Twitch events.',
      ),
      el('div', { class: 'cards' }, this.redisCard, this.hooksCard),
    );
  }

  async load() {
    this.status = await get('/external');
    this.render();
  }

  /** Relative times ("12s ago") move on between notices. */
  tick() {
    if (this.status) {
      this.render();
    }
  }

  render() {
    this.renderRedis(this.status.redis || {});
    this.renderHooks(this.status.hooks);
  }

  renderRedis(r) {
    let state;
    let tone;
    if (!r.configured) {
      [state, tone] = ['not configured', 'neutral'];
    } else if (r.connected) {
      [state, tone] = ['connected', 'ok'];
    } else {
      [state, tone] = ['disconnected', 'bad'];
    }
    const header = el(
      'header',
      {},
      el('h3', {}, 'Redis bridge'),
      el('span', { id: 'external-redis-state', dataset: { state } }, badge(state, tone)),
    );
    if (!r.configured) {
      fill(
        this.redisCard,
        header,
        el(
          'p',
          { class: 'muted' },
          'Set STAGEHAND_REDIS_URL (for example redis://127.0.0.1:6379) to receive the events your Discord bot publishes on the discord_events channel; STAGEHAND_REDIS_PUBLISH=<channel> also publishes every event for the bot.',
        ),
      );
      return;
    }
    const publishing = r.publish_channel
      ? el(
          'span',
          {},
          el('span', { class: 'mono' }, r.publish_channel),
          ' ',
          badge(r.publish_connected ? 'connected' : 'disconnected', r.publish_connected ? 'ok' : 'bad'),
        )
      : 'off';
    const facts = [
      ['Server', el('span', { class: 'mono' }, r.url || '—')],
      ['Channels', el('span', { class: 'mono' }, (r.channels || []).join(', ') || '—')],
      ['Connected since', r.connected ? when(r.connected_at) : '—'],
      ['Last message', when(r.last_message_at)],
      ['Messages', String(r.messages ?? 0)],
      ['Malformed', el('span', { id: 'external-redis-malformed' }, String(r.malformed ?? 0))],
      ['Dropped (too fast)', String(r.dropped ?? 0)],
      ['Reconnects', String(r.reconnects ?? 0)],
      ['Publishing on', publishing],
      ['Published', r.publish_channel ? `${r.published ?? 0} (${r.publish_dropped ?? 0} dropped)` : '—'],
      [
        'Last error',
        r.last_error
          ? el('span', { class: r.connected ? 'warn-text' : 'error-text', id: 'external-redis-error' }, `${r.last_error} (${formatRelative(r.last_error_at)})`)
          : '—',
      ],
    ];
    fill(
      this.redisCard,
      header,
      el('dl', { class: 'facts compact' }, facts.map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)])),
    );
  }

  /**
   * Webhooks, as the host reports them: `{hooks: [{name, route, kind,
   * configured, received, accepted, duplicates, refused, last_event_at,
   * last_error, last_error_at}]}`, one row each. The card stays hidden on
   * a host that reports none.
   */
  renderHooks(status) {
    const hooks = status && Array.isArray(status.hooks) ? status.hooks : null;
    if (!hooks) {
      this.hooksCard.hidden = true;
      return;
    }
    this.hooksCard.hidden = false;
    const refused = (counts) => {
      const entries = Object.entries(counts || {}).filter(([, n]) => n > 0);
      return entries.length ? entries.map(([why, n]) => `${why} ${n}`).join(', ') : '0';
    };
    const rows = hooks.map((h) =>
      el(
        'tr',
        { dataset: { hook: h.name } },
        el('td', {}, el('strong', {}, h.name), el('div', { class: 'mono muted' }, h.route || '')),
        el('td', {}, badge(h.configured ? 'configured' : 'not configured', h.configured ? 'ok' : 'neutral')),
        el('td', {}, `${h.accepted ?? 0} / ${h.received ?? 0}`),
        el('td', {}, refused(h.refused)),
        el('td', {}, when(h.last_event_at)),
        el('td', {}, h.last_error ? el('span', { class: 'error-text' }, `${h.last_error} (${formatRelative(h.last_error_at)})`) : '—'),
      ),
    );
    fill(
      this.hooksCard,
      el('header', {}, el('h3', {}, 'Webhooks')),
      hooks.length === 0
        ? el('p', { class: 'muted' }, 'No webhooks are set up.')
        : el(
            'table',
            { class: 'grid' },
            el(
              'thead',
              {},
              el('tr', {}, ['Hook', 'State', 'Accepted / received', 'Refused', 'Last event', 'Last error'].map((h) => el('th', {}, h))),
            ),
            el('tbody', {}, rows),
          ),
    );
  }
}
