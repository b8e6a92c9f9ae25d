// The desk's shell: signing in and out, the three views as tabs, and the live connection that
// feeds them.

import { explain, gql, onUnauthenticated, useToken } from './api.js';
import { fill, h } from './dom.js';
import { FLAG_FIELDS, flagQueue } from './flags.js';
import { heatmap } from './heatmap.js';
import { words } from './labels.js';
import { Live } from './live.js';
import { NEED_FIELDS, needsView } from './needs.js';

const TOKEN_KEY = 'aidgraph-token';
const $ = (id) => document.getElementById(id);

const VIEWER = `query Viewer { viewer { subject role country organisation { ref name } } }`;

let live = null;
let views = null;

function showSignIn(reason) {
  if (live) live.stop();
  live = null;
  views = null;
  sessionStorage.removeItem(TOKEN_KEY);
  useToken('');
  $('desk').hidden = true;
  $('who').hidden = true;
  $('live').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  const notice = $('sign-in-reason');
  notice.hidden = !reason;
  notice.textContent = reason || '';
  $('token').value = '';
  $('token').focus();
}

async function signIn(token) {
  useToken(token);
  const button = $('sign-in-form').querySelector('button');
  button.disabled = true;
  button.textContent = 'Signing in…';
  try {
    const { viewer } = await gql(VIEWER);
    sessionStorage.setItem(TOKEN_KEY, token);
    open(token, viewer);
  } catch (error) {
    showSignIn(explain(error));
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
}

function describe(viewer) {
  const parts = [words(viewer.role)];
  if (viewer.organisation) parts.push(`${viewer.organisation.name} (${viewer.organisation.ref})`);
  if (viewer.country) parts.push(viewer.country);
  parts.push(viewer.subject);
  return parts.join(' · ');
}

function open(token, viewer) {
  $('sign-in').hidden = true;
  $('desk').hidden = false;
  $('sign-out').hidden = false;
  fill($('who'), h('span', { class: 'visually-hidden' }, 'Signed in as '), describe(viewer));
  $('who').hidden = false;

  const context = { viewer, announce };
  views = {
    heatmap: heatmap($('view-heatmap'), context),
    flags: flagQueue($('view-flags'), context, (count) => fill($('flag-count'), count === null ? '' : `(${count})`)),
    needs: needsView($('view-needs'), context),
  };
  const first = location.hash.slice(1) in views ? location.hash.slice(1) : viewer.role === 'RECIPIENT' ? 'needs' : 'heatmap';
  select(first, false);
  views.flags.load();

  live = new Live(token, {
    onState: liveState,
    onReconnect: () => {
      for (const view of Object.values(views || {})) view.stale();
    },
  });
  live.subscribe(`subscription Flags { overlapFlagChanged { ${FLAG_FIELDS} } }`, {}, (data) => {
    views?.flags.onFlag(data.overlapFlagChanged);
    views?.heatmap.stale();
  });
  live.subscribe(`subscription Published { needPublished { ${NEED_FIELDS} } }`, {}, (data) => {
    views?.needs.onNeed(data.needPublished);
    views?.heatmap.stale();
  });
  live.subscribe(`subscription Coverage { coverageChanged { ${NEED_FIELDS} } }`, {}, (data) => {
    views?.needs.onNeed(data.coverageChanged);
    views?.heatmap.stale();
  });
  live.start();
}

function liveState(state, detail) {
  const line = $('live');
  line.hidden = false;
  line.dataset.state = state;
  switch (state) {
    case 'connecting':
      line.textContent = 'Live: connecting…';
      break;
    case 'open':
      line.textContent = 'Live: connected';
      break;
    case 'lost':
      line.textContent = `Live updates lost; reconnecting in ${detail} s`;
      break;
    case 'refused':
      showSignIn(`Your session ended: ${detail}. Paste a new token to go on.`);
      break;
    default:
      line.textContent = state;
  }
}

function announce(text) {
  const region = $('announce');
  region.textContent = '';
  // A fresh node so screen readers read the same message twice in a row.
  setTimeout(() => (region.textContent = text), 50);
}

function select(name, focus = true) {
  for (const tab of $('tabs').querySelectorAll('[role=tab]')) {
    const chosen = tab.id === `tab-${name}`;
    tab.setAttribute('aria-selected', String(chosen));
    tab.tabIndex = chosen ? 0 : -1;
    $(tab.getAttribute('aria-controls')).hidden = !chosen;
    if (chosen && focus) tab.focus();
  }
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  views[name].show();
}

function wireTabs() {
  const tabs = () => [...$('tabs').querySelectorAll('[role=tab]')];
  $('tabs').addEventListener('click', (event) => {
    const tab = event.target.closest('[role=tab]');
    if (tab && views) select(tab.id.slice(4));
  });
  $('tabs').addEventListener('keydown', (event) => {
    const all = tabs();
    const at = all.indexOf(document.activeElement);
    if (at < 0 || !views) return;
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    select(all[(to + all.length) % all.length].id.slice(4));
  });
}

onUnauthenticated((error) => showSignIn(`Your session ended: ${error.message}. Paste a new token to go on.`));

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token').value.trim().replace(/^Bearer\s+/i, '');
  if (token) signIn(token);
});
$('sign-out').addEventListener('click', () => showSignIn(''));
window.addEventListener('hashchange', () => {
  const name = location.hash.slice(1);
  if (views && name in views) select(name, false);
});
wireTabs();

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
else showSignIn('');
