// Installing and removing plugins on the Plugins page. A package (.stagehand,
// from `stagehand plugin pack`) or a bare .wasm is dropped on the drop zone
// or chosen with the file picker; the host checks it without running it and
// answers a preview (what the plugin asks for and, for an update, what
// changed) with a token; Install confirms it, Cancel forgets it. A refused
// file's reason is shown as the host gave it. Removing asks first in a
// dialog: the plugin's folder, stored data, settings and grants go.

import { ApiError, del, post } from './api.js';
import { el, fill } from './ui.js';

/** Sends `file` to `POST /api/plugins/install`; resolves to the preview. */
async function uploadPlugin(file) {
  const bare = file.name.toLowerCase().endsWith('.wasm');
  const name = bare ? `?name=${encodeURIComponent(file.name.replace(/\.wasm$/i, ''))}` : '';
  let response;
  try {
    response = await fetch(`/api/plugins/install${name}`, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json', 'Content-Type': bare ? 'application/wasm' : 'application/gzip' },
      body: file,
    });
  } catch (networkError) {
    throw new ApiError(0, 'network', `cannot reach Stagehand (${networkError.message})`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || `upload failed with HTTP ${response.status}`);
  }
  return data;
}

/**
 * The "Install plugin" panel. `describe` turns a permission key into words;
 * `onInstalled(status)` hears of each install.
 */
