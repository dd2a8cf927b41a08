// Plugins: each plugin's status and last error, what it asks to be allowed
// and what it was granted, and its controls: Allow, Reset (out of
// quarantine), Enable / Disable, Reload, Remove, and its settings: a form
// drawn from its [[setting]] schema (settings-form.js), or for a plugin
// without one JSON replacing the [settings] of its plugin.toml. Above them,
// "Install plugin" (see plugin-install.js). Status changes arrive on the
// `plugins` topic. Cards are updated in place, so a settings editor being
// typed in survives live updates.

import { del, get, post, put } from '../api.js';
import { Page } from '../page.js';
import { PluginInstaller, confirmRemove, removePlugin } from '../plugin-install.js';
import { SettingsForm } from '../settings-form.js';
import { badge, debounce, el, fill, notify, withBusy } from '../ui.js';

const STATUS_TONES = {
  running: 'ok',
  compiling: 'neutral',
  pending_grant: 'warn',
  quarantined: 'bad',
  failed: 'bad',
  disabled: 'neutral',
};

/** What a permission or limit request means, for the streamer. */
function describePermission(key) {
  const [kind, value] = key.split(/:(.*)/s);
  switch (kind) {
    case 'chat':
      return 'send chat messages';
    case 'tts_rules':
      return "mute viewers' TTS";
    case 'webhook':
      return `send webhooks to ${value}`;
    case 'media':
      return `show media from ${value}`;
    case 'deadline_ms':
      return `${value} ms per call (default 50)`;
    case 'memory_mib':
      return `${value} MiB of memory (default 64)`;
    default:
      return key;
  }
}

export class PluginsPage extends Page {
  constructor() {
    super('plugins', 'Plugins', ['plugins']);
    this.cards = new Map();
    this.list = el('div', { class: 'cards', id: 'plugin-list' });
    this.empty = el('p', { class: 'empty', hidden: true }, 'No plugins. Install one above, or drop a plugin folder into the plugins directory; it loads without a restart.');
    this.refreshSoon = debounce(() => this.refresh(), 200);
    this.installer = new PluginInstaller({
      describe: describePermission,
      onInstalled: (status) => {
        const waiting = status.status === 'pending_grant' ? ' It waits for you to allow what it asks for.' : '';
        const failed = status.last_error && status.status !== 'pending_grant' ? ` ${status.last_error}` : '';
        notify(`${status.name} installed (${status.status.replace('_', ' ')}).${waiting}${failed}`, failed ? 'warn' : 'info');
        this.refresh();
      },
    });
    fill(this.body, this.installer.root, this.empty, this.list);
  }

  onLive() {
    this.refreshSoon();
  }

  async load() {
    const plugins = await get('/plugins');
    this.render(plugins);
  }

  render(plugins) {
    this.empty.hidden = plugins.length > 0;
    const names = new Set(plugins.map((p) => p.name));
    for (const [name, card] of this.cards) {
      if (!names.has(name)) {
        card.root.remove();
        this.cards.delete(name);
      }
    }
    for (const plugin of plugins) {
      let card = this.cards.get(plugin.name);
      if (!card) {
        card = this.createCard(plugin.name);
        this.cards.set(plugin.name, card);
      }
      this.list.appendChild(card.root); // keeps name order
      this.updateCard(card, plugin);
    }
  }

  createCard(name) {
    const card = {
      name,
      title: el('h3', {}, name),
      status: el('span'),
      description: el('p', { class: 'muted' }),
      error: el('p', { class: 'error-text' }),
      warnings: el('ul', { class: 'warn-text plugin-warnings' }),
      facts: el('dl', { class: 'facts compact' }),
      actions: el('div', { class: 'toolbar' }),
      settings: null,
    };
    card.settings = this.settingsEditor(card);
    card.root = el(
      'article',
      { class: 'card plugin', dataset: { plugin: name } },
      el('header', {}, card.title, card.status),
      card.description,
      card.error,
      card.warnings,
      card.facts,
      card.actions,
      card.settings.root,
    );
    return card;
  }

  updateCard(card, p) {
    fill(card.title, p.name, p.version ? el('span', { class: 'muted' }, ` ${p.version}`) : null);
    fill(card.status, badge(p.status.replace('_', ' '), STATUS_TONES[p.status] || 'neutral'));
    card.root.dataset.status = p.status;
    card.description.textContent = p.description || '';
    card.description.hidden = !p.description;
    card.error.textContent = p.last_error ? `Last error: ${p.last_error}` : '';
    card.error.hidden = !p.last_error;
    const warnings = p.warnings || [];
    fill(card.warnings, warnings.map((w) => el('li', {}, `Warning: ${w}`)));
    card.warnings.hidden = warnings.length === 0;
    const missing = p.requested_permissions.filter((perm) => !p.granted_permissions.includes(perm));
    const described = (list) => list.map(describePermission).join(', ');
    const facts = [
      ['Contract', p.contract ? `stagehand:plugin@${p.contract}` : '—'],
      ['Roles', p.roles.join(', ') || '—'],
      ['Kinds', p.kinds.includes('*') ? 'all' : p.kinds.join(', ') || '—'],
      ['Asks for', described(p.requested_permissions) || 'nothing beyond alerts'],
      ['Granted', described(p.granted_permissions) || '—'],
      ['Limits', p.limits && p.limits.deadline_ms ? `${p.limits.deadline_ms} ms per call, ${p.limits.memory_mib} MiB` : '—'],
      ['Calls', `${p.calls} (faults ${p.total_faults}, reloads ${p.reloads}${p.missed ? `, missed ${p.missed} events` : ''})`],
      ['Settings', p.settings_overridden ? 'set from the dashboard' : 'from plugin.toml'],
      ['Path', el('span', { class: 'mono' }, p.path)],
    ];
    fill(card.facts, facts.map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));

