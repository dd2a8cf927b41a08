// Text to speech (issue 7), four sections:
// - the speech queue: what the overlay is saying and what waits, with
//   "Skip current" and a remove button per item (live on `speech`, and on
//   `overlays`, which an overlay page's acknowledgement changes);
// - who is read aloud: the speech settings form (live on `speech`; edits
//   not yet saved are kept when the settings change elsewhere);
// - TTS grants: viewers allowed for a while (channel points or here), with
//   countdowns, a grant form and revoke buttons (live on `tts_rules`);
// - restrictions: muted and cooled-down viewers with countdowns, a form to
//   mute or cool someone down, and buttons to lift a restriction (live on
//   `tts_rules`: from here, a chat command, a plugin, or the expiry job).
// Countdowns use the host's clock (sent with the lists), so a browser whose
// clock is off still counts right.

import { del, get, post, put } from '../api.js';
import { Page } from '../page.js';
import { badge, el, fill, formatDuration, formatRelative, formatTime, notify, withBusy } from '../ui.js';

/** The groups `access` may list besides "everyone", as the form shows them. */
const ACCESS_GROUPS = [
  ['subscribers', 'Subscribers'],
  ['vips', 'VIPs'],
  ['moderators', 'Moderators'],
  ['grants', 'Viewers holding a grant (channel points or below)'],
];
const GRANT_SOURCES = { channel_points: 'Channel points', dashboard: 'Dashboard' };

export class TtsPage extends Page {
  constructor() {
    super('tts', 'TTS', ['tts_rules', 'speech', 'overlays']);
    this.rules = [];
    this.grants = [];
    this.queue = [];
    this.settings = null;
    /** The settings form holds edits not saved yet: live updates leave it. */
    this.settingsDirty = false;
    this.clockOffsetMs = 0;

    fill(
      this.body,
      this.buildQueue(),
      this.buildSettings(),
      this.buildGrants(),
      this.buildRestrictions(),
    );
    this.syncForm();
    this.syncAccess();
  }

  // --- Building the sections ---------------------------------------------

  buildQueue() {
    this.skipButton = el('button', { type: 'button', id: 'tts-skip', onclick: (e) => this.skip(e.currentTarget) }, 'Skip current');
    this.queueNote = el('span', { class: 'muted', id: 'tts-queue-note' });
    this.queueRows = el('tbody', { id: 'tts-queue' });
    return el(
      'section',
      { class: 'tts-section', id: 'tts-queue-section', 'aria-label': 'Speech queue' },
      el('h3', {}, 'Speech queue'),
      el('div', { class: 'toolbar' }, this.skipButton, this.queueNote),
      el(
        'table',
        { class: 'grid' },
        el(
          'thead',
          {},
          el('tr', {}, el('th', {}, 'Viewer'), el('th', {}, 'Text'), el('th', {}, 'Queued'), el('th', {}, 'State'), el('th', {}, '')),
        ),
        this.queueRows,
      ),
    );
  }

