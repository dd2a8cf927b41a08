// Events: the recent events as the formatter plugin shows them (label,
// icon, colour, text), newest first, with a kind filter; new events appear
// live. Each has a "Replay alert" button (its actions run again: the alert
// shows again, or waits while its overlay is paused) and a test alert can
// be sent for any kind.

import { get, post, query } from '../api.js';
import { Page } from '../page.js';
import { el, fill, formatTime, notify, withBusy } from '../ui.js';

/** Rows kept on screen; older ones are a "Load older" away. */
const PAGE_SIZE = 50;
const MAX_ROWS = 300;

/**
 * Every kind in the kinds table of docs/event-kinds.md, with believable
 * details for a test alert (the alert plugins fill their templates from
 * these).
 */
const KINDS = {
  'channel.follow': { action: 'follow' },
  'channel.subscribe': { tier: '1000', is_gift: false },
  'channel.subscription.message': { tier: '1000', cumulative_months: 12, message: 'A year already!' },
  'channel.subscription.gift': { tier: '1000', total: 5, is_anonymous: false },
  'channel.subscription.end': { tier: '1000' },
  'channel.cheer': { bits: 100, message: 'Cheer100 nice play!' },
  'channel.raid': { viewers: 42 },
  'channel.channel_points_custom_reward_redemption.add': {
    reward: { title: 'Hydrate!', cost: 500 },
    user_input: '',
  },
  'channel.chat.message': { text: 'Hello from a test message', badges: [] },
  'channel.ban': { moderator_username: 'TestMod', moderator_id: '0', reason: 'test', is_permanent: true },
  'channel.unban': {},
  'channel.timeout.end': {},
  'channel.vip.add': { action: 'granted', role_type: 'vip' },
  'channel.vip.remove': { action: 'revoked', role_type: 'vip' },
  'channel.moderator.add': { action: 'granted', role_type: 'moderator' },
  'channel.moderator.remove': { action: 'revoked', role_type: 'moderator' },
  'channel.unfollow': { action: 'unfollow' },
  'channel.clip.created': {
    clip_title: 'What a moment',
    clip_url: 'https://clips.twitch.tv/test',
    creator_username: 'TestViewer',
    view_count: 1,
  },
  'stream.online': {},
  'stream.offline': {},
};

/** Kinds that name nobody (no username, no viewer). */
const NOBODY = new Set(['stream.online', 'stream.offline']);

export class EventsPage extends Page {
  constructor() {
    super('events', 'Events', ['event', 'event_display']);
    this.events = [];
    this.kind = '';
    this.seenKinds = new Set(Object.keys(KINDS));
    this.hasOlder = false;

    this.kindFilter = el('select', {
      id: 'event-kind-filter',
      'aria-label': 'Show events of kind',
      onchange: () => {
        this.kind = this.kindFilter.value;
        this.refresh();
      },
    });
    this.list = el('ol', { class: 'event-list', id: 'event-list' });
    this.olderButton = el('button', { type: 'button', hidden: true, onclick: (e) => this.loadOlder(e.target) }, 'Load older');
    this.empty = el('p', { class: 'empty', hidden: true }, 'No events yet. Send a test alert to see one.');

    this.testKind = el('select', { id: 'test-kind', 'aria-label': 'Kind of test alert' });
    this.testName = el('input', {
      id: 'test-username',
      type: 'text',
      value: 'TestViewer',
      maxlength: 25,
      'aria-label': 'Test viewer name',
      size: 12,
    });
    for (const kind of Object.keys(KINDS)) {
      this.testKind.appendChild(el('option', { value: kind }, kind));
    }
    const testForm = el(
      'form',
      {
        class: 'toolbar test-alert',
        onsubmit: (e) => {
          e.preventDefault();
          this.sendTest(e.submitter);
        },
      },
      el('span', { class: 'toolbar-label' }, 'Test alert:'),
      this.testKind,
      this.testName,
      el('button', { type: 'submit', id: 'send-test' }, 'Send test'),
    );

    fill(
      this.body,
      el('div', { class: 'toolbar' }, el('label', {}, 'Kind ', this.kindFilter)),
      testForm,
      this.empty,
      this.list,
      this.olderButton,
    );
    this.fillKindFilter();
  }

  fillKindFilter() {
    const kinds = [...this.seenKinds].sort();
    fill(
      this.kindFilter,
      el('option', { value: '' }, 'All kinds'),
      kinds.map((kind) => el('option', { value: kind, selected: kind === this.kind }, kind)),
    );
  }

