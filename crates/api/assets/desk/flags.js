// The flag queue: open overlap flags, highest score first, each with both activities side by
// side, the score's components and their reasons, and — for those who may — the review form.

import { explain, gql } from './api.js';
import { field, fill, h, select, status, values } from './dom.js';
import { decisions, money, words } from './labels.js';

const SIDE = `id iatiIdentifier title status reportingOrg { ref name }
  recipientCountries { code name } sectors { code name } priorityAreas provisions assistanceTypes
  plannedStart plannedEnd budget { amount currency }`;

/** The fields the queue shows, also asked of `overlapFlagChanged`. */
export const FLAG_FIELDS = `id score class status countries note reviewedAt reviewedBy raisedAt
  components { key value weight reason }
  activityA { ${SIDE} } activityB { ${SIDE} }`;

const QUEUE = `query Queue($filter: OverlapFlagFilter!, $after: String) {
  overlapFlags(filter: $filter, first: 20, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { ${FLAG_FIELDS} }
  }
}`;

const REVIEW = `mutation Review($id: ID!, $status: ReviewStatus!, $note: String) {
  reviewOverlapFlag(id: $id, status: $status, note: $note) { ${FLAG_FIELDS} }
}`;

const CLASSES = [['', 'Any'], ['DOUBLE_REPORTING', 'Double reporting'], ['LIKELY_DUPLICATION', 'Likely duplication'], ['POSSIBLE_OVERLAP', 'Possible overlap'], ['COORDINATED', 'Coordinated']];

/** The flag queue view; `onCount(n)` hears the number of open flags in scope. */
export function flagQueue(panel, context, onCount) {
  const { viewer } = context;
  let settings = { country: viewer.role === 'RECIPIENT' ? viewer.country || '' : '', minScore: '', class: '' };
  let flags = [];
  let total = null;
  let next = null;
  let dirty = true;
  let loading = false;
  let reloadAfter = false;
  const reviewed = [];

  const form = h('form', { class: 'filters', 'aria-label': 'Flag queue filters' });
  const state = h('div');
  const queue = h('ol', { class: 'queue', 'aria-label': 'Open overlap flags, highest score first' });
  const more = h('button', { type: 'button', hidden: true, onclick: () => load(true) }, 'Show more flags');
  const done = h('section', { class: 'reviewed', hidden: true });
  fill(panel, h('h2', {}, 'Flag queue'), form, state, queue, more, done);
  fill(
    form,
    field('Country', h('input', { name: 'country', value: settings.country, size: 3, maxlength: 2, placeholder: 'KE', autocomplete: 'off' })),
    field('Lowest score', h('input', { name: 'minScore', type: 'number', min: 0, max: 100, value: settings.minScore, class: 'narrow' })),
    field('Class', select('class', CLASSES, settings.class)),
    h('button', { type: 'submit' }, 'Show'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    settings = values(form);
    settings.country = settings.country.toUpperCase();
    load(false);
  });

  function filter() {
    const f = { status: ['OPEN'] };
    if (settings.country) f.country = settings.country;
    if (settings.minScore !== '') f.minScore = Number(settings.minScore);
    if (settings.class) f.class = [settings.class];
    return f;
  }

  function inScope(flag) {
    if (flag.status !== 'OPEN') return false;
    if (settings.country && !flag.countries.includes(settings.country)) return false;
    if (settings.minScore !== '' && flag.score < Number(settings.minScore)) return false;
    if (settings.class && flag.class !== settings.class) return false;
    return true;
  }

  async function load(append) {
    if (loading) {
      // Asked again while a page is on its way (an event, a reconnect): load afresh after it.
      if (!append) reloadAfter = true;
      return;
    }
    loading = true;
    reloadAfter = false;
    dirty = false;
    if (!append) fill(state, status('loading', 'Loading open flags…'));
    queue.setAttribute('aria-busy', 'true');
    try {
      const data = await gql(QUEUE, { filter: filter(), after: append ? next : null });
      const page = data.overlapFlags;
      flags = append ? flags.concat(page.nodes.filter((f) => !flags.some((g) => g.id === f.id))) : page.nodes;
      total = page.totalCount;
      next = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      draw();
    } catch (error) {
      fill(state, status('error', `The flag queue could not be loaded. ${explain(error)}`));
    } finally {
      loading = false;
      queue.removeAttribute('aria-busy');
      if (reloadAfter) load(false);
    }
  }

  function draw() {
    onCount(total);
    fill(state, total === 0 ? status('empty', 'No open flags in this scope: nothing waits for review.') : status('ok', `${total} open flag${total === 1 ? '' : 's'}, highest score first.`));
    fill(queue, flags.map(card));
    more.hidden = !next;
  }

  function mayReview(flag) {
    if (viewer.role === 'ADMIN' || viewer.role === 'COORDINATOR') return true;
    if (viewer.role !== 'PROVIDER' || !viewer.organisation) return false;
    const own = viewer.organisation.ref;
    return flag.activityA.reportingOrg.ref === own || flag.activityB.reportingOrg.ref === own;
  }

  function card(flag) {
    const title = `Score ${flag.score} · ${words(flag.class)} · ${flag.countries.join(', ')}`;
    return h(
      'li',
      { class: 'flag', id: `flag-${flag.id}`, dataset: { flagId: flag.id } },
      h('article', { 'aria-label': title },
        h('h3', {}, h('span', { class: `badge score class-${flag.class.toLowerCase()}` }, `Score ${flag.score}`), ' ', words(flag.class), h('span', { class: 'code' }, ` shared: ${flag.countries.join(', ') || '—'}; raised ${flag.raisedAt.slice(0, 10)}`)),
        h('div', { class: 'pair' }, side('A', flag.activityA), side('B', flag.activityB)),
        components(flag),
        mayReview(flag) ? reviewForm(flag) : h('p', { class: 'hint' }, 'Coordinators and the providers of these activities review flags.'),
      ),
    );
  }

  function reviewForm(flag) {
    const message = h('p', { class: 'form-message', role: 'status' });
    const form = h(
      'form',
      { class: 'review', 'aria-label': `Review the flag between ${flag.activityA.title} and ${flag.activityB.title}` },
      h('fieldset', {},
        h('legend', {}, 'Decision'),
        decisions.map(([code, label, explanation]) =>
          h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'status', value: code, required: true }), ` ${label} `, h('span', { class: 'hint' }, `(${explanation})`)),
        ),
      ),
      field('Note', h('textarea', { name: 'note', rows: 2, maxlength: 2000, placeholder: 'Why; seen by everyone who sees the flag' })),
      h('button', { type: 'submit' }, 'Record the review'),
      message,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const { status: decision, note } = values(form);
      const button = form.querySelector('button[type=submit]');
      button.disabled = true;
      fill(message, 'Recording…');
      try {
        const data = await gql(REVIEW, { id: flag.id, status: decision, note: note || null });
        const stored = data.reviewOverlapFlag;
        remove(stored.id);
        reviewed.unshift(stored);
        drawReviewed();
        context.announce(`Flag reviewed: ${words(stored.status)}. ${total} open flags left.`);
      } catch (error) {
        message.classList.add('state-error');
        fill(message, explain(error));
        button.disabled = false;
      }
    });
    return form;
  }

  function remove(id) {
    const before = flags.length;
    flags = flags.filter((f) => f.id !== id);
    if (flags.length < before && total !== null) total -= 1;
    draw();
  }

  function drawReviewed() {
    done.hidden = reviewed.length === 0;
    fill(
      done,
      h('h3', {}, 'Reviewed in this session'),
      h('ul', { class: 'items' }, reviewed.map((f) =>
        h('li', { dataset: { flagId: f.id } },
          h('span', { class: 'badge' }, words(f.status)), ' ',
          `${f.activityA.title} / ${f.activityB.title}`,
          f.note ? ` — “${f.note}”` : '',
          ` (by ${f.reviewedBy || 'you'})`,
        ),
      )),
    );
  }

  return {
    load,
    show() {
      if (dirty) load(false);
    },
    stale() {
      dirty = true;
      if (!panel.hidden) load(false);
    },
    /** A flag was raised, changed or reviewed, here or elsewhere. */
    onFlag(flag) {
      const known = flags.findIndex((f) => f.id === flag.id);
      if (!inScope(flag)) {
        if (known >= 0) remove(flag.id);
        return;
      }
      if (known >= 0) {
        flags[known] = flag;
      } else {
        flags.push(flag);
        if (total !== null) total += 1;
        context.announce(`New overlap flag, score ${flag.score}: ${flag.activityA.title} and ${flag.activityB.title}.`);
      }
      flags.sort((a, b) => b.score - a.score);
      draw();
      const item = document.getElementById(`flag-${flag.id}`);
      if (item && known < 0) item.classList.add('arrived');
    },
  };
}