  buildSettings() {
    const markDirty = () => {
      this.settingsDirty = true;
      this.settingsState.textContent = 'unsaved changes';
    };
    const number = (id, label, min) => el('input', { id, type: 'number', min, step: 1, required: true, 'aria-label': label });
    this.enabled = el('input', { id: 'tts-enabled', type: 'checkbox' });
    this.everyone = el('input', { id: 'tts-access-everyone', type: 'checkbox', onchange: () => this.syncAccess() });
    this.groups = ACCESS_GROUPS.map(([value, label]) => ({
      value,
      label,
      box: el('input', { id: `tts-access-${value}`, type: 'checkbox', value }),
    }));
    this.maxChars = number('tts-max-chars', 'Longest message read, in characters', 1);
    this.viewerGap = number('tts-viewer-gap', 'Seconds between one viewer’s messages', 0);
    this.maxQueue = number('tts-max-queue', 'Most messages waiting', 1);
    this.overlay = el('input', { id: 'tts-overlay', type: 'text', required: true, maxlength: 64, class: 'narrow-text', 'aria-label': 'Overlay that speaks' });
    this.skipPrefixes = el('input', { id: 'tts-skip-prefixes', type: 'text', class: 'narrow-text', placeholder: '! ~', 'aria-label': 'Prefixes of messages not read, separated by spaces' });
    this.reward = el('input', { id: 'tts-reward', type: 'text', class: 'narrow-text', placeholder: 'none', 'aria-label': 'Channel-points reward title that grants TTS' });
    this.rewardMinutes = number('tts-reward-minutes', 'Minutes a redemption grants', 1);
    this.retentionDays = number('tts-retention-days', 'Days chat is kept', 1);
    this.settingsState = el('span', { class: 'muted', id: 'tts-settings-state', role: 'status' });

    // Label, input and hint: three columns of the form's grid.
    const field = (label, input, unit) => el('label', { class: 'field' }, el('span', { class: 'field-label' }, label), input, el('span', { class: 'muted' }, unit));
    this.settingsForm = el(
      'form',
      { id: 'tts-settings', class: 'settings-form', oninput: markDirty, onchange: markDirty, onsubmit: (e) => this.saveSettings(e) },
      el('label', { class: 'check' }, this.enabled, ' Read chat aloud'),
      el(
        'fieldset',
        { class: 'access' },
        el('legend', {}, 'Access (the broadcaster always is)'),
        el('label', { class: 'check' }, this.everyone, ' Everyone who chats'),
        this.groups.map((g) => el('label', { class: 'check' }, g.box, ` ${g.label}`)),
      ),
      el(
        'div',
        { class: 'fields' },
        field('Longest message', this.maxChars, 'characters (longer ones are cut)'),
        field('One viewer at most every', this.viewerGap, 'seconds'),
        field('Queue limit', this.maxQueue, 'messages waiting'),
        field('Skip messages starting with', this.skipPrefixes, 'separated by spaces'),
        field('Overlay that speaks', this.overlay, ''),
        field('Reward that grants TTS', this.reward, 'channel-points reward title (empty: none)'),
        field('A redemption grants', this.rewardMinutes, 'minutes'),
        field('Keep chat for', this.retentionDays, 'days'),
      ),
      el(
        'div',
        { class: 'toolbar' },
        el('button', { type: 'submit', id: 'tts-settings-save' }, 'Save'),
        el('button', { type: 'button', id: 'tts-settings-reset', onclick: () => this.resetSettings() }, 'Discard changes'),
        this.settingsState,
      ),
    );
    return el('section', { class: 'tts-section', id: 'tts-settings-section', 'aria-label': 'Who is read aloud' }, el('h3', {}, 'Who is read aloud'), this.settingsForm);
  }

  buildGrants() {
    this.grantLogin = el('input', { id: 'tts-grant-login', type: 'text', required: true, placeholder: 'viewer login', maxlength: 64, 'aria-label': 'Viewer login to grant' });
    this.grantMinutes = el('input', { id: 'tts-grant-minutes', type: 'number', min: 1, step: 1, placeholder: '60', 'aria-label': 'Grant for minutes' });
    const form = el(
      'form',
      { class: 'toolbar', id: 'tts-grant-form', onsubmit: (e) => this.grant(e) },
      this.grantLogin,
      el('label', {}, 'for ', this.grantMinutes, ' min'),
      el('button', { type: 'submit' }, 'Grant TTS'),
    );
    this.grantRows = el('tbody', { id: 'tts-grants' });
    return el(
      'section',
      { class: 'tts-section', id: 'tts-grants-section', 'aria-label': 'TTS grants' },
      el('h3', {}, 'TTS grants'),
      el('p', { class: 'muted' }, 'Viewers read aloud for a while when access includes grant holders.'),
      form,
      el(
        'table',
        { class: 'grid' },
        el(
          'thead',
          {},
          el('tr', {}, el('th', {}, 'Viewer'), el('th', {}, 'From'), el('th', {}, 'Expires in'), el('th', {}, 'Granted'), el('th', {}, '')),
        ),
        this.grantRows,
      ),
    );
  }

