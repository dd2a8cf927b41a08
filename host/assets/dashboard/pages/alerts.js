// Alerts: the editor of an alert plugin's alerts (a plugin whose settings
// schema has an `alerts` record with one record per event kind, like
// alert-box). Per kind: its form (templates, variations with their
// conditions, media, duration, speech, on/off), drawn from the plugin's
// schema, and a preview pane that plays the alert in the overlay's own page
// (a sandboxed frame in preview mode) for the base alert and for each
// variation, with sample data that meets the variation's condition. The
// preview runs the plugin itself with the unsaved settings
// (`POST /api/plugins/{name}/preview`); "Send test" puts that alert on the
// real overlay; "Save" stores the settings.

import { ApiError, get, post, put } from '../api.js';
import { Page } from '../page.js';
import { SettingsForm } from '../settings-form.js';
import { debounce, el, fill, notify, withBusy } from '../ui.js';

/** How long typing pauses before the preview is run again. */
const PREVIEW_DELAY_MS = 400;
/** The overlay a preview frame shows when the alert names none. */
const DEFAULT_OVERLAY = 'alerts';

/** A deep copy of plain JSON data. */
function copy(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** The `alerts` record of a settings schema, or null. */
export function alertsField(schema) {
  if (!Array.isArray(schema)) return null;
  const field = schema.find((f) => f.key === 'alerts' && f.type === 'record');
  return field && Array.isArray(field.fields) && field.fields.length > 0 ? field : null;
}

/**
 * Sample details meeting a variation's condition, such as
 * `bits >= 1000 and is_anonymous == false`: each comparison sets its
 * variable to the smallest value that satisfies it. Comparisons the sample
 * cannot meet on its own (`!=`) are left to the sample's value.
 */
export function sampleFor(when) {
  const details = {};
  if (typeof when !== 'string') return details;
  for (const clause of when.split(/\s+and\s+/)) {
    const match = clause.trim().match(/^([a-z_][a-z0-9_.]*)\s*(>=|<=|==|!=|>|<)\s*(.+)$/i);
    if (!match) continue;
    const [, name, op, raw] = match;
    let value = raw.trim().replace(/^"(.*)"$/s, '$1').replace(/^'(.*)'$/s, '$1');
    const number = Number(value);
    const numeric = value !== '' && Number.isFinite(number);
    if (op === '!=') continue;
    if (numeric) {
      value = op === '>' ? number + 1 : op === '<' ? number - 1 : number;
    } else if (value === 'true' || value === 'false') {
      value = value === 'true';
    }
    // Variables the templates offer but events do not carry.
    if (['count', 'kind', 'tier_name'].includes(name)) continue;
    setPath(details, name.split('.'), value);
  }
  return details;
}

function setPath(target, path, value) {
  let at = target;
  for (const part of path.slice(0, -1)) {
    if (typeof at[part] !== 'object' || at[part] === null) at[part] = {};
    at = at[part];
  }
  at[path[path.length - 1]] = value;
}

/** One preview: a caption, the overlay frame, its buttons. */
class PreviewTile {
  constructor(caption, onSend) {
    this.alerts = null;
    this.ready = false;
    this.note = el('p', { class: 'preview-note muted' });
    this.frame = el('iframe', {
      class: 'preview-frame',
      sandbox: 'allow-scripts',
      referrerpolicy: 'no-referrer',
      title: `Preview: ${caption}`,
      src: `/overlay/${DEFAULT_OVERLAY}?preview`,
    });
    this.root = el(
      'figure',
      { class: 'preview-tile' },
      el('div', { class: 'preview-screen' }, this.frame),
      el(
        'figcaption',
        {},
        el('span', { class: 'preview-caption' }, caption),
        el('button', { type: 'button', class: 'secondary', onclick: () => this.play() }, 'Play again'),
        el('button', { type: 'button', class: 'send-test', onclick: (e) => withBusy(e.currentTarget, onSend) }, 'Send test'),
      ),
      this.note,
    );
  }

  /** The frame said it listens (its page loaded in preview mode). */
  frameReady() {
    this.ready = true;
    this.play();
  }

  /** Shows a preview result: its alerts, or why there is none. */
  show(result) {
    this.alerts = result.alerts.map((a) => ({ ...a.alert, overlay: a.overlay }));
    const overlay = this.alerts[0] ? this.alerts[0].overlay : null;
    const notes = [];
    if (result.error) notes.push(result.error);
    if (this.alerts.length === 0 && !result.error) notes.push('No alert: this one is turned off.');
    if (overlay && overlay !== DEFAULT_OVERLAY) notes.push(`Shown on overlay "${overlay}".`);
    fill(this.note, notes.join(' '));
    this.note.classList.toggle('error-text', Boolean(result.error));
    this.play();
  }

  play() {
    if (!this.ready || !this.alerts || !this.frame.contentWindow) return;
    // The frame has an opaque origin (sandboxed), so '*' is the only target;
    // what is posted is the preview's own output, nothing secret.
    this.frame.contentWindow.postMessage({ type: 'preview', alerts: this.alerts }, '*');
  }
}

export class AlertsPage extends Page {
  constructor() {
    super('alerts', 'Alerts', ['plugins']);
    this.plugin = null; // name of the plugin being edited
    this.settings = null; // the draft settings object
    this.schema = null; // the `alerts` record field
    this.kind = null; // the kind being edited
    this.form = null;
    this.tiles = [];
    this.pickPlugin = el('select', { id: 'alerts-plugin', onchange: () => this.open(this.pickPlugin.value) });
    this.kinds = el('nav', { class: 'alert-kinds', id: 'alert-kinds', 'aria-label': 'Alert kinds' });
    this.formHolder = el('div', { class: 'alert-form', id: 'alert-form' });
    this.previews = el('div', { class: 'alert-previews', id: 'alert-previews' });
    this.empty = el('p', { class: 'empty', hidden: true }, 'No alert plugin with an alert editor is running. Install alert-box (or another plugin whose settings have an "alerts" section) on the Plugins page.');
    this.editor = el(
      'div',
      { class: 'alert-editor', hidden: true },
      el('label', { class: 'inline' }, 'Plugin ', this.pickPlugin),
      el('div', { class: 'alert-editor-grid' }, this.kinds, this.formHolder, this.previews),
    );
    this.previewSoon = debounce(() => this.runPreview(), PREVIEW_DELAY_MS);
    window.addEventListener('message', (e) => this.frameMessage(e));
    fill(this.body, this.empty, this.editor);
  }

  /** Live changes to plugins are not applied over an edit in progress. */
  onLive() {
    if (!this.plugin) this.refresh();
  }

  async load() {
    const plugins = await get('/plugins');
    const candidates = [];
    for (const plugin of plugins) {
      if (plugin.status !== 'running') continue;
      try {
        const settings = await get(`/plugins/${encodeURIComponent(plugin.name)}/settings`);
        if (alertsField(settings.schema)) candidates.push(plugin.name);
      } catch {
        // A plugin gone meanwhile is simply not offered.
      }
    }
    this.empty.hidden = candidates.length > 0;
    this.editor.hidden = candidates.length === 0;
    fill(this.pickPlugin, ...candidates.map((name) => el('option', { value: name }, name)));
    if (candidates.length === 0) {
      this.plugin = null;
      return;
    }
    const wanted = candidates.includes(this.plugin) ? this.plugin : candidates.includes('alert-box') ? 'alert-box' : candidates[0];
    this.pickPlugin.value = wanted;
    if (wanted !== this.plugin) await this.open(wanted);
  }

  /** Starts editing `name`'s alerts from its saved settings. */
  async open(name) {
    const settings = await get(`/plugins/${encodeURIComponent(name)}/settings`);
    this.plugin = name;
    this.schema = alertsField(settings.schema);
    this.settings = copy(settings.settings) || {};
    if (typeof this.settings.alerts !== 'object' || this.settings.alerts === null) this.settings.alerts = {};
    const kinds = this.schema.fields;
    fill(
      this.kinds,
      ...kinds.map((field) =>
        el('button', { type: 'button', class: 'alert-kind', 'data-kind': field.key, onclick: () => this.editKind(field.key) }, field.label || field.key),
      ),
    );
    this.editKind(kinds.some((f) => f.key === this.kind) ? this.kind : kinds[0].key);
  }

  /** Shows the form and previews of one kind. */
  editKind(kind) {
    this.kind = kind;
    for (const button of this.kinds.querySelectorAll('button')) {
      button.classList.toggle('active', button.dataset.kind === kind);
      button.setAttribute('aria-current', String(button.dataset.kind === kind));
    }
    const field = this.schema.fields.find((f) => f.key === kind);
    this.form = new SettingsForm({
      schema: field.fields || [],
      values: this.settings.alerts[kind] || {},
      onSave: (values) => this.save(kind, values),
      loadMedia: () => get('/media'),
    });
    // Any edit re-runs the preview (the form's own events bubble up here).
    this.form.root.addEventListener('input', () => this.edited());
    this.form.root.addEventListener('change', () => this.edited());
    this.form.root.addEventListener('click', (e) => {
      if (e.target instanceof HTMLButtonElement && !e.target.classList.contains('save-settings')) this.edited();
    });
    fill(this.formHolder, el('h3', {}, field.label || kind), this.form.root);
    this.buildTiles();
    this.runPreview();
  }

  /** The form changed: keep its values in the draft, preview again. */
  edited() {
    if (!this.form) return;
    const before = JSON.stringify(this.variations());
    this.settings.alerts[this.kind] = this.form.value();
    if (JSON.stringify(this.variations()) !== before) this.buildTiles();
    this.previewSoon();
  }

  variations() {
    const values = this.settings.alerts[this.kind] || {};
    return Array.isArray(values.variations) ? values.variations : [];
  }

  /** The sample events: the base alert, then one per variation. */
  samples() {
    return [
      { caption: 'Base alert', event: { kind: this.kind } },
      ...this.variations().map((v, i) => ({
        caption: `Variation ${i + 1}${v.when ? `: ${v.when}` : ''}`,
        event: { kind: this.kind, details: sampleFor(v.when) },
      })),
    ];
  }

  buildTiles() {
    this.tiles = this.samples().map((sample) => new PreviewTile(sample.caption, () => this.sendTest(sample.event)));
    fill(this.previews, ...this.tiles.map((t) => t.root));
  }

  frameMessage(e) {
    if (!e.data || e.data.type !== 'preview-ready') return;
    const tile = this.tiles.find((t) => t.frame.contentWindow === e.source);
    if (tile) tile.frameReady();
  }

  async runPreview() {
    if (!this.plugin || !this.kind) return;
    const tiles = this.tiles;
    const samples = this.samples().slice(0, tiles.length);
    try {
      const answer = await post(`/plugins/${encodeURIComponent(this.plugin)}/preview`, {
        settings: this.settings,
        events: samples.map((s) => s.event),
      });
      if (tiles !== this.tiles) return; // rebuilt meanwhile: a newer run follows
      answer.results.forEach((result, i) => tiles[i] && tiles[i].show(result));
    } catch (error) {
      if (tiles !== this.tiles) return;
      for (const tile of tiles) tile.show({ alerts: [], error: error.message });
    }
  }

  /** Puts this sample's alert, with the unsaved settings, on the real overlay. */
  async sendTest(event) {
    try {
      const answer = await post(`/plugins/${encodeURIComponent(this.plugin)}/preview`, {
        settings: this.settings,
        events: [event],
        send: true,
      });
      const sent = answer.queued.length;
      notify(sent ? 'Test alert sent to the overlay.' : 'No alert to send: this one is turned off.', 'info');
    } catch (error) {
      notify(error.message, 'error');
    }
  }

  /** Saves the whole settings with this kind's values. */
  async save(kind, values) {
    this.settings.alerts[kind] = values;
    try {
      await put(`/plugins/${encodeURIComponent(this.plugin)}/settings`, { settings: this.settings });
      notify('Alerts saved.');
    } catch (error) {
      // The host names fields from the top (`alerts.<kind>.title`); the form
      // holds this kind's fields only.
      const prefix = `alerts.${kind}.`;
      if (error instanceof ApiError && typeof error.field === 'string' && error.field.startsWith(prefix)) {
        error.field = error.field.slice(prefix.length);
      }
      throw error;
    }
  }
}