  noteKind(kind) {
    if (!this.seenKinds.has(kind)) {
      this.seenKinds.add(kind);
      this.fillKindFilter();
    }
  }

  async load() {
    const events = await get(`/events${query({ limit: PAGE_SIZE, kind: this.kind })}`);
    this.events = events;
    this.hasOlder = events.length === PAGE_SIZE;
    this.render();
  }

  async loadOlder(button) {
    const last = this.events[this.events.length - 1];
    if (!last) {
      return;
    }
    await withBusy(button, async () => {
      const older = await get(`/events${query({ limit: PAGE_SIZE, kind: this.kind, before: last.id })}`);
      const known = new Set(this.events.map((e) => e.id));
      this.events.push(...older.filter((e) => !known.has(e.id)));
      this.hasOlder = older.length === PAGE_SIZE;
      this.render();
    });
  }

  render() {
    this.events.forEach((event) => this.noteKind(event.kind));
    fill(this.list, this.events.map((event) => this.row(event, false)));
    this.empty.hidden = this.events.length > 0;
    this.olderButton.hidden = !this.hasOlder;
  }

  /** A new event from the live feed: on top, if it passes the filter. */
  onLive(topic, event) {
    if (!event || !event.id) {
      this.refresh();
      return;
    }
    if (topic === 'event_display') {
      // A formatter answered late: its display replaces the plain row.
      const at = this.events.findIndex((known) => known.id === event.id);
      if (at >= 0) {
        const updated = { ...this.events[at], display: event.display };
        this.events[at] = updated;
        const old = this.list.querySelector(`[data-event-id="${CSS.escape(event.id)}"]`);
        if (old) old.replaceWith(this.row(updated, false));
      }
      return;
    }
    this.noteKind(event.kind);
    if (this.kind && event.kind !== this.kind) {
      return;
    }
    if (this.events.some((known) => known.id === event.id)) {
      return;
    }
    this.events.unshift(event);
    this.list.prepend(this.row(event, true));
    this.empty.hidden = true;
    while (this.events.length > MAX_ROWS) {
      this.events.pop();
      this.list.lastElementChild?.remove();
      this.hasOlder = true;
      this.olderButton.hidden = false;
    }
  }

  row(event, fresh) {
    const display = event.display || {};
    const who = event.viewer ? event.viewer.display_name : event.details?.username;
    const label = el('span', { class: 'event-label' }, display.label || event.kind);
    if (display.color) {
      label.style.color = display.color;
    }
    const text = display.text || [who, event.kind].filter(Boolean).join(' · ');
    return el(
      'li',
      {
        class: fresh ? 'event fresh' : 'event',
        dataset: { eventId: event.id, kind: event.kind },
      },
      el('span', { class: 'event-icon', 'aria-hidden': 'true' }, display.icon || '•'),
      el(
        'div',
        { class: 'event-main' },
        el('div', {}, label, ' ', el('span', { class: 'event-text' }, text)),
        el(
          'div',
          { class: 'event-meta' },
          el('time', { datetime: event.occurred_at, title: event.occurred_at }, formatTime(event.occurred_at)),
          ` · ${event.source} · ${event.kind}`,
        ),
      ),
      el(
        'button',
        {
          type: 'button',
          class: 'replay',
          title: "Run this event's actions again (its alert shows again)",
          onclick: (e) => this.replay(event, e.currentTarget),
        },
        'Replay alert',
      ),
    );
  }

  async replay(event, button) {
    const result = await withBusy(button, () => post(`/events/${encodeURIComponent(event.id)}/replay`));
    if (!result) {
      return;
    }
    if (result.plugins === 0) {
      notify(`No action plugin handles ${event.kind}; nothing to replay.`, 'warn');
    } else {
      notify(`Replayed to ${result.plugins} plugin${result.plugins === 1 ? '' : 's'}.`);
    }
  }

  async sendTest(button) {
    const kind = this.testKind.value;
    const name = this.testName.value.trim() || 'TestViewer';
    const details = structuredClone(KINDS[kind] || {});
    const body = { kind, details };
    if (!NOBODY.has(kind)) {
      details.username = name;
      const login = name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      body.viewer = { id: `test-${login}`, login, display_name: name };
    }
    const created = await withBusy(button, () => post('/events/test', body));
    if (created) {
      notify(`Test ${kind} sent.`);
      // The live feed normally brings it; show it now in case the feed is down.
      this.onLive('event', created);
    }
  }
}