function side(letter, a) {
  const dates = `${a.plannedStart || '?'} to ${a.plannedEnd || '?'}`;
  return h(
    'section',
    { class: 'side', 'aria-label': `Activity ${letter}` },
    h('h4', {}, h('span', { class: 'code' }, `${letter} `), a.title),
    h('dl', { class: 'figures' },
      h('dt', {}, 'Reported by'), h('dd', {}, `${a.reportingOrg.name} (${a.reportingOrg.ref})`),
      h('dt', {}, 'Identifier'), h('dd', { class: 'code' }, a.iatiIdentifier),
      h('dt', {}, 'Countries'), h('dd', {}, a.recipientCountries.map((c) => c.name).join(', ') || '—'),
      h('dt', {}, 'Sectors'), h('dd', {}, a.sectors.map((s) => `${s.code} ${s.name}`).join('; ') || '—'),
      h('dt', {}, 'Priority areas'), h('dd', {}, a.priorityAreas.map(words).join(', ') || '—'),
      h('dt', {}, 'Provisions'), h('dd', {}, a.provisions.join(', ') || '—'),
      h('dt', {}, 'Assistance'), h('dd', {}, a.assistanceTypes.map(words).join(', ') || '—'),
      h('dt', {}, 'Dates'), h('dd', {}, dates),
      h('dt', {}, 'Status'), h('dd', {}, words(a.status)),
      h('dt', {}, 'Budget'), h('dd', {}, money(a.budget)),
    ),
  );
}

function components(flag) {
  return h(
    'table',
    { class: 'components' },
    h('caption', {}, 'Why the pair was flagged'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Component'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, 'Weight'), h('th', { scope: 'col' }, 'Reason'))),
    h('tbody', {}, flag.components.map((c) =>
      h('tr', {},
        h('th', { scope: 'row' }, words(c.key.toUpperCase())),
        h('td', {}, h('meter', { min: 0, max: 1, value: c.value, 'aria-hidden': 'true' }), ` ${c.value.toFixed(2)}`),
        h('td', {}, c.weight.toFixed(2)),
        h('td', {}, c.reason),
      ),
    )),
  );
}
