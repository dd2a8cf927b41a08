// Stagehand overlay page, for an OBS browser source (Chromium 127 and later).
//
// URL: /overlay/<name>#key=<overlay key>. The key sits in the fragment so it
// never reaches a server log or a Referer header; it leaves the page only as
// the socket's first message: {"type":"hello","key":K}.
//
// Protocol (see host/src/web/overlay.rs): after the hello the host sends
// {"type":"welcome"}, then every alert of this overlay not yet acknowledged,
// {"type":"alert","id":...,"title":...}. The page plays them one after
// another and answers {"type":"ack","id":...} as each is shown. Whatever was
// not acknowledged is sent again after a reconnect.
//
// Chat read aloud arrives as alerts with "speech":true: nothing is shown,
// the `tts` text is spoken, and the ack goes when the speaking ends (so the
// dashboard's speech queue lists what is being said). The host may also send
// {"type":"skip"} (stop what plays now, go on with the next) and
// {"type":"cancel","ids":[...]} (withdrawn: never play these, stop the one
// playing if it is among them; the host dropped them, so no ack) and
// {"type":"reload"} (the page's media policy changed: load the page again
// once nothing plays; unacknowledged alerts come again afterwards).
// {"type":"pause"} (the streamer paused this overlay: finish what plays,
// start nothing more) and {"type":"resume"} (go on; the alerts that waited
// follow); the welcome says whether the overlay is paused already.
//
// Alerts are laid out on a 1920×1080 stage scaled to the window. An alert's
// `css` may start with card options, /*stagehand:card {JSON}*/ (entrance
// animation, accent colour, layout, volumes, highlighted words; see
// docs/overlay-protocol.md): they style the built-in card and are never
// applied as CSS.
//
// Test hooks (read-only): window.__overlay (connection state and counters,
// whether paused, spoken texts, ids cut short by a skip or dropped by a cancel) and
// window.__shown (ids shown in this tab, oldest first).
'use strict';

