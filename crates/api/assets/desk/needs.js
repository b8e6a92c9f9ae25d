// Needs and their coverage: a recipient sees its country's needs, whether each is unmet,
// covered or duplicated, and the activities that address it; providers and coordinators can
// ask which published needs in a country no activity addresses.

import { explain, gql } from './api.js';
import { field, fill, h, select, status, values } from './dom.js';
import { priorityAreas, words } from './labels.js';

const BRIEF = 'id title status reportingOrg { ref name }';

/** The fields the view shows, also asked of `needPublished` and `coverageChanged`. */
export const NEED_FIELDS = `id title recipientCountry priority priorityArea provisions visibility
  analysis { status }
  coverage { state groups crowded pipelineOnly orphan coveringActivities { ${BRIEF} } candidates { ${BRIEF} } }`;

const NEEDS = `query Needs($filter: NeedFilter!, $after: String) {
  needs(filter: $filter, first: 50, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { ${NEED_FIELDS} }
  }
}`;

const STATES = [['', 'Any'], ['UNMET', 'Unmet: no activity addresses it'], ['COVERED', 'Covered'], ['DUPLICATED', 'Duplicated']];

/** The needs view. */
export function needsView(panel, context) {
  const { viewer } = context;
  const own = viewer.role === 'RECIPIENT' ? viewer.country : null;
  let settings = { country: own || '', coverage: '', priorityArea: '' };
  let needs = [];
  let total = null;
  let next = null;
  let dirty = true;

  const intro =
    own
      ? `The needs ${own} published, and how each is covered.`
      : viewer.role === 'PROVIDER'
        ? 'Published needs and their coverage. Choose “Unmet” to see the needs in a country that no activity addresses.'
        : 'Published needs and their coverage.';
  const form = h('form', { class: 'filters', 'aria-label': 'Needs filters' });
  const state = h('div');
  const table = h('div');
  const more = h('button', { type: 'button', hidden: true, onclick: () => load(true) }, 'Show more needs');
  fill(panel, h('h2', {}, 'Needs'), h('p', { class: 'hint' }, intro), form, state, table, more);
  fill(
    form,
    own
      ? field('Country', h('input', { name: 'country', value: own, readonly: true, size: 3 }))
      : field('Country', h('input', { name: 'country', value: settings.country, size: 3, maxlength: 2, placeholder: 'KE', autocomplete: 'off' })),
    field('Coverage', select('coverage', STATES, settings.coverage)),
    field('Priority area', select('priorityArea', [['', 'Any'], ...priorityAreas], settings.priorityArea)),
    h('button', { type: 'submit' }, 'Show'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    settings = values(form);
    settings.country = (own || settings.country).toUpperCase();
    load(false);
  });

  function filter() {
    const f = {};
    if (settings.country) f.recipientCountry = settings.country;
    if (settings.coverage) f.coverage = [settings.coverage];
    if (settings.priorityArea) f.priorityArea = settings.priorityArea;
    return f;
  }

  function inScope(need) {
    if (settings.country && need.recipientCountry !== settings.country) return false;
    if (settings.coverage && need.coverage.state !== settings.coverage) return false;
    if (settings.priorityArea && need.priorityArea !== settings.priorityArea) return false;
    return true;
  }

  async function load(append) {
    dirty = false;
    if (!append) fill(state, status('loading', 'Loading needs and their coverage…'));
    table.setAttribute('aria-busy', 'true');
    try {
      const data = await gql(NEEDS, { filter: filter(), after: append ? next : null });
      const page = data.needs;
      needs = append ? needs.concat(page.nodes) : page.nodes;
      total = page.totalCount;
      next = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      draw();
    } catch (error) {
      fill(state, status('error', `Needs could not be loaded. ${explain(error)}`));
    } finally {
      table.removeAttribute('aria-busy');
    }
  }

  function draw() {
    const counts = { UNMET: 0, COVERED: 0, DUPLICATED: 0 };
    for (const n of needs) counts[n.coverage.state] += 1;
    fill(
      state,
      total === 0
        ? status('empty', 'No needs in this scope.')
        : status('ok', `${total} need${total === 1 ? '' : 's'}: ${counts.UNMET} unmet, ${counts.COVERED} covered, ${counts.DUPLICATED} duplicated${next ? ' among those shown' : ''}.`),
    );
    if (needs.length === 0) {
      fill(table);
      more.hidden = true;
      return;
    }
    fill(
      table,
      h(
        'table',
        { class: 'needs' },
        h('caption', { class: 'visually-hidden' }, 'Needs and their coverage'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Need'),
          h('th', { scope: 'col' }, 'Coverage'),
          h('th', { scope: 'col' }, 'Activities addressing it'),
          h('th', { scope: 'col' }, 'Could address it'),
        )),
        h('tbody', {}, needs.map(row)),
      ),
    );
    more.hidden = !next;
  }

  function row(need) {
    const c = need.coverage;
    const notes = [];
    if (c.groups > 0) notes.push(`${c.groups} coordination group${c.groups === 1 ? '' : 's'}`);
    if (c.crowded) notes.push('crowded');
    if (c.pipelineOnly) notes.push('only by activities not yet started');
    if (c.orphan) notes.push('its analysis was superseded');
    return h(
      'tr',
      { id: `need-${need.id}`, dataset: { needId: need.id, coverage: c.state } },
      h('th', { scope: 'row' },
        h('strong', {}, need.title),
        h('div', { class: 'code' }, `${need.recipientCountry} · ${words(need.priorityArea)} · ${words(need.priority)} priority${need.provisions.length ? ` · ${need.provisions.join(', ')}` : ''}`),
      ),
      h('td', {},
        h('span', { class: `badge coverage-${c.state.toLowerCase()}` }, words(c.state)),
        notes.length ? h('div', { class: 'hint' }, notes.join('; ')) : '',
      ),
      h('td', {}, activities(c.coveringActivities, 'None')),
      h('td', {}, activities(c.candidates, '—')),
    );
  }

  return {
    show() {
      if (dirty) load(false);
    },
    stale() {
      dirty = true;
      if (!panel.hidden) load(false);
    },
    /** A need was published or its coverage may have changed. */
    onNeed(need) {
      const at = needs.findIndex((n) => n.id === need.id);
      if (at >= 0 && !inScope(need)) {
        needs.splice(at, 1);
        if (total !== null) total -= 1;
      } else if (at >= 0) {
        needs[at] = need;
      } else if (inScope(need) && total !== null) {
        needs.unshift(need);
        total += 1;
      } else {
        return;
      }
      draw();
    },
  };
}

function activities(list, empty) {
  if (list.length === 0) return h('span', { class: 'hint' }, empty);
  return h('ul', { class: 'items' }, list.map((a) => h('li', {}, a.title, h('span', { class: 'code' }, ` — ${a.reportingOrg.name}, ${words(a.status).toLowerCase()}`))));
}
