// Polling: the safety net under EventSub. Each poller's interval (editable),
// whether it runs, the interval in force now (stretched while EventSub is
// healthy), its last and next run, and its last error or report.

import { get, put } from '../api.js';
import { Page } from '../page.js';
import { badge, el, fill, formatDuration, formatRelative, notify, withBusy } from '../ui.js';

export class PollingPage extends Page {
  constructor() {
    // EventSub's health stretches or shortens the intervals.
    super('polling', 'Polling', ['eventsub']);
    this.pollers = [];
    this.rows = el('tbody', { id: 'poller-rows' });
    fill(
      this.body,
      el(
        'table',
        { class: 'grid' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', {}, 'Poller'),
            el('th', {}, 'On'),
            el('th', {}, 'Interval (s)'),
            el('th', {}, 'In force'),
            el('th', {}, 'Last run'),
            el('th', {}, 'Next run'),
            el('th', {}, 'Last result'),
          ),
        ),
        this.rows,
      ),
    );
  }

  async load() {
    this.pollers = await get('/polling');
    fill(this.rows, this.pollers.map((p) => this.row(p)));
  }

  tick() {
    for (const cell of this.root.querySelectorAll('[data-relative]')) {
      cell.textContent = formatRelative(cell.dataset.relative);
    }
  }

  row(p) {
    const enabled = el('input', {
      type: 'checkbox',
      checked: p.enabled,
      'aria-label': `Run ${p.name}`,
      onchange: (e) => this.change(p.name, { enabled: e.currentTarget.checked }, e.currentTarget),
    });
    const interval = el('input', { type: 'number', min: 1, step: 1, value: p.interval_secs, class: 'narrow', 'aria-label': `${p.name} interval in seconds` });
    const save = el(
      'button',
      {
        type: 'button',
        onclick: (e) => this.change(p.name, { interval_secs: Number(interval.value) }, e.currentTarget),
      },
      'Save',
    );
    const relative = (iso) => (iso ? el('span', { dataset: { relative: iso }, title: iso }, formatRelative(iso)) : '—');
    const report = p.last_report;
    const result = p.last_error
      ? el('span', { class: 'error-text' }, p.last_error)
      : report
        ? `${report.changes} change${report.changes === 1 ? '' : 's'}, ${report.requests} request${report.requests === 1 ? '' : 's'}${report.baseline ? ' (baseline)' : ''}`
        : '—';
    return el(
      'tr',
      { dataset: { poller: p.name } },
      el('td', {}, el('strong', {}, p.name), p.running ? [' ', badge('running', 'warn')] : null),
      el('td', {}, enabled),
      el('td', {}, interval, ' ', save),
      el('td', {}, formatDuration(p.effective_interval_secs), p.stretched ? el('span', { class: 'muted', title: 'EventSub is healthy, so polling slows down' }, ' (stretched)') : null),
      el('td', {}, relative(p.last_run_at)),
      el('td', {}, p.enabled ? relative(p.next_run_at) : 'off'),
      el('td', {}, result),
    );
  }

  async change(name, body, control) {
    const row = await withBusy(control, () => put(`/polling/${encodeURIComponent(name)}`, body));
    if (row) {
      notify(`${name}: ${row.enabled ? `every ${row.interval_secs}s` : 'off'}.`);
    }
    this.refresh();
  }
}