(() => {
  // Past its duration, an alert may run this much longer while its video,
  // sound or speech finishes; then it is cut, so nothing stalls the queue.
  const GRACE_MS = 3000;
  // The longest exit animation (overlay.css): the card is removed after it.
  const EXIT_MS = 450;
  const STAGE_WIDTH = 1920;
  const STAGE_HEIGHT = 1080;
  const ANIMATIONS = new Set(['pop', 'slide-up', 'slide-down', 'slide-left', 'slide-right', 'zoom', 'bounce']);
  const CARD_PREFIX = '/*stagehand:card ';
  // Speech-only alerts have no duration: bound them by the text's length.
  const SPEECH_MS_PER_CHAR = 75;
  const SPEECH_MAX_MS = 60000;
  const RETRY_MIN_MS = 500;
  const RETRY_MAX_MS = 30000;
  // Close code the host uses for a refused key: retrying cannot help.
  const CLOSE_FORBIDDEN = 4003;
  const SHOWN_KEEP = 500;
  const CANCELLED_KEEP = 500;

  const name = decodeURIComponent(location.pathname.split('/')[2] || '');
  const key = new URLSearchParams(location.hash.slice(1)).get('key') || '';
  const stage = document.getElementById('stage');
  const statusBox = document.getElementById('status');

  // The stage keeps its 1920×1080 layout and is scaled to fit the window.
  function fitStage() {
    const scale = Math.min(window.innerWidth / STAGE_WIDTH, window.innerHeight / STAGE_HEIGHT);
    stage.style.setProperty('--scale', String(scale > 0 ? scale : 1));
  }
  fitStage();
  window.addEventListener('resize', fitStage);
  // A frame sized after its page loaded (the dashboard's previews) does not
  // always get a resize event: watch the page's own box too.
  if ('ResizeObserver' in window) new ResizeObserver(fitStage).observe(document.documentElement);

  const state = {
    name,
    status: 'starting', // starting | connecting | connected | waiting | refused | preview
    connects: 0, // sockets opened by this page load
    error: null, // the message shown to the streamer, if any
    current: null, // id of the alert on screen
    paused: false, // the streamer paused this overlay: nothing new starts
    queued: 0,
    spoken: [], // texts handed to speech synthesis, newest last
    skipped: [], // ids cut short by a skip, newest last
    cancelled: [], // ids withdrawn by the host (dropped or stopped), newest last
    acked: 0, // acknowledgements sent
  };
  window.__overlay = state;

  // Ids already shown survive a reload of this tab (sessionStorage is per
  // tab, so two OBS sources of the same overlay each still show every
  // alert). The host's re-send after a reconnect is then confirmed without
  // showing the alert twice.
  const storageKey = `stagehand.overlay.shown.${name}`;
  const shownLog = loadShown();
  const shown = new Set(shownLog);
  window.__shown = shownLog;

  const queue = [];
  // Ids the host withdrew: dropped if they arrive (again) later.
  const cancelled = new Set();
  let playing = false;
  // Ends the alert playing now early (set while one plays).
  let stopCurrent = null;
  let socket = null;
  let attempt = 0;
  // Set by a "reload" from the host: done as soon as nothing plays.
  let reloadWhenIdle = false;

  function loadShown() {
    try {
      const ids = JSON.parse(sessionStorage.getItem(storageKey) || '[]');
      return Array.isArray(ids) ? ids.filter((id) => typeof id === 'string') : [];
    } catch {
      return []; // storage disabled or garbled: the host's acks still hold
    }
  }

  function markShown(id) {
    shown.add(id);
    shownLog.push(id);
    if (shownLog.length > SHOWN_KEEP) {
      shown.delete(shownLog.shift());
    }
    try {
      sessionStorage.setItem(storageKey, JSON.stringify(shownLog));
    } catch {
      // Storage full or disabled: only a reload could then repeat an alert.
    }
  }

  function showError(message) {
    state.error = message;
    statusBox.textContent = message;
    statusBox.hidden = false;
  }

  // --- Connection -------------------------------------------------------

  function connect() {
    state.connects += 1;
    state.status = 'connecting';
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/overlay/${encodeURIComponent(name)}/ws`);
    socket = ws;
    let refusal = null;

    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', key }));
    ws.onmessage = (e) => {
      let message;
      try {
        message = JSON.parse(e.data);
      } catch {
        return;
      }
      if (message.type === 'welcome') {
        attempt = 0; // a good connection resets the backoff
        state.status = 'connected';
        // Resumed while disconnected: what this page holds plays now.
        state.paused = message.paused === true;
        pump();
      } else if (message.type === 'pause') {
        state.paused = true; // what plays now finishes; the rest waits
      } else if (message.type === 'resume') {
        state.paused = false;
        pump();
      } else if (message.type === 'alert') {
        receive(message);
      } else if (message.type === 'skip') {
        skip();
      } else if (message.type === 'cancel') {
        cancel(message.ids);
      } else if (message.type === 'reload') {
        reloadWhenIdle = true;
        if (!playing) location.reload();
      } else if (message.type === 'error') {
        refusal = message; // the close that follows says what to do
      }
    };
    // An error is always followed by a close; reconnecting is decided there.
    ws.onclose = (e) => {
      if (socket === ws) socket = null;
      if (e.code === CLOSE_FORBIDDEN) {
        state.status = 'refused';
        showError(
          refusal && refusal.code === 'key_changed'
            ? 'Overlay key was regenerated — copy the overlay URL again from the dashboard.'
            : 'Overlay key refused — copy the overlay URL again from the dashboard.',
        );
        return; // the same key will be refused again: stop here
      }
      retryLater();
    };
  }

  // Exponential backoff with jitter, so many overlays restarting together
  // (a host restart) do not reconnect in lockstep.
  function retryLater() {
    state.status = 'waiting';
    const ceiling = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
    attempt += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    setTimeout(connect, delay);
  }

  function ack(id) {
    // Not connected: the host re-sends it after the reconnect and it is
    // acknowledged then (it is in `shown`).
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: 'ack', id }));
      state.acked += 1;
    }
  }

  // --- The queue --------------------------------------------------------

  function receive(alert) {
    if (typeof alert.id !== 'string') return;
    if (cancelled.has(alert.id)) return; // withdrawn on its way here
    // Re-sent after a reconnect while still speaking: acknowledged at its end.
    if (alert.id === state.current) return;
    if (shown.has(alert.id)) {
      ack(alert.id); // shown before a reconnect or reload: confirm again
      return;
    }
    if (queue.some((queued) => queued.id === alert.id)) return;
    queue.push(alert);
    state.queued = queue.length;
    pump();
  }

  async function pump() {
    if (playing) return;
    playing = true;
    while (queue.length > 0 && !state.paused) {
      const alert = queue.shift();
      state.queued = queue.length;
      try {
        await play(alert);
      } catch (e) {
        console.error('stagehand overlay: alert failed', alert.id, e);
        stopCurrent = null;
        state.current = null;
      }
    }
    playing = false;
    if (reloadWhenIdle) location.reload();
  }

  // The host's "skip": stop what plays now (it is acknowledged as done).
  function skip() {
    if (state.current === null || !stopCurrent) return;
    state.skipped.push(state.current);
    stopCurrent('skipped');
  }

  // The host withdrew these alerts: never play them; stop the one playing.
  function cancel(ids) {
    if (!Array.isArray(ids)) return;
    for (const id of ids) {
      if (typeof id !== 'string' || cancelled.has(id)) continue;
      cancelled.add(id);
      if (cancelled.size > CANCELLED_KEEP) {
        cancelled.delete(cancelled.values().next().value);
      }
      const at = queue.findIndex((queued) => queued.id === id);
      if (at >= 0) {
        queue.splice(at, 1);
        state.queued = queue.length;
        state.cancelled.push(id);
      } else if (state.current === id && stopCurrent) {
        state.cancelled.push(id);
        stopCurrent('cancelled');
      }
    }
  }

  // --- One alert --------------------------------------------------------

  function text(value) {
    return typeof value === 'string' ? value : '';
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async function play(alert) {
    // Shown from the moment it is on screen, so a reload in the middle of
    // it does not play it again. An alert is acknowledged now; speech when
    // it ends, so the host knows it is still being said.
    const isSpeech = alert.speech === true;
    markShown(alert.id);
    if (!isSpeech) ack(alert.id);
    state.current = alert.id;

    const duration = Math.max(0, Number(alert.duration_ms) || 0);
    const speech = text(alert.tts).trim();
    const bound =
      (duration > 0 ? duration : Math.min(SPEECH_MAX_MS, 1500 + speech.length * SPEECH_MS_PER_CHAR)) +
      GRACE_MS;
    const cleanups = [];
    const endings = [sleep(duration)];
    let stoppedBy = null;
    const stopped = new Promise((resolve) => {
      stopCurrent = (why) => {
        stoppedBy = why;
        resolve();
      };
    });

    // Speech shows nothing, whatever else the item carries.
    const card = isSpeech ? null : render(alert);
    const look = cardOptions(text(alert.css)).options;
    if (card) {
      stage.append(card);
      const video = card.querySelector('video');
      if (video) endings.push(playMedia(video, cleanups));
      // Reading the layout commits the hidden state first, so the entrance
      // animation starts from it (without waiting for a frame that a hidden source
      // may never paint).
      void card.offsetWidth;
      card.classList.add('in');
    }
    const sound = isSpeech ? '' : text(alert.sound_url);
    if (sound) {
      const audio = new Audio(sound);
      audio.volume = volume(look.sound_volume);
      endings.push(playMedia(audio, cleanups));
    }
    if (speech) endings.push(speak(speech, cleanups, volume(look.tts_volume)));

    // Done when everything has finished, or at the bound, or when the host
    // says stop (skip, cancel), whichever is first.
    await Promise.race([Promise.all(endings), sleep(bound), stopped]);
    stopCurrent = null;

    try {
      for (const cleanup of cleanups) cleanup();
      if (card) {
        card.classList.add('out');
        await sleep(EXIT_MS);
        card.remove();
      }
    } finally {
      // Withdrawn speech is not acknowledged: the host already dropped it.
      if (isSpeech && stoppedBy !== 'cancelled') ack(alert.id);
      state.current = null;
    }
  }

  // The card options at the start of an alert's `css` (validated: anything
  // odd is left out) and the CSS after them.
  function cardOptions(css) {
    const trimmed = css.trimStart();
    if (!trimmed.startsWith(CARD_PREFIX)) return { options: {}, css };
    const end = trimmed.indexOf('*/');
    if (end < 0) return { options: {}, css };
    let raw = null;
    try {
      raw = JSON.parse(trimmed.slice(CARD_PREFIX.length, end));
    } catch {
      raw = null;
    }
    const rest = trimmed.slice(end + 2).trim();
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { options: {}, css: rest };
    const options = {};
    if (typeof raw.animation === 'string') options.animation = raw.animation;
    if (typeof raw.accent === 'string' && /^#[0-9a-fA-F]{6}$/.test(raw.accent)) options.accent = raw.accent;
    if (raw.layout === 'side' || raw.layout === 'stack') options.layout = raw.layout;
    for (const key of ['sound_volume', 'tts_volume']) {
      if (Number.isFinite(raw[key])) options[key] = raw[key];
    }
    const highlights = raw.highlights && typeof raw.highlights === 'object' ? raw.highlights : {};
    options.highlights = {
      title: Array.isArray(highlights.title) ? highlights.title : [],
      message: Array.isArray(highlights.message) ? highlights.message : [],
    };
    return { options, css: rest };
  }

  // A volume in percent (0-100) as a media element's 0-1; full when unset.
  function volume(percent) {
    return Number.isFinite(percent) ? Math.min(1, Math.max(0, percent / 100)) : 1;
  }

  // `value` cut into plain and highlighted pieces. Each highlight is
  // [start, text]; one that does not sit at its start is looked for after
  // the previous one, and one not found is left out, so a renderer that
  // rewrote the text only loses the highlight.
  function pieces(value, highlights) {
    const out = [];
    let cursor = 0;
    for (const h of Array.isArray(highlights) ? highlights : []) {
      if (!Array.isArray(h) || typeof h[1] !== 'string' || h[1] === '') continue;
      const [start, word] = h;
      let at = Number.isInteger(start) && start >= cursor && value.startsWith(word, start) ? start : -1;
      if (at < 0) at = value.indexOf(word, cursor);
      if (at < 0) continue;
      if (at > cursor) out.push({ text: value.slice(cursor, at), highlight: false });
      out.push({ text: word, highlight: true });
      cursor = at + word.length;
    }
    if (cursor < value.length) out.push({ text: value.slice(cursor), highlight: false });
    return out;
  }

  // The visible part, or null for an alert that only makes noise.
  function render(alert) {
    const title = text(alert.title);
    const message = text(alert.message);
    const image = text(alert.image_url);
    const video = text(alert.video_url);
    const html = text(alert.html);
    const { options, css } = cardOptions(text(alert.css));
    if (!title && !message && !image && !video && !html) return null;

    const card = document.createElement('div');
    const animation = ANIMATIONS.has(options.animation) ? options.animation : 'pop';
    card.className = `alert anim-${animation}`;
    if (options.layout === 'side') card.classList.add('layout-side');
    if (options.accent) card.style.setProperty('--accent', options.accent);
    card.dataset.alertId = alert.id;
    const highlights = options.highlights || { title: [], message: [] };

    if (html || css) {
      // A plugin's markup runs in a sandboxed iframe: sandbox="" allows no
      // script, no forms, no popups, no navigation of this page, and gives
      // the frame an opaque origin, so it cannot read this page (or the key
      // in its URL). Its styles apply to its own document only.
      card.classList.add('custom');
      const frame = document.createElement('iframe');
      frame.className = 'alert-frame';
      frame.setAttribute('sandbox', '');
      frame.setAttribute('referrerpolicy', 'no-referrer');
      frame.setAttribute('title', title || 'alert');
      const body = html
        ? fillMarkup(html, { title, message, image_url: image })
        : defaultMarkup(title, message, image, highlights);
      frame.srcdoc = customDocument(body, css, options.accent);
      card.append(frame);
    } else {
      if (image) {
        const img = document.createElement('img');
        img.className = 'image';
        img.alt = '';
        img.onerror = () => img.remove(); // a broken image leaves the text
        img.src = image;
        card.append(img);
      }
      if (title || message) {
        const box = document.createElement('div');
        box.className = 'text';
        if (title) box.append(textElement('h1', 'title', title, highlights.title));
        if (message) box.append(textElement('p', 'message', message, highlights.message));
        card.append(box);
      }
    }
    if (video) {
      const v = document.createElement('video');
      v.className = 'video';
      v.playsInline = true;
      v.preload = 'auto';
      v.src = video;
      card.append(v);
    }
    return card;
  }

  function textElement(tag, className, value, highlights) {
    const element = document.createElement(tag);
    element.className = className;
    // Text, never markup: every piece goes in as a text node.
    for (const piece of pieces(value, highlights)) {
      if (piece.highlight) {
        const span = document.createElement('span');
        span.className = 'hl';
        span.textContent = piece.text;
        element.append(span);
      } else {
        element.append(document.createTextNode(piece.text));
      }
    }
    return element;
  }

  function escapeHtml(value) {
    return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  // The plugin contract: `{title}` and `{message}` in custom markup are
  // filled in (escaped: they often carry viewers' words), as is
  // `{image_url}`. One pass, so a value containing `{title}` stays as is.
  function fillMarkup(html, values) {
    return html.replace(/\{(title|message|image_url)\}/g, (_, name) => escapeHtml(values[name]));
  }

  function markedUp(value, highlights) {
    return pieces(value, highlights)
      .map((p) => (p.highlight ? `<span class="hl">${escapeHtml(p.text)}</span>` : escapeHtml(p.text)))
      .join('');
  }

  // The built-in layout as markup, for custom CSS without custom HTML.
  function defaultMarkup(title, message, image, highlights) {
    return [
      '<div class="alert">',
      image ? `<img class="image" alt="" src="${escapeHtml(image)}">` : '',
      '<div class="text">',
      title ? `<h1 class="title">${markedUp(title, highlights.title)}</h1>` : '',
      message ? `<p class="message">${markedUp(message, highlights.message)}</p>` : '',
      '</div></div>',
    ].join('');
  }

  function customDocument(body, css, accent) {
    // The plugin's CSS goes last so it can override the transparent base.
    // The accent was checked to be #rrggbb.
    return [
      '<!doctype html><html><head><meta charset="utf-8">',
      '<style>html,body{margin:0;background:transparent;color:#fff;',
      `font-family:system-ui,sans-serif}:root{--accent:${accent || '#a970ff'}}`,
      '.hl{color:var(--accent)}</style>',
      `<style>${css}</style>`,
      `</head><body>${body}</body></html>`,
    ].join('');
  }

  // Plays a video or audio element; resolves when it ends, fails or cannot
  // start (autoplay refused), never later than the alert's bound.
  function playMedia(media, cleanups) {
    cleanups.push(() => {
      media.pause();
      media.removeAttribute('src');
      media.load(); // releases the network connection
    });
    // Test hook (read-only): window.__overlay.mediaStarted lists the
    // sources that started playing, newest last.
    media.addEventListener(
      'playing',
      () => (state.mediaStarted ||= []).push(media.currentSrc),
      { once: true },
    );
    return new Promise((resolve) => {
      media.addEventListener('ended', resolve, { once: true });
      media.addEventListener('error', resolve, { once: true });
      media.play().catch(() => {
        // Autoplay with sound refused (a browser without OBS's flags): a
        // muted video is better than none; a sound has nothing left to do.
        if (media instanceof HTMLVideoElement && !media.muted) {
          media.muted = true;
          media.play().catch(resolve);
        } else {
          resolve();
        }
      });
    });
  }

  // Reads `words` aloud with the browser's speech synthesis; resolves when
  // done or when speech is unavailable.
  function speak(words, cleanups, loudness = 1) {
    state.spoken.push(words);
    if (!('speechSynthesis' in window)) return Promise.resolve();
    return new Promise((resolve) => {
      const utterance = new SpeechSynthesisUtterance(words);
      utterance.volume = loudness;
      utterance.onend = resolve;
      utterance.onerror = resolve;
      cleanups.push(() => speechSynthesis.cancel());
      speechSynthesis.speak(utterance);
    });
  }

  // --- Preview ----------------------------------------------------------

  // The dashboard's alert editor frames this page as /overlay/<name>?preview
  // (sandboxed: an opaque origin, no storage, no socket) and posts
  // {"type":"preview","alerts":[...]} to it: they play here exactly as on
  // stream, replacing whatever previewed before. Nothing is acknowledged.
  function startPreview() {
    state.status = 'preview';
    let round = 0;
    window.addEventListener('message', (e) => {
      if (e.source !== window.parent || !e.data || e.data.type !== 'preview') return;
      if (!Array.isArray(e.data.alerts)) return;
      round += 1;
      fitStage();
      queue.length = 0;
      if (stopCurrent) stopCurrent('skipped');
      e.data.alerts.forEach((alert, i) => {
        if (alert && typeof alert === 'object') {
          receive({ ...alert, id: `preview-${round}-${i}` });
        }
      });
    });
    window.parent.postMessage({ type: 'preview-ready' }, '*');
  }

  // --- Start ------------------------------------------------------------

  if (new URLSearchParams(location.search).has('preview')) {
    startPreview();
  } else if (!key) {
    state.status = 'refused';
    showError('No overlay key in the URL — copy the overlay URL again from the dashboard.');
  } else {
    connect();
  }
})();
