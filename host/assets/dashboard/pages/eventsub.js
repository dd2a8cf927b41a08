// EventSub status: whether the real-time connection to Twitch is up, its
// session, every subscription with its status, counters, and Connect /
// Disconnect. Updates live on the `eventsub` topic.

import { get, post } from '../api.js';
import { Page } from '../page.js';
import { badge, el, fill, formatRelative, formatTime, notify, withBusy } from '../ui.js';

const STATE_TONES = { connected: 'ok', connecting: 'warn', waiting: 'warn', disabled: 'neutral', needs_login: 'bad' };

export class EventSubPage extends Page {
  constructor() {
    super('eventsub', 'EventSub', ['eventsub']);
    this.status = null;
    this.connectButton = el('button', { type: 'button', id: 'eventsub-connect', onclick: (e) => this.control('connect', e.currentTarget) }, 'Connect');
    this.disconnectButton = el(
      'button',
      { type: 'button', id: 'eventsub-disconnect', onclick: (e) => this.control('disconnect', e.currentTarget) },
      'Disconnect',
    );
    this.summary = el('dl', { class: 'facts', id: 'eventsub-summary' });
    this.subscriptions = el('tbody');
    fill(
      this.body,
      el('div', { class: 'toolbar' }, this.connectButton, this.disconnectButton),
      this.summary,
      el('h3', {}, 'Subscriptions'),
      el(
        'table',
        { class: 'grid', id: 'eventsub-subscriptions' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Type'), el('th', {}, 'Version'), el('th', {}, 'Status'), el('th', {}, 'Id'))),
        this.subscriptions,
      ),
    );
  }

  async load() {
    this.status = await get('/eventsub');
    this.render();
  }

  tick() {
    if (this.status) {
      this.renderSummary();
    }
  }

  render() {
    const s = this.status;
    this.connectButton.disabled = s.connected;
    this.disconnectButton.disabled = !s.connected;
    this.renderSummary();
    const subs = s.subscriptions || [];
    fill(
      this.subscriptions,
      subs.length === 0
        ? el('tr', {}, el('td', { colspan: 4, class: 'empty' }, 'No subscriptions.'))
        : subs.map((sub) =>
            el(
              'tr',
              {},
              el('td', {}, sub.type),
              el('td', {}, sub.version),
              el('td', {}, badge(sub.status, sub.status === 'enabled' ? 'ok' : 'bad')),
              el('td', { class: 'mono' }, sub.id || '—'),
            ),
          ),
    );
  }

  renderSummary() {
    const s = this.status;
    const auth = s.auth || {};
    const dropped = s.dropped || {};
    const droppedTotal = Object.values(dropped).reduce((a, b) => a + (Number(b) || 0), 0);
    const facts = [
      ['Connection', badge((s.state || (s.connected ? 'connected' : 'disabled')).replace('_', ' '), STATE_TONES[s.state] || 'neutral')],
      ['Twitch login', auth.login ? `${auth.login} (${auth.state})` : auth.reason || auth.state || 'logged out'],
      ['Session', el('span', { class: 'mono' }, s.session_id || '—')],
      ['Connected since', s.connected_at ? `${formatTime(s.connected_at)} (${formatRelative(s.connected_at)})` : '—'],
      ['Last message', s.last_message_at ? formatRelative(s.last_message_at) : '—'],
      ['Keepalive', s.keepalive_timeout_secs ? `${s.keepalive_timeout_secs}s` : '—'],
      ['Notifications', String(s.notifications ?? 0)],
      ['Reconnects', String(s.reconnects ?? 0)],
      ['Dropped', droppedTotal ? Object.entries(dropped).map(([k, v]) => `${k} ${v}`).join(', ') : '0'],
      ['Last error', s.last_error || '—'],
    ];
    fill(this.summary, facts.map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
  }

  async control(action, button) {
    const status = await withBusy(button, () => post(`/eventsub/${action}`));
    if (status) {
      this.status = status;
      this.render();
      notify(action === 'connect' ? 'Connecting to EventSub…' : 'EventSub disconnected; polling covers the gap.');
    }
  }
}