    const action = (label, path, title) =>
      el('button', { type: 'button', title, dataset: { action: path }, onclick: (e) => this.act(p.name, path, e.currentTarget) }, label);
    fill(
      card.actions,
      missing.length && p.enabled ? action(`Allow: ${described(missing)}`, 'grant', 'Allow what its plugin.toml asks for') : null,
      ['quarantined', 'failed'].includes(p.status) && p.enabled ? action('Reset', 'reset', 'Take it out of quarantine / try loading again') : null,
      p.enabled
        ? action('Disable', 'disable', 'Stop giving it events (kept across restarts)')
        : action('Enable', 'enable', 'Load it and give it events again'),
      p.enabled ? action('Reload', 'reload', 'Load it again from its files') : null,
      el(
        'button',
        { type: 'button', class: 'danger', title: 'Delete it with its stored data', dataset: { action: 'remove' }, onclick: (e) => this.remove(p.name, e.currentTarget) },
        'Remove',
      ),
    );
  }

  async remove(name, button) {
    if (!(await confirmRemove(name))) {
      return;
    }
    const removed = await withBusy(button, () => removePlugin(name));
    if (removed) {
      notify(`${name} removed.`);
      this.refresh();
    }
  }

  async act(name, path, button) {
    const status = await withBusy(button, () => post(`/plugins/${encodeURIComponent(name)}/${path}`));
    if (status) {
      const card = this.cards.get(name);
      if (card) {
        this.updateCard(card, status);
      }
      const done = { grant: 'allowed', reset: 'reset', enable: 'enabled', disable: 'disabled', reload: 'reloaded' }[path];
      notify(status.last_error && path !== 'disable' ? `${name}: ${status.last_error}` : `${name} ${done}.`, status.last_error ? 'warn' : 'info');
    }
  }

  /** The collapsible settings editor of one card. */
  settingsEditor(card) {
    const text = el('textarea', { rows: 10, spellcheck: 'false', 'aria-label': `Settings of ${card.name}`, class: 'mono' });
    const defaults = el('pre', { class: 'mono defaults' });
    const note = el('p', { class: 'muted' });
    const saveRaw = el('button', { type: 'button', onclick: (e) => save(e.currentTarget) }, 'Save settings');
    // A plugin with a settings schema gets a form here instead of the JSON box.
    const formSlot = el('div', { class: 'plugin-form-slot' });
    const root = el(
      'details',
      {
        class: 'settings',
        ontoggle: () => {
          if (root.open) {
            load();
          }
        },
      },
      el('summary', {}, 'Settings'),
      note,
      formSlot,
      text,
      el(
        'div',
        { class: 'toolbar' },
        saveRaw,
        el('button', { type: 'button', onclick: (e) => restore(e.currentTarget) }, 'Restore plugin.toml settings'),
      ),
      el('details', {}, el('summary', {}, 'Defaults from plugin.toml'), defaults),
    );
    const base = `/plugins/${encodeURIComponent(card.name)}/settings`;

    const show = (settings) => {
      const withForm = Array.isArray(settings.schema);
      text.hidden = saveRaw.hidden = withForm;
      fill(formSlot);
      if (withForm) {
        const form = new SettingsForm({
          schema: settings.schema,
          values: settings.settings,
          loadMedia: () => get('/media'),
          onSave: async (values) => {
            const status = await put(base, { settings: values });
            notify(`${card.name}: settings saved and applied.`);
            this.updateCard(card, status);
            load();
            return status;
          },
        });
        formSlot.appendChild(form.root);
      }
      text.value = JSON.stringify(settings.settings, null, 2);
      defaults.textContent = JSON.stringify(settings.defaults, null, 2);
      note.textContent = settings.overridden
        ? 'These settings replace the [settings] of plugin.toml.'
        : 'These are the [settings] of plugin.toml; saving here replaces them (the file is not changed).';
    };
    const load = async () => {
      try {
        show(await get(base));
      } catch (error) {
        note.textContent = error.message;
      }
    };
    const save = async (button) => {
      let parsed;
      try {
        parsed = JSON.parse(text.value);
      } catch (error) {
        notify(`Settings are not valid JSON: ${error.message}`, 'error');
        return;
      }
      const status = await withBusy(button, () => put(base, { settings: parsed }));
      if (status) {
        notify(`${card.name}: settings saved and applied.`);
        this.updateCard(card, status);
        load();
      }
    };
    const restore = async (button) => {
      const status = await withBusy(button, () => del(base));
      if (status) {
        notify(`${card.name}: back to the settings of plugin.toml.`);
        this.updateCard(card, status);
        load();
      }
    };
    return { root };
  }
}
