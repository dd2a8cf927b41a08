// Media: the streamer's media library, the images, sounds and short videos
// alerts show. Upload with the file picker or by dropping files anywhere on
// the page (several at once, sent one after another, each with its own
// result line: the host's reason when it refuses one), see every file with
// a preview, copy its URL (what an alert's image, sound or video setting
// takes) and delete it after a confirmation. Live on the `media` topic, so
// a change from another tab or a script shows at once.

import { ApiError, del, get, post } from '../api.js';
import { Page } from '../page.js';
import { badge, debounce, el, fill, formatTime, notify, withBusy } from '../ui.js';

/** What the file picker offers (the host checks the content anyway). */
const ACCEPT = [
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml',
  'audio/mpeg', 'audio/ogg', 'audio/wav', 'video/webm', 'video/mp4',
  '.png', '.jpg', '.jpeg', '.gif', '.webp', '.svg', '.mp3', '.ogg', '.oga', '.opus', '.wav', '.webm', '.mp4', '.m4v',
].join(',');

/** A type for files the browser gives none (it must name the family). */
const TYPE_BY_EXTENSION = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  svg: 'image/svg+xml', mp3: 'audio/mpeg', ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg',
  wav: 'audio/wav', webm: 'video/webm', mp4: 'video/mp4', m4v: 'video/mp4',
};

const KIND_LABELS = { image: 'Image', sound: 'Sound', video: 'Video' };

