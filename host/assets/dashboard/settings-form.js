// A form drawn from a plugin's settings schema (the `[[setting]]` tables of
// its plugin.toml, as `GET /api/plugins/{name}/settings` gives them in
// `schema`). Every type has its own control; the browser's own checks
// (maxlength, min, max) are hints only: the host checks every value, and
// its 422 answer names the field, which the form shows next to it.
//
// Usage:
//   const form = new SettingsForm({ schema, values, onSave, loadMedia });
//   container.appendChild(form.root);
// `onSave(values)` returns a promise; when it rejects with an error that
// carries `field` (the host's `invalid_settings` answer), the message is
// shown beside that field. `loadMedia()` resolves to the media library
// (`GET /api/media`); when it fails, media fields are plain URL boxes.

import { el, fill, withBusy } from './ui.js';

/** Which library kinds a media field's `accept` takes. */
const ACCEPTED_KINDS = {
  image: ['image'],
  sound: ['sound'],
  video: ['video'],
  any: ['image', 'sound', 'video'],
};

let formCount = 0;

/** What an optional field left out shows. */
const NOT_SET = '(not set)';
/** The media picker's value for "not set" (never a URL). */
const UNSET = '\u0000unset';

/** A deep copy of plain JSON data. */
function copy(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** A new list item: the defaults of the list's fields. */
function newItem(fields) {
  const item = {};
  for (const field of fields) {
    item[field.key] = copy(field.default);
  }
  return item;
}

export class SettingsForm {
  /**
   * `schema`: the array of fields; `values`: the current settings object
   * (missing keys take the fields' defaults); `onSave(values)`: saves
   * (a promise); `loadMedia()`: the media library (a promise), optional.
   */
  constructor({ schema, values, onSave, loadMedia }) {
    this.schema = schema;
    this.values = copy(values) || {};
    this.onSave = onSave;
    this.id = `sf${++formCount}`;
    this.media = null; // null: not known (yet); false: no library; array: the library
    this.errorNote = el('p', { class: 'error-text form-error', role: 'alert', hidden: true });
    this.body = el('div', { class: 'plugin-form-fields' });
    this.saveButton = el('button', { type: 'submit', class: 'save-settings' }, 'Save settings');
    this.root = el(
      'form',
      { class: 'plugin-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); this.save(); } },
      this.body,
      this.errorNote,
      el('div', { class: 'toolbar' }, this.saveButton),
    );
    this.render();
    if (loadMedia && this.usesMedia(schema)) {
      loadMedia().then(
        (items) => { this.media = Array.isArray(items) ? items : false; this.render(); },
        () => { this.media = false; this.render(); },
      );
    } else {
      this.media = false;
    }
  }

  /** Whether any field (at any depth) is a media field. */
  usesMedia(fields) {
    return fields.some((f) => f.type === 'media' || ((f.type === 'record' || f.type === 'list') && this.usesMedia(f.fields)));
  }

  /** The settings object as the form holds it now. */
  value() {
    return copy(this.values);
  }

  /** Draws every field again from the values (after a list changed). */
  render() {
    fill(this.body, this.fields(this.schema, this.values, ''));
  }

  fields(fields, holder, parent) {
    return fields.map((field) => {
      // An optional field left out stays out ("not set"): the plugin
      // decides what that means.
      if (!(field.key in holder) && !field.optional) {
        holder[field.key] = copy(field.default);
      }
      const path = parent ? `${parent}.${field.key}` : field.key;
      return this.field(field, holder, path);
    });
  }

  /** One field: its label, control, help and (empty) error slot. */
  field(field, holder, path) {
    const id = `${this.id}-${path.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const error = el('p', { class: 'error-text field-error', hidden: true });
    const help = field.help ? el('p', { class: 'muted field-help' }, field.help) : null;
    if (field.type === 'record' || field.type === 'list') {
      const inner = field.type === 'record' ? this.record(field, holder, path) : this.list(field, holder, path);
      return el('fieldset', { class: `setting setting-${field.type}`, dataset: { field: path } }, el('legend', {}, field.label), help, error, inner);
    }
    const control = this.control(field, holder, id);
    const label = field.type === 'boolean'
      ? el('label', { class: 'check', for: id }, control, ` ${field.label}`)
      : [el('label', { for: id }, field.label), control];
    return el('div', { class: `setting setting-${field.type}`, dataset: { field: path } }, label, help, error);
  }

  /** The input of a field of a plain type, bound to `holder[field.key]`. */
  control(field, holder, id) {
    const key = field.key;
    // An optional field emptied is "not set" again, not an empty value.
    const set = (value) => {
      if (field.optional && (value === '' || value === null || value === undefined)) {
        delete holder[key];
      } else {
        holder[key] = value;
      }
    };
    const current = holder[key];
    const unset = el('option', { value: '', selected: current === undefined }, NOT_SET);
    switch (field.type) {
      case 'text':
        return el('input', { id, type: 'text', maxlength: field.max_length, value: current ?? '', placeholder: field.optional ? NOT_SET : '', oninput: (e) => set(e.target.value) });
      case 'template':
        return this.template(field, holder, id);
      case 'number':
        return this.number(field, holder, id);
      case 'boolean':
        if (field.optional) {
          return el(
            'select',
            { id, onchange: (e) => set(e.target.value === '' ? undefined : e.target.value === 'true') },
            unset,
            el('option', { value: 'true', selected: current === true }, 'Yes'),
            el('option', { value: 'false', selected: current === false }, 'No'),
          );
        }
        return el('input', { id, type: 'checkbox', checked: current === true, onchange: (e) => set(e.target.checked) });
      case 'choice':
        return el(
          'select',
          { id, onchange: (e) => set(e.target.value) },
          field.optional ? unset : null,
          field.choices.map((c) => el('option', { value: c.value, selected: c.value === current }, c.label)),
        );
      case 'color': {
        const input = el('input', { id, type: 'color', value: /^#[0-9a-fA-F]{6}$/.test(current) ? current.toLowerCase() : '#000000', oninput: (e) => { set(e.target.value); note.hidden = true; } });
        if (!field.optional) return input;
        const note = el('span', { class: 'muted', hidden: current !== undefined }, ` ${NOT_SET}`);
        const clear = el('button', { type: 'button', class: 'secondary clear-color', onclick: () => { set(undefined); note.hidden = false; } }, 'Clear');
        return el('span', { class: 'color' }, input, note, clear);
      }
      case 'media':
        return this.mediaControl(field, holder, id);
      case 'duration': {
        const seconds = Number.isFinite(current) ? current / 1000 : '';
        return el('span', { class: 'duration' },
          el('input', {
            id,
            type: 'number',
            step: 0.1,
            min: field.min_ms / 1000,
            max: field.max_ms / 1000,
            value: seconds,
            oninput: (e) => {
              const n = e.target.valueAsNumber;
              set(Number.isFinite(n) ? Math.round(n * 1000) : e.target.value);
            },
          }),
          el('span', { class: 'muted' }, ' seconds'));
      }
      default:
        return el('span', { class: 'muted' }, `(unknown type ${field.type})`);
    }
  }

  /** A textarea with its variables as chips that insert `{name}` at the caret. */
  template(field, holder, id) {
    const setText = (value) => {
      if (field.optional && value === '') delete holder[field.key];
      else holder[field.key] = value;
    };
    const area = el('textarea', { id, rows: 3, maxlength: field.max_length, placeholder: field.optional ? NOT_SET : '', oninput: (e) => setText(e.target.value) });
    area.value = holder[field.key] ?? '';
    const insert = (name) => {
      const text = `{${name}}`;
      const start = area.selectionStart ?? area.value.length;
      const end = area.selectionEnd ?? start;
      area.value = area.value.slice(0, start) + text + area.value.slice(end);
      area.selectionStart = area.selectionEnd = start + text.length;
      setText(area.value);
      area.focus();
    };
    const chips = (field.variables || []).map((name) =>
      el('button', { type: 'button', class: 'chip variable', title: `Insert {${name}}`, onclick: () => insert(name) }, `{${name}}`));
    return el('div', { class: 'template' }, area, chips.length ? el('div', { class: 'chips variables' }, chips) : null);
  }

  /** A number box, with a slider beside it when the range is bounded. */
  number(field, holder, id) {
    const step = field.step ?? (field.integer ? 1 : 'any');
    const attrs = { type: 'number', min: field.min, max: field.max, step };
    const box = el('input', { id, ...attrs, value: holder[field.key] ?? '' });
    // An optional number has no slider: a slider cannot say "not set".
    const hasRange = field.min !== undefined && field.max !== undefined && !field.optional;
    const slider = hasRange ? el('input', { ...attrs, type: 'range', value: holder[field.key] ?? field.min, 'aria-label': field.label, tabindex: -1 }) : null;
    const take = (input) => {
      const n = input.valueAsNumber;
      if (field.optional && input.value === '') {
        delete holder[field.key];
        return;
      }
      holder[field.key] = Number.isFinite(n) ? n : input.value;
      if (slider && input === box && Number.isFinite(n)) {
        slider.value = String(n);
      } else if (input === slider) {
        box.value = input.value;
      }
    };
    box.addEventListener('input', () => take(box));
    if (slider) {
      slider.addEventListener('input', () => take(slider));
    }
    return el('span', { class: 'number' }, box, slider);
  }

  /** A picker of the media library (filtered by `accept`), or a URL box without one. */
  mediaControl(field, holder, id) {
    const current = holder[field.key] ?? '';
    // For an optional field, "(not set)" leaves it out and "(none)" is "".
    const set = (value) => {
      if (field.optional && value === UNSET) delete holder[field.key];
      else holder[field.key] = value;
    };
    if (!Array.isArray(this.media)) {
      return el('input', {
        id,
        type: 'text',
        class: 'media-url',
        placeholder: '/media/… (empty: none)',
        value: current,
        oninput: (e) => {
          const url = e.target.value.trim();
          set(url === '' && field.optional ? UNSET : url);
        },
      });
    }
    const kinds = ACCEPTED_KINDS[field.accept] || ACCEPTED_KINDS.any;
    const items = this.media.filter((m) => kinds.includes(m.kind));
    const options = [el('option', { value: '', selected: current === '' && holder[field.key] !== undefined }, '(none)')];
    if (field.optional) {
      options.unshift(el('option', { value: UNSET, selected: holder[field.key] === undefined }, NOT_SET));
    }
    for (const item of items) {
      options.push(el('option', { value: item.url, selected: item.url === current }, `${item.name || item.id} (${item.kind})`));
    }
    if (current && !items.some((m) => m.url === current)) {
      options.push(el('option', { value: current, selected: true }, current));
    }
    return el('select', { id, class: 'media-pick', onchange: (e) => set(e.target.value) }, options);
  }

  record(field, holder, path) {
    if (!holder[field.key] || typeof holder[field.key] !== 'object' || Array.isArray(holder[field.key])) {
      holder[field.key] = copy(field.default) || {};
    }
    return this.fields(field.fields, holder[field.key], path);
  }

  /** Repeatable records with add, remove, move up and move down. */
  list(field, holder, path) {
    if (!Array.isArray(holder[field.key])) {
      holder[field.key] = copy(field.default) || [];
    }
    const items = holder[field.key];
    const change = (fn) => { fn(); this.render(); };
    const rows = items.map((item, i) => {
      if (!item || typeof item !== 'object' || Array.isArray(item)) {
        items[i] = newItem(field.fields);
      }
      const button = (label, title, enabled, fn) =>
        el('button', { type: 'button', title, disabled: !enabled, dataset: { move: label.toLowerCase() }, onclick: () => change(fn) }, label);
      return el(
        'fieldset',
        { class: 'list-item', dataset: { field: `${path}.${i}` } },
        el('legend', {}, `${field.label} ${i + 1}`),
        el('div', { class: 'toolbar' },
          button('Up', 'Move up', i > 0, () => items.splice(i - 1, 0, items.splice(i, 1)[0])),
          button('Down', 'Move down', i < items.length - 1, () => items.splice(i + 1, 0, items.splice(i, 1)[0])),
          button('Remove', 'Remove this one', items.length > (field.min_items || 0), () => items.splice(i, 1))),
        this.fields(field.fields, items[i], `${path}.${i}`),
      );
    });
    const add = el('button', {
      type: 'button',
      class: 'add-item',
      disabled: items.length >= field.max_items,
      onclick: () => change(() => items.push(newItem(field.fields))),
    }, `Add ${field.label.toLowerCase()}`);
    return [rows, el('div', { class: 'toolbar' }, add)];
  }

  /** Hides every error shown. */
  clearErrors() {
    this.errorNote.hidden = true;
    for (const node of this.root.querySelectorAll('.field-error')) {
      node.hidden = true;
      node.textContent = '';
    }
    for (const node of this.root.querySelectorAll('.setting.invalid, .list-item.invalid')) {
      node.classList.remove('invalid');
    }
  }

  /**
   * Shows the host's message beside the field at dotted `path` (or the
   * nearest field that holds it, e.g. a list item); at the top without one.
   */
  showError(path, message) {
    this.clearErrors();
    let target = null;
    const parts = path ? path.split('.') : [];
    // Keys may hold dots themselves: try the longest path first.
    for (let n = parts.length; n > 0 && !target; n--) {
      const candidate = parts.slice(0, n).join('.');
      target = this.root.querySelector(`[data-field="${CSS.escape(candidate)}"]`);
    }
    if (!target) {
      this.errorNote.textContent = path ? `${path}: ${message}` : message;
      this.errorNote.hidden = false;
      return;
    }
    target.classList.add('invalid');
    let slot = target.querySelector(':scope > .field-error');
    if (!slot) {
      slot = el('p', { class: 'error-text field-error' });
      target.appendChild(slot);
    }
    slot.textContent = message;
    slot.hidden = false;
    target.scrollIntoView({ block: 'nearest' });
  }

  /** Sends the values; a refusal naming a field is shown beside it, any other in the form. */
  async save() {
    this.clearErrors();
    await withBusy(this.saveButton, async () => {
      try {
        return await this.onSave(this.value());
      } catch (error) {
        if (error && error.field !== undefined && error.code === 'invalid_settings') {
          this.showError(error.field, error.message);
          return undefined;
        }
        // Any other refusal (the plugin's own, say) is explained in the
        // form too, where the streamer is looking.
        this.showError('', error && error.message ? error.message : String(error));
        return undefined;
      }
    });
  }
}