  buildRestrictions() {
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
    return el(
      'section',
      { class: 'tts-section', id: 'tts-restrictions-section', 'aria-label': 'Restrictions' },
      el('h3', {}, 'Restrictions'),
      form,
      el('h4', {}, 'Muted'),
      el(
        'table',
        { class: 'grid' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Viewer'), el('th', {}, 'Expires in'), el('th', {}, 'Set by'), el('th', {}, 'Since'), el('th', {}, ''))),
        this.muted,
      ),
      el('h4', {}, 'Cooldowns'),
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
  }

  /** Cooldowns need a gap and a duration; a mute without minutes is for good. */
  syncForm() {
    const cooldown = this.type.value === 'cooldown';
    this.gapLabel.hidden = !cooldown;
    this.gap.required = cooldown;
    this.minutes.required = cooldown;
    this.minutesHint.textContent = cooldown ? '' : 'leave minutes empty to mute until unmuted';
  }

  /** "Everyone" already includes every group: the others are then off. */
  syncAccess() {
    for (const g of this.groups) {
      g.box.disabled = this.everyone.checked;
    }
  }

  // --- Loading -----------------------------------------------------------

  /** The host's time now, in ms. */
  now() {
    return Date.now() + this.clockOffsetMs;
  }

  setClock(now) {
    const at = new Date(now).getTime();
    if (!Number.isNaN(at)) {
      this.clockOffsetMs = at - Date.now();
    }
  }

  /**
   * Fetches the four lists together. One failing still leaves the others
   * drawn; its error is shown on the page.
   */
  async load() {
    const [rules, grants, queue, settings] = await Promise.allSettled([
      get('/tts/rules'),
      get('/tts/grants'),
      get('/tts/queue'),
      get('/tts/settings'),
    ]);
    if (rules.status === 'fulfilled') {
      this.setClock(rules.value.now);
      this.rules = rules.value.rules;
      this.renderRules();
    }
    if (grants.status === 'fulfilled') {
      this.setClock(grants.value.now);
      this.grants = grants.value.grants;
      this.renderGrants();
    }
    if (queue.status === 'fulfilled') {
      this.setClock(queue.value.now);
      this.queue = queue.value.items;
    }
    if (settings.status === 'fulfilled') {
      this.settings = settings.value;
      this.renderSettings();
    }
    // The queue's note says whether speech is on: drawn after the settings.
    if (queue.status === 'fulfilled') {
      this.renderQueue();
    }
    this.tick();
    const failed = [rules, grants, queue, settings].find((r) => r.status === 'rejected');
    if (failed) {
      throw failed.reason;
    }
  }

  // --- Speech queue ------------------------------------------------------

  renderQueue() {
    // Pages play in order: the first item a page holds is the one spoken.
    const speaking = new Set();
    for (const item of this.queue) {
      if (item.sent && !speaking.has(item.overlay)) {
        speaking.add(item.overlay);
        item.speaking = true;
      }
    }
    fill(this.queueRows, this.queue.length ? this.queue.map((item) => this.queueRow(item)) : this.emptyRow(5, 'Nothing to say.'));
    const parts = [`${this.queue.length} in the queue`];
    if (this.settings && !this.settings.enabled) {
      parts.push('chat is not read aloud (turned off below)');
    }
    this.queueNote.textContent = parts.join(' · ');
  }

  queueRow(item) {
    const who = item.display_name || item.login;
    const remove = el('button', { type: 'button', class: 'tts-remove danger', title: 'Remove: it will not be spoken', onclick: (e) => this.removeItem(item, e.currentTarget) }, 'Remove');
    return el(
      'tr',
      { class: 'tts-queue-item', dataset: { id: item.id, login: item.login || '', state: item.speaking ? 'speaking' : 'waiting' } },
      el(
        'td',
        {},
        who ? el('strong', {}, who) : el('span', { class: 'muted' }, 'a plugin'),
        who && item.login && who.toLowerCase() !== item.login ? ` (${item.login})` : '',
        this.settings && item.overlay !== this.settings.overlay ? el('div', { class: 'muted' }, `on ${item.overlay}`) : null,
      ),
      el('td', { class: 'tts-text' }, item.text),
      el('td', { class: 'since', title: formatTime(item.queued_at), dataset: { since: item.queued_at } }, formatRelative(item.queued_at, this.now())),
      el('td', {}, item.speaking ? badge('speaking', 'ok') : badge('waiting')),
      el('td', {}, remove),
    );
  }

  async skip(button) {
    const answer = await withBusy(button, () => post('/tts/skip'));
    if (answer) {
      if (answer.pages > 0) {
        notify('Skipped what the overlay was saying.');
      } else {
        notify('No overlay page is connected: nothing to skip.', 'warn');
      }
      this.refresh();
    }
  }

  async removeItem(item, button) {
    const done = await withBusy(button, () => del(`/tts/queue/${encodeURIComponent(item.id)}`));
    if (done) {
      notify('Removed from the speech queue.');
      this.refresh();
    }
  }

  // --- Settings ------------------------------------------------------------

  /** Shows the host's settings, unless the form holds unsaved edits. */
  renderSettings() {
    if (this.settingsDirty || !this.settings) {
      return;
    }
    const s = this.settings;
    this.enabled.checked = Boolean(s.enabled);
    const access = Array.isArray(s.access) ? s.access : [];
    this.everyone.checked = access.includes('everyone');
    for (const g of this.groups) {
      g.box.checked = access.includes(g.value);
    }
    this.maxChars.value = s.max_chars ?? '';
    this.viewerGap.value = s.viewer_gap_seconds ?? '';
    this.maxQueue.value = s.max_queue ?? '';
    this.overlay.value = s.overlay ?? '';
    this.skipPrefixes.value = Array.isArray(s.skip_prefixes) ? s.skip_prefixes.join(' ') : '';
    this.reward.value = s.grant_reward ?? '';
    this.rewardMinutes.value = s.grant_minutes ?? '';
    this.retentionDays.value = s.chat_retention_days ?? '';
    this.grantMinutes.placeholder = String(s.grant_minutes ?? 60);
    this.syncAccess();
    this.settingsState.textContent = '';
  }

  /** The form as a settings update (every field it shows). */
  settingsFromForm() {
    const access = this.everyone.checked ? ['everyone'] : this.groups.filter((g) => g.box.checked).map((g) => g.value);
    return {
      enabled: this.enabled.checked,
      access,
      max_chars: Number(this.maxChars.value),
      viewer_gap_seconds: Number(this.viewerGap.value),
      max_queue: Number(this.maxQueue.value),
      overlay: this.overlay.value.trim(),
      skip_prefixes: this.skipPrefixes.value.split(/\s+/).filter(Boolean),
      grant_reward: this.reward.value.trim(),
      grant_minutes: Number(this.rewardMinutes.value),
      chat_retention_days: Number(this.retentionDays.value),
    };
  }

  async saveSettings(event) {
    event.preventDefault();
    const saved = await withBusy(event.submitter, () => put('/tts/settings', this.settingsFromForm()));
    if (saved !== undefined) {
      this.settingsDirty = false;
      if (saved) {
        this.settings = saved;
        this.renderSettings();
        this.renderQueue();
      }
      notify('TTS settings saved.');
      this.refresh();
    } else {
      // Refused (the notice says why): the edits stay for fixing.
      this.settingsState.textContent = 'not saved';
    }
  }

  resetSettings() {
    this.settingsDirty = false;
    this.renderSettings();
  }

  // --- Grants ------------------------------------------------------------

  renderGrants() {
    fill(this.grantRows, this.grants.length ? this.grants.map((g) => this.grantRow(g)) : this.emptyRow(5, 'No grants in force.'));
  }

  grantRow(grant) {
    const name = grant.display_name || grant.login;
    return el(
      'tr',
      { class: 'tts-grant', dataset: { login: grant.login, source: grant.source } },
      el('td', {}, el('strong', {}, name), name.toLowerCase() === grant.login ? '' : ` (${grant.login})`),
      el('td', {}, GRANT_SOURCES[grant.source] || grant.source || '—'),
      el('td', { class: 'countdown', dataset: { expiresAt: grant.expires_at || '' } }),
      el('td', { class: 'since', title: formatTime(grant.granted_at), dataset: { since: grant.granted_at } }, formatRelative(grant.granted_at, this.now())),
      el('td', {}, el('button', { type: 'button', class: 'tts-revoke', onclick: (e) => this.revoke(grant, e.currentTarget) }, 'Revoke')),
    );
  }

  async grant(event) {
    event.preventDefault();
    const minutes = this.grantMinutes.value !== '' ? Number(this.grantMinutes.value) : Number(this.settings?.grant_minutes ?? 60);
    const body = { login: this.grantLogin.value.trim().replace(/^@/, ''), minutes };
    const granted = await withBusy(event.submitter, () => post('/tts/grants', body));
    if (granted !== undefined) {
      notify(`${granted?.display_name || body.login} may use TTS for ${formatDuration(minutes * 60)}.`);
      this.grantLogin.value = '';
      this.refresh();
    }
  }

  async revoke(grant, button) {
    const done = await withBusy(button, () => del(`/tts/grants/${encodeURIComponent(grant.login)}`));
    if (done) {
      notify(`${grant.display_name || grant.login}: TTS grant revoked.`);
      this.refresh();
    }
  }

  // --- Restrictions ------------------------------------------------------

  renderRules() {
    const mutes = this.rules.filter((r) => r.type === 'mute');
    const cooldowns = this.rules.filter((r) => r.type === 'cooldown');
    fill(this.muted, mutes.length ? mutes.map((r) => this.row(r)) : this.emptyRow(5, 'Nobody is muted.'));
    fill(this.cooldowns, cooldowns.length ? cooldowns.map((r) => this.row(r)) : this.emptyRow(6, 'Nobody is cooled down.'));
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

  /** Updates every countdown; a rule or grant whose time is up leaves its table. */
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
      const inForce = (at) => !at || new Date(at).getTime() > this.now();
      this.rules = this.rules.filter((r) => inForce(r.expires_at));
      this.grants = this.grants.filter((g) => inForce(g.expires_at));
      this.renderRules();
      this.renderGrants();
      this.tick();
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
