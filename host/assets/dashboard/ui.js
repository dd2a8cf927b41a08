// Small DOM and formatting helpers shared by the pages. Text from the host
// (viewer names, chat, plugin errors) is always set as text, never parsed
// as HTML.

/**
 * Creates an element: `el('button', {class: 'x', onclick: f}, 'Label')`.
 * Attributes starting with `on` become listeners, `dataset` sets data-*,
 * `hidden`/`disabled`/`checked`/`value` set properties; children may be
 * strings, nodes, arrays, or null (skipped).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (['hidden', 'disabled', 'checked', 'value', 'selected'].includes(key)) {
      node[key] = value;
    } else if (key === 'style' && typeof value === 'object') {
      Object.assign(node.style, value);
    } else {
      node.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    if (Array.isArray(child)) {
      append(node, child);
    } else if (child instanceof Node) {
      node.appendChild(child);
    } else {
      node.appendChild(document.createTextNode(String(child)));
    }
  }
}

/** Replaces everything inside `node` with `children`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A time as the streamer reads it: the clock time, with the date if not today. */
export function formatTime(iso) {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return String(iso);
  }
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return sameDay ? time : `${date.toLocaleDateString()} ${time}`;
}

/** "5s", "3m 20s", "2h 05m", "3d 4h": a length of time in seconds. */
export function formatDuration(totalSeconds) {
  let seconds = Math.max(0, Math.round(totalSeconds));
  const days = Math.floor(seconds / 86400);
  seconds -= days * 86400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (days > 0) {
    return `${days}d ${hours}h`;
  }
  if (hours > 0) {
    return `${hours}h ${pad(minutes)}m`;
  }
  if (minutes > 0) {
    return `${minutes}m ${pad(seconds)}s`;
  }
  return `${seconds}s`;
}

/** "3m 20s ago" or "in 5m 00s", from an ISO time and the current time in ms. */
export function formatRelative(iso, nowMs = Date.now()) {
  if (!iso) {
    return '—';
  }
  const diff = (new Date(iso).getTime() - nowMs) / 1000;
  if (Math.abs(diff) < 1) {
    return 'now';
  }
  return diff < 0 ? `${formatDuration(-diff)} ago` : `in ${formatDuration(diff)}`;
}

/** Shows a short message at the bottom of the page. */
export function notify(message, kind = 'info') {
  const area = document.getElementById('notices');
  if (!area) {
    return;
  }
  const note = el('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  area.appendChild(note);
  setTimeout(() => note.remove(), kind === 'error' ? 9000 : 4000);
}

/**
 * Runs `action` (an async function) with `button` disabled meanwhile; a
 * failure is shown as a notice. Resolves to the action's result, or
 * undefined when it failed.
 */
export async function withBusy(button, action) {
  if (button) {
    button.disabled = true;
    button.classList.add('busy');
  }
  try {
    return await action();
  } catch (error) {
    notify(error.message || String(error), 'error');
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.classList.remove('busy');
    }
  }
}

/** A coloured status word: `badge('running', 'ok')`. */
export function badge(text, tone = 'neutral') {
  return el('span', { class: `badge ${tone}` }, text);
}

/**
 * Wraps `fn` so that calls within `waitMs` of each other run it once, at
 * the end (a burst of live messages becomes one re-fetch).
 */
export function debounce(fn, waitMs) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), waitMs);
  };
}