/** "512 bytes", "12.3 KiB", "4.0 MiB". */
export function formatBytes(bytes) {
  if (bytes < 1024) {
    return `${bytes} bytes`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KiB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The file as the host should receive it: with a type even if the browser knew none. */
function typed(file) {
  if (file.type) {
    return file;
  }
  const extension = (file.name.split('.').pop() || '').toLowerCase();
  const type = TYPE_BY_EXTENSION[extension] || 'application/octet-stream';
  return new Blob([file], { type });
}

export class MediaPage extends Page {
  constructor() {
    super('media', 'Media', ['media']);
    /** Rows by file id, kept across refreshes so a playing preview keeps playing. */
    this.rowsById = new Map();
    this.refreshSoon = debounce(() => this.refresh(), 200);

    this.fileInput = el('input', {
      type: 'file',
      id: 'media-file',
      multiple: true,
      accept: ACCEPT,
      'aria-label': 'Choose media files to upload',
      onchange: (e) => {
        const files = [...e.target.files];
        e.target.value = '';
        this.uploadAll(files);
      },
    });
    this.dropZone = el(
      'div',
      { id: 'media-drop', class: 'drop-zone' },
      el('p', {}, 'Drop images (PNG, JPEG, GIF, WebP, SVG), sounds (MP3, Ogg, WAV) or short videos (WebM, MP4) here, or choose them:'),
      this.fileInput,
    );
    this.results = el('ul', { id: 'media-results', class: 'upload-results', 'aria-live': 'polite' });
    this.summary = el('p', { id: 'media-summary', class: 'muted' });
    this.rows = el('tbody', { id: 'media-rows' });
    fill(
      this.body,
      el(
        'p',
        { class: 'muted' },
        'Files here are served to overlays at their URL (no token needed, but nobody can guess or list them). Paste a URL into an alert’s image, sound or video setting.',
      ),
      this.dropZone,
      this.results,
      this.summary,
      el(
        'table',
        { class: 'grid media-table' },
        el(
          'thead',
          {},
          el('tr', {}, el('th', {}, 'Preview'), el('th', {}, 'Name and URL'), el('th', {}, 'Kind'), el('th', {}, 'Size'), el('th', {}, 'Uploaded'), el('th', {}, '')),
        ),
        this.rows,
      ),
    );

    // A file dropped anywhere on the page is uploaded (and never opened
    // by the browser in place of the dashboard).
    let depth = 0;
    this.root.addEventListener('dragenter', (e) => {
      e.preventDefault();
      depth += 1;
      this.dropZone.classList.add('dragging');
    });
    this.root.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) {
        this.dropZone.classList.remove('dragging');
      }
    });
    this.root.addEventListener('dragover', (e) => e.preventDefault());
    this.root.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      this.dropZone.classList.remove('dragging');
      this.uploadAll([...(e.dataTransfer?.files || [])]);
    });
  }

  onLive() {
    this.refreshSoon();
  }

  async load() {
    const items = await get('/media');
    const seen = new Set();
    const rows = items.map((item) => {
      seen.add(item.id);
      let row = this.rowsById.get(item.id);
      if (!row) {
        row = this.row(item);
        this.rowsById.set(item.id, row);
      }
      return row;
    });
    for (const id of [...this.rowsById.keys()]) {
      if (!seen.has(id)) {
        this.rowsById.delete(id);
      }
    }
    if (rows.length === 0) {
      fill(this.rows, el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'No media yet: upload images, sounds or short videos above.')));
    } else {
      fill(this.rows, rows);
    }
    const total = items.reduce((sum, item) => sum + item.bytes, 0);
    this.summary.textContent = `${items.length} file(s), ${formatBytes(total)} in all.`;
  }

  row(item) {
    return el(
      'tr',
      { dataset: { id: item.id, kind: item.kind } },
      el('td', { class: 'media-preview-cell' }, this.preview(item)),
      el(
        'td',
        {},
        el('strong', { class: 'media-name' }, item.name),
        el('div', { class: 'mono media-url' }, item.url),
        el('div', { class: 'muted' }, item.content_type),
      ),
      el('td', {}, badge(KIND_LABELS[item.kind] || item.kind)),
      el('td', { class: 'media-size' }, formatBytes(item.bytes)),
      el('td', {}, formatTime(item.uploaded_at)),
      el(
        'td',
        { class: 'media-actions' },
        el('button', { type: 'button', class: 'media-copy', onclick: () => this.copy(item) }, 'Copy URL'),
        el('button', { type: 'button', class: 'danger media-delete', onclick: (e) => this.remove(item, e.currentTarget) }, 'Delete'),
      ),
    );
  }

  preview(item) {
    if (item.kind === 'image') {
      return el('img', { class: 'media-preview', src: item.url, alt: item.name, loading: 'lazy' });
    }
    if (item.kind === 'sound') {
      return el('audio', { class: 'media-preview', src: item.url, controls: true, preload: 'none' });
    }
    return el('video', { class: 'media-preview', src: item.url, controls: true, muted: true, preload: 'metadata' });
  }

  /** Uploads `files` one after another; each gets a line saying how it went. */
  async uploadAll(files) {
    if (files.length === 0) {
      return;
    }
    fill(this.results);
    this.fileInput.disabled = true;
    let stored = 0;
    try {
      for (const file of files) {
        const line = el('li', { class: 'muted' }, `${file.name}: uploading…`);
        this.results.appendChild(line);
        try {
          const item = await post(`/media?name=${encodeURIComponent(file.name)}`, typed(file));
          line.className = 'ok-text';
          line.dataset.id = item.id;
          line.textContent = `${file.name}: uploaded (${formatBytes(item.bytes)}).`;
          stored += 1;
        } catch (error) {
          line.className = 'error-text';
          line.setAttribute('role', 'alert');
          const why = error instanceof ApiError ? error.message : String(error);
          line.textContent = `${file.name}: not uploaded. ${why}`;
        }
      }
    } finally {
      this.fileInput.disabled = false;
    }
    if (stored > 0) {
      notify(`${stored} file(s) uploaded.`);
      this.refresh();
    }
  }

  async copy(item) {
    try {
      await navigator.clipboard.writeText(item.url);
      notify(`Copied ${item.url}`);
    } catch {
      notify(`Copy this URL: ${item.url}`, 'warn');
    }
  }

  async remove(item, button) {
    const sure = window.confirm(`Delete “${item.name}”? Alerts that use ${item.url} will show nothing in its place.`);
    if (!sure) {
      return;
    }
    const result = await withBusy(button, () => del(`/media/${encodeURIComponent(item.id)}`));
    if (result) {
      notify(`Deleted ${item.name}.`);
      this.refresh();
    }
  }
}