export class PluginInstaller {
  constructor({ describe, onInstalled }) {
    this.describe = describe;
    this.onInstalled = onInstalled;
    this.token = null;
    this.picker = el('input', {
      type: 'file',
      accept: '.stagehand,.wasm,application/gzip,application/wasm',
      id: 'plugin-install-file',
      onchange: () => {
        const [file] = this.picker.files;
        if (file) {
          this.check(file);
        }
      },
    });
    this.zone = el(
      'div',
      {
        class: 'dropzone',
        id: 'plugin-install-drop',
        ondragover: (e) => {
          e.preventDefault();
          this.zone.classList.add('over');
        },
        ondragleave: () => this.zone.classList.remove('over'),
        ondrop: (e) => {
          e.preventDefault();
          this.zone.classList.remove('over');
          const [file] = e.dataTransfer.files;
          if (file) {
            this.check(file);
          }
        },
      },
      el('p', {}, 'Drop a plugin package (.stagehand) or a .wasm here, or '),
      el('label', { class: 'file-button' }, 'choose a file…', this.picker),
      el('p', { class: 'muted' }, 'Nothing runs until you have seen what it asks for and pressed Install.'),
    );
    this.status = el('p', { class: 'muted', id: 'plugin-install-status', hidden: true });
    this.error = el('p', { class: 'error-text', id: 'plugin-install-error', role: 'alert', hidden: true });
    this.preview = el('div', { class: 'install-preview', id: 'plugin-install-preview', hidden: true });
    this.root = el(
      'section',
      { class: 'card plugin-install', id: 'plugin-install', 'aria-label': 'Install plugin' },
      el('header', {}, el('h3', {}, 'Install plugin')),
      this.zone,
      this.status,
      this.error,
      this.preview,
    );
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  showStatus(message) {
    this.status.textContent = message || '';
    this.status.hidden = !message;
  }

  reset() {
    this.token = null;
    this.preview.hidden = true;
    fill(this.preview);
    this.picker.value = '';
  }

  /** Uploads `file` for checking and shows its preview (or why not). */
  async check(file) {
    this.reset();
    this.showError('');
    this.showStatus(`Checking ${file.name}…`);
    try {
      const preview = await uploadPlugin(file);
      this.showStatus('');
      this.token = preview.token;
      this.renderPreview(preview, file.name);
    } catch (error) {
      this.showStatus('');
      this.showError(`${file.name} cannot be installed: ${error.message}`);
      this.error.dataset.code = error.code || '';
    }
  }

  renderPreview(p, fileName) {
    const list = (keys) => (keys.length ? keys.map((k) => this.describe(k)).join(', ') : '—');
    const title = p.update
      ? `Update ${p.name} ${p.update.version.from} → ${p.update.version.to}`
      : `Install ${p.name}${p.bare ? '' : ` ${p.version}`}`;
    const facts = [
      ['File', `${fileName} (${p.file_bytes} bytes)`],
      ['Contract', `stagehand:plugin@${p.contract}`],
      ['Asks for', p.permissions.length ? list(p.permissions) : 'nothing beyond overlay alerts'],
      ['Limits', `${p.deadline_ms} ms per call, ${p.memory_mib} MiB`],
      ['Media from', p.media_hosts.length ? p.media_hosts.join(', ') : 'only Stagehand’s own media'],
      ['Component', `${p.wasm_bytes} bytes`],
    ];
    const changes = [];
    if (p.update) {
      const u = p.update;
      u.added_permissions.forEach((k) => changes.push(el('li', { class: 'added' }, `New: ${this.describe(k)}`)));
      u.removed_permissions.forEach((k) => changes.push(el('li', { class: 'removed' }, `No longer: ${this.describe(k)}`)));
      if (u.deadline_ms) {
        changes.push(el('li', {}, `Deadline ${u.deadline_ms.from} → ${u.deadline_ms.to} ms per call`));
      }
      if (u.memory_mib) {
        changes.push(el('li', {}, `Memory ${u.memory_mib.from} → ${u.memory_mib.to} MiB`));
      }
      u.added_media_hosts.forEach((h) => changes.push(el('li', { class: 'added' }, `New media host: ${h}`)));
      u.removed_media_hosts.forEach((h) => changes.push(el('li', { class: 'removed' }, `Media host dropped: ${h}`)));
      if (!changes.length) {
        changes.push(el('li', {}, 'It asks for the same as the installed version.'));
      }
    }
    const install = el(
      'button',
      { type: 'button', class: 'primary', dataset: { action: 'install-confirm' }, onclick: (e) => this.confirm(e.currentTarget) },
      p.update ? 'Update' : 'Install',
    );
    const cancel = el('button', { type: 'button', dataset: { action: 'install-cancel' }, onclick: () => this.reset() }, 'Cancel');
    fill(
      this.preview,
      el('h4', {}, title),
      p.description ? el('p', {}, p.description) : null,
      p.bare ? el('p', { class: 'muted' }, 'A bare component: it asks for nothing; its version comes from the plugin once loaded.') : null,
      el('dl', { class: 'facts compact' }, facts.map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)])),
      p.update ? [el('p', {}, 'What changes:'), el('ul', { class: 'install-changes' }, changes)] : null,
      p.needs_grant.length
        ? el('p', { class: 'warn-text' }, `Once installed it waits until you allow: ${list(p.needs_grant)}.`)
        : null,
      el('div', { class: 'toolbar' }, install, cancel),
    );
    this.preview.dataset.plugin = p.name;
    this.preview.hidden = false;
  }

  async confirm(button) {
    if (!this.token) {
      return;
    }
    const token = this.token;
    button.disabled = true;
    this.showError('');
    this.showStatus('Installing…');
    try {
      const status = await post(`/plugins/install/${encodeURIComponent(token)}`);
      this.reset();
      this.showStatus('');
      this.onInstalled(status);
    } catch (error) {
      this.showStatus('');
      this.showError(`Not installed: ${error.message}`);
      button.disabled = false;
      if (error.code === 'unknown_token') {
        this.reset();
      }
    }
  }
}

/**
 * Asks in a dialog whether to remove plugin `name`; resolves to true when
 * the streamer confirms.
 */
export function confirmRemove(name) {
  return new Promise((resolve) => {
    const dialog = el(
      'dialog',
      { class: 'confirm', id: 'plugin-remove-dialog', 'aria-label': `Remove ${name}` },
      el('h3', {}, `Remove ${name}?`),
      el('p', {}, 'Its folder, stored data, settings and grants are deleted. This cannot be undone.'),
    );
    const close = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.appendChild(
      el(
        'div',
        { class: 'toolbar' },
        el('button', { type: 'button', class: 'danger', dataset: { action: 'remove-confirm' }, onclick: () => close(true) }, `Remove ${name}`),
        el('button', { type: 'button', autofocus: true, dataset: { action: 'remove-cancel' }, onclick: () => close(false) }, 'Cancel'),
      ),
    );
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      close(false);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

/** Removes plugin `name` (after [`confirmRemove`]); resolves to the answer. */
export function removePlugin(name) {
  return del(`/plugins/${encodeURIComponent(name)}`);
}
