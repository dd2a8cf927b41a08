// The dashboard: one page per tab, kept current by three layers: live
// messages from `/api/live` (instant), a re-fetch of the visible page every
// 30 s and whenever the feed reconnects or says we fell behind (the safety
// net), and a one-second tick for countdowns and relative times.

import { onLoggedOut } from './api.js';
import { LiveFeed, TOPICS } from './live.js';
import { el } from './ui.js';
import { EventsPage } from './pages/events.js';
import { EventSubPage } from './pages/eventsub.js';
import { ViewersPage } from './pages/viewers.js';
import { TtsPage } from './pages/tts.js';
import { PluginsPage } from './pages/plugins.js';
import { AlertsPage } from './pages/alerts.js';
import { OverlaysPage } from './pages/overlays.js';
import { PollingPage } from './pages/polling.js';
import { MediaPage } from './pages/media.js';
import { ExternalPage } from './pages/external.js';

/** The safety net: how often the visible page re-fetches anyway. */
const SAFETY_NET_MS = 30000;
/** How often the host's health is checked (a full disk, a crashed part). */
const HEALTH_MS = 5000;

const pages = [
  new EventsPage(),
  new EventSubPage(),
  new ViewersPage(),
  new TtsPage(),
  new PluginsPage(),
  new AlertsPage(),
  new OverlaysPage(),
  new MediaPage(),
  new PollingPage(),
  new ExternalPage(),
];
let current = null;

function pageFromHash() {
  const id = location.hash.replace(/^#/, '');
  return pages.find((page) => page.id === id) || pages[0];
}

function showPage(page) {
  if (current === page) {
    return;
  }
  if (current) {
    current.hide();
  }
  current = page;
  for (const tab of document.querySelectorAll('#tabs button')) {
    const selected = tab.dataset.page === page.id;
    tab.setAttribute('aria-selected', String(selected));
    tab.classList.toggle('active', selected);
  }
  page.show();
}

function buildTabs() {
  const nav = document.getElementById('tabs');
  const main = document.getElementById('pages');
  nav.setAttribute('role', 'tablist');
  for (const page of pages) {
    nav.appendChild(
      el(
        'button',
        {
          type: 'button',
          role: 'tab',
          dataset: { page: page.id },
          onclick: () => {
            location.hash = page.id;
          },
        },
        page.title,
      ),
    );
    main.appendChild(page.root);
  }
}

function startLive() {
  const feed = new LiveFeed();
  const indicator = document.getElementById('live-state');
  feed.on('state', (state) => {
    indicator.className = `live-state ${state}`;
    indicator.textContent = { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…' }[state];
  });
  for (const topic of TOPICS) {
    feed.on(topic, (data) => pages.forEach((page) => page.deliver(topic, data)));
  }
  // Something may have been missed: every page re-fetches (hidden ones when shown).
  feed.on('resync', () => pages.forEach((page) => page.invalidate()));
  feed.start();
  return feed;
}

/**
 * Shows what `/healthz` reports as not working (the database refusing
 * writes on a full disk, ...) in a banner above every page, and hides it
 * once all is well again.
 */
async function checkHealth() {
  const banner = document.getElementById('health');
  try {
    const response = await fetch('/healthz', { cache: 'no-store' });
    const body = await response.json();
    const problems = Object.entries(body.problems || {});
    banner.hidden = problems.length === 0;
    banner.replaceChildren(
      ...problems.map(([part, reason]) => el('p', { dataset: { part } }, `${part}: ${reason}`)),
    );
  } catch {
    // Unreachable host: the live indicator already says so.
  }
}

function main() {
  buildTabs();
  checkHealth();
  setInterval(checkHealth, HEALTH_MS);
  const feed = startLive();
  onLoggedOut(() => {
    document.getElementById('logged-out').hidden = false;
  });
  window.addEventListener('hashchange', () => showPage(pageFromHash()));
  showPage(pageFromHash());

  setInterval(() => {
    if (current && !document.hidden) {
      current.refresh();
    }
  }, SAFETY_NET_MS);
  setInterval(() => {
    if (current && !document.hidden) {
      current.tick(Date.now());
    }
  }, 1000);
  // A tab brought back to the front may have slept through updates.
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && current) {
      current.refresh();
    }
  });
  window.addEventListener('beforeunload', () => feed.stop());
}

main();
