// TTS restrictions (seed 004): muted and cooled-down viewers with live
// countdowns, a form to mute or cool someone down, and buttons to lift a
// restriction. Any change (here, from a chat command, a plugin, or the
// expiry job) arrives on the `tts_rules` topic and the tables re-fetch.
// Countdowns use the host's clock (sent with the list), so a browser whose
// clock is off still counts right.

import { del, get, post } from '../api.js';
import { Page } from '../page.js';
import { el, fill, formatDuration, formatRelative, notify, withBusy } from '../ui.js';

export class TtsPage extends Page {
  constructor() {
    super('tts', 'TTS restrictions', ['tts_rules']);
    this.rules = [];
    this.clockOffsetMs = 0;

    this.login = el('input', { id: 'tts-login', type: 'text', required: true, placeholder: 'viewer login', maxlength: 64, 'aria-label': 'Viewer login' });
    this.type = el(
      'select',
      { id: 'tts-type', 'aria-label': 'Restriction', onchange: () => this.syncForm() },
      el('option', { value: 'mute' }, 'Mute'),
      el('option', { value: 'cooldown' }, 'Cooldown'),
    );
    this.minutes = el('input', { id: 'tts-minutes', type: 'number', min: 1, max: 43200, step: 1, placeholder: 'minutes', 'aria-label': 'For minutes' });
    this.gap = el('input', { id: 'tts-gap', type: 'number', min: 1, max: 3600, step: 1, placeholder: 'seconds', 'aria-label': 'Gap between messages in seconds' });
    this.gapLabel = el('label', {}, 'one message per ', this.gap, ' s');
    this.minutesHint = el('span', { class: 'muted' });
    const form = el(
      'form',
      { class: 'toolbar', id: 'tts-form', onsubmit: (e) => this.submit(e) },
      this.login,
      this.type,
      el('label', {}, 'for ', this.minutes, ' min'),
      this.gapLabel,
      el('button', { type: 'submit' }, 'Apply'),
      this.minutesHint,
    );

    this.muted = el('tbody', { id: 'tts-muted' });
    this.cooldowns = el('tbody', { id: 'tts-cooldowns' });
    fill(
      this.body,
      form,
      el('h3', {}, 'Muted'),
      el(
        'table',
        { class: 'grid' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Viewer'), el('th', {}, 'Expires in'), el('th', {}, 'Set by'), el('th', {}, 'Since'), el('th', {}, ''))),
        this.muted,
      ),
      el('h3', {}, 'Cooldowns'),
      el(
        'table',
        { class: 'grid' },
        el(
          'thead',
          {},
          el('tr', {}, el('th', {}, 'Viewer'), el('th', {}, 'Gap'), el('th', {}, 'Expires in'), el('th', {}, 'Set by'), el('th', {}, 'Since'), el('th', {}, '')),
        ),
        this.cooldowns,
      ),
    );
    this.syncForm();
  }

  /** Cooldowns need a gap and a duration; a mute without minutes is for good. */
  syncForm() {
    const cooldown = this.type.value === 'cooldown';
    this.gapLabel.hidden = !cooldown;
    this.gap.required = cooldown;
    this.minutes.required = cooldown;
    this.minutesHint.textContent = cooldown ? '' : 'leave minutes empty to mute until unmuted';
  }

  /** The host's time now, in ms. */
  now() {
    return Date.now() + this.clockOffsetMs;
  }

  async load() {
    const list = await get('/tts/rules');
    this.clockOffsetMs = new Date(list.now).getTime() - Date.now();
    this.rules = list.rules;
    this.render();
  }

  render() {
    const mutes = this.rules.filter((r) => r.type === 'mute');
    const cooldowns = this.rules.filter((r) => r.type === 'cooldown');
    fill(this.muted, mutes.length ? mutes.map((r) => this.row(r)) : this.emptyRow(5, 'Nobody is muted.'));
    fill(this.cooldowns, cooldowns.length ? cooldowns.map((r) => this.row(r)) : this.emptyRow(6, 'Nobody is cooled down.'));
    this.tick();
  }

  emptyRow(columns, text) {
    return el('tr', {}, el('td', { colspan: columns, class: 'empty' }, text));
  }

  row(rule) {
    const countdown = el('td', { class: 'countdown', dataset: { expiresAt: rule.expires_at || '' } });
    const lift = el(
      'button',
      { type: 'button', onclick: (e) => this.lift(rule, e.currentTarget) },
      rule.type === 'mute' ? 'Unmute' : 'Remove',
    );
    return el(
      'tr',
      { class: 'tts-rule', dataset: { login: rule.login, type: rule.type } },
      el('td', {}, el('strong', {}, rule.display_name), rule.display_name.toLowerCase() === rule.login ? '' : ` (${rule.login})`),
      rule.type === 'cooldown' ? el('td', {}, `${rule.gap_seconds}s between messages`) : null,
      countdown,
      el('td', {}, rule.created_by || '—'),
      el('td', { class: 'since', title: rule.created_at, dataset: { since: rule.created_at } }, formatRelative(rule.created_at, this.now())),
      el('td', {}, lift),
    );
  }

  /** Updates every countdown; a rule whose time is up leaves the table. */
  tick() {
    let expired = false;
    for (const cell of this.root.querySelectorAll('td.countdown')) {
      const expiresAt = cell.dataset.expiresAt;
      if (!expiresAt) {
        cell.textContent = 'until lifted';
        continue;
      }
      const left = (new Date(expiresAt).getTime() - this.now()) / 1000;
      if (left <= 0) {
        cell.closest('tr').remove();
        expired = true;
      } else {
        cell.textContent = formatDuration(left);
      }
    }
    for (const cell of this.root.querySelectorAll('td.since')) {
      cell.textContent = formatRelative(cell.dataset.since, this.now());
    }
    if (expired) {
      this.rules = this.rules.filter((r) => !r.expires_at || new Date(r.expires_at).getTime() > this.now());
      this.render();
    }
  }

  async submit(event) {
    event.preventDefault();
    const body = { login: this.login.value.trim(), type: this.type.value };
    if (this.minutes.value !== '') {
      body.minutes = Number(this.minutes.value);
    }
    if (body.type === 'cooldown') {
      body.gap_seconds = Number(this.gap.value);
    }
    const rule = await withBusy(event.submitter, () => post('/tts/rules', body));
    if (rule) {
      notify(rule.type === 'mute' ? `${rule.display_name} is muted.` : `${rule.display_name} is cooled down.`);
      this.login.value = '';
      this.refresh();
    }
  }

  async lift(rule, button) {
    const path = `/tts/rules/${encodeURIComponent(rule.login)}?type=${rule.type}`;
    const done = await withBusy(button, () => del(path));
    if (done) {
      notify(`${rule.display_name}: ${rule.type} lifted.`);
      this.refresh();
    }
  }
}
