// The coverage heatmap: countries (and regions) × priority areas or DAC sectors from
// `coverageMatrix`, coloured by the coverage of needs or by crowding, with a pattern and a
// label in every cell so that it reads without colour. A cell opens its activities, needs and
// open flags.

import { explain, gql } from './api.js';
import { field, fill, h, select, status, values } from './dom.js';
import { money, priorityAreas, words } from './labels.js';

const MATRIX = `query Matrix($columns: MatrixColumns!, $currency: String!, $filter: AnalyticsFilter, $ceiling: Int!) {
  coverageMatrix(columns: $columns, currency: $currency, filter: $filter, providerCeiling: $ceiling) {
    columns currency providerCeiling
    rows {
      code name kind
      cells {
        column columnName activities activeProviders providers overCeiling hhi fragmentation
        activeBudget shareBasis
        needs { total unmet covered duplicated }
        openFlags { total likelyDuplication possibleOverlap doubleReporting coordinated }
        unconverted { amount currency }
      }
    }
  }
}`;

const CELL_DETAIL = `query Cell($activities: ActivityFilter!, $needs: NeedFilter!, $flags: OverlapFlagFilter!, $withNeeds: Boolean!) {
  activities(filter: $activities, first: 100) {
    totalCount
    nodes { id title reportingOrg { ref name } status budget { amount currency } plannedStart plannedEnd }
  }
  needs(filter: $needs, first: 100) @include(if: $withNeeds) {
    totalCount
    nodes { id title priority coverage { state } }
  }
  overlapFlags(filter: $flags, first: 100) {
    totalCount
    nodes {
      id score class countries
      activityA { title priorityAreas sectors { code } reportingOrg { name } }
      activityB { title priorityAreas sectors { code } reportingOrg { name } }
    }
  }
}`;

const REGION_DETAIL = `query RegionCell($activities: ActivityFilter!) {
  activities(filter: $activities, first: 25) {
    totalCount
    nodes {
      id title reportingOrg { ref name } status budget { amount currency } plannedStart plannedEnd
      overlaps(filter: { status: [OPEN] }, first: 10) {
        nodes {
          id score class countries
          activityA { title reportingOrg { name } }
          activityB { title reportingOrg { name } }
        }
      }
    }
  }
}`;

/** The states a cell can be in, per colouring, with the legend's words. */
const LEGENDS = {
  needs: [
    ['unmet', 'Unmet needs', 'at least one published need no activity addresses'],
    ['duplicated', 'Duplicated', 'a need addressed by more than one uncoordinated group'],
    ['covered', 'Covered', 'every published need is addressed'],
    ['none', 'No needs', 'no published needs to compare with'],
  ],
  crowding: [
    ['over', 'Over the ceiling', 'more active providers than the ceiling'],
    ['several', 'Several providers', 'two providers or more, within the ceiling'],
    ['one', 'One provider', 'a single active provider'],
    ['none', 'No provider', 'no active provider'],
  ],
};

function needsState(cell) {
  const n = cell.needs;
  if (!n || n.total === 0) return 'none';
  if (n.unmet > 0) return 'unmet';
  if (n.duplicated > 0) return 'duplicated';
  return 'covered';
}

function crowdingState(cell) {
  if (cell.overCeiling) return 'over';
  if (cell.activeProviders >= 2) return 'several';
  if (cell.activeProviders === 1) return 'one';
  return 'none';
}

function needsLabel(cell) {
  const n = cell.needs;
  if (!n) return 'needs not by cell';
  if (n.total === 0) return 'no needs';
  return `${n.unmet} unmet · ${n.covered} cov · ${n.duplicated} dup`;
}

function crowdingLabel(cell) {
  const hhi = cell.hhi === null ? '' : ` · HHI ${cell.hhi.toFixed(2)}`;
  return `${cell.activeProviders} prov${hhi}`;
}

/** The heatmap view. */
export function heatmap(panel, context) {
  let settings = {
    columns: 'PRIORITY_AREA',
    colour: 'needs',
    currency: 'USD',
    ceiling: '5',
    country: context.viewer.role === 'RECIPIENT' ? context.viewer.country || '' : '',
    region: '',
    priorityArea: '',
    sector: '',
  };
  let matrix = null;
  let dirty = true;
  let timer = null;
  let opened = null;

  const form = h('form', { class: 'filters', 'aria-label': 'Heatmap filters' });
  const grid = h('div', { class: 'heatmap-wrap' });
  const detail = h('section', { class: 'detail', 'aria-live': 'polite', hidden: true });
  const legend = h('div', { class: 'legend' });
  fill(panel, h('h2', {}, 'Coverage heatmap'), form, legend, grid, detail);
  drawForm();

  function drawForm() {
    fill(
      form,
      field('Columns', select('columns', [['PRIORITY_AREA', 'Priority areas'], ['DAC_SECTOR', 'DAC sectors']], settings.columns)),
      field('Colour by', select('colour', [['needs', 'Coverage of needs'], ['crowding', 'Crowding (providers, HHI)']], settings.colour)),
      field('Country', h('input', { name: 'country', value: settings.country, size: 3, maxlength: 2, placeholder: 'KE', autocomplete: 'off' })),
      field('Region', h('input', { name: 'region', value: settings.region, size: 4, placeholder: '289', autocomplete: 'off' })),
      field('Priority area', select('priorityArea', [['', 'Any'], ...priorityAreas], settings.priorityArea)),
      field('Sector', h('input', { name: 'sector', value: settings.sector, size: 6, maxlength: 5, placeholder: '15130', autocomplete: 'off' })),
      field('Currency', h('input', { name: 'currency', value: settings.currency, size: 4, maxlength: 3, required: true, autocomplete: 'off' })),
      field('Provider ceiling', h('input', { name: 'ceiling', type: 'number', min: 0, value: settings.ceiling, required: true, class: 'narrow' })),
      h('button', { type: 'submit' }, 'Show'),
    );
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    settings = { ...settings, ...values(form) };
    settings.currency = settings.currency.toUpperCase();
    settings.country = settings.country.toUpperCase();
    opened = null;
    detail.hidden = true;
    load();
  });
  // Changing how cells are coloured needs no new answer.
  form.addEventListener('change', (event) => {
    if (event.target.name === 'colour' && matrix) {
      settings.colour = event.target.value;
      draw();
    }
  });

  function filter() {
    const f = {};
    for (const key of ['country', 'region', 'priorityArea', 'sector']) if (settings[key]) f[key] = settings[key];
    return Object.keys(f).length ? f : null;
  }

  async function load() {
    dirty = false;
    if (!matrix) fill(grid, status('loading', 'Loading the coverage matrix…'));
    grid.setAttribute('aria-busy', 'true');
    try {
      const data = await gql(MATRIX, {
        columns: settings.columns,
        currency: settings.currency,
        filter: filter(),
        ceiling: Number(settings.ceiling),
      });
      matrix = data.coverageMatrix;
      draw();
      if (opened) openCell(opened.row, opened.column, false);
    } catch (error) {
      matrix = null;
      fill(grid, status('error', `The coverage matrix could not be loaded. ${explain(error)}`));
    } finally {
      grid.removeAttribute('aria-busy');
    }
  }

  function draw() {
    const states = LEGENDS[settings.colour];
    fill(
      legend,
      h('h3', { class: 'visually-hidden' }, 'Legend'),
      h(
        'ul',
        {},
        states.map(([state, label, explanation]) =>
          h('li', {}, h('span', { class: `swatch ${settings.colour}-${state}`, 'aria-hidden': 'true' }), h('strong', {}, label), ` — ${explanation}`),
        ),
        h('li', {}, h('span', { class: 'flag-mark', 'aria-hidden': 'true' }, '⚑'), h('strong', {}, 'Open flags'), ' — overlap flags not yet reviewed'),
      ),
    );
    if (matrix.rows.length === 0) {
      fill(grid, status('empty', 'No published activities or needs in this scope.'));
      return;
    }
    const columns = new Map();
    for (const row of matrix.rows) for (const cell of row.cells) columns.set(cell.column, cell.columnName);
    const order = [...columns.keys()].sort();
    const table = h(
      'table',
      { class: 'heatmap' },
      h('caption', {}, `${matrix.rows.length} rows × ${order.length} ${matrix.columns === 'DAC_SECTOR' ? 'DAC sectors' : 'priority areas'}; budgets in ${matrix.currency}; ceiling ${matrix.providerCeiling} providers`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, matrix.columns === 'DAC_SECTOR' ? 'Country / sector' : 'Country / area'), order.map((c) => h('th', { scope: 'col' }, columns.get(c))))),
      h(
        'tbody',
        {},
        matrix.rows.map((row) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, `${row.name} `, h('span', { class: 'code' }, row.kind === 'REGION' ? `region ${row.code}` : row.code)),
            order.map((column) => {
              const cell = row.cells.find((c) => c.column === column);
              return h('td', {}, cell ? cellButton(row, cell) : h('span', { class: 'empty-cell' }, '—'));
            }),
          ),
        ),
      ),
    );
    fill(grid, table);
  }

  function cellButton(row, cell) {
    const needs = settings.colour === 'needs';
    const state = needs ? needsState(cell) : crowdingState(cell);
    const label = needs ? needsLabel(cell) : crowdingLabel(cell);
    const legendWords = LEGENDS[settings.colour].find(([s]) => s === state)[1];
    const flags = cell.openFlags.total;
    return h(
      'button',
      {
        type: 'button',
        class: `cell ${settings.colour}-${state}`,
        dataset: { row: row.code, column: cell.column },
        'aria-label': `${row.name}, ${cell.columnName}: ${legendWords}; ${label}; ${cell.activities} activities, ${cell.activeProviders} active providers, ${flags} open flags`,
        onclick: () => openCell(row.code, cell.column, true),
      },
      h('span', { class: 'cell-state' }, legendWords),
      h('span', { class: 'cell-figures' }, label),
      h('span', { class: 'cell-figures' }, `${cell.activities} act`, flags > 0 ? h('span', { class: 'flag-mark' }, ` ⚑ ${flags}`) : ''),
    );
  }

  async function openCell(rowCode, column, focus) {
    const row = matrix && matrix.rows.find((r) => r.code === rowCode);
    const cell = row && row.cells.find((c) => c.column === column);
    if (!cell) {
      detail.hidden = true;
      opened = null;
      return;
    }
    opened = { row: rowCode, column };
    const byArea = matrix.columns === 'PRIORITY_AREA';
    const heading = h('h3', { tabindex: '-1' }, `${row.name} × ${cell.columnName}`);
    const body = h('div', {}, status('loading', 'Loading the cell’s activities, needs and flags…'));
    fill(
      detail,
      h('button', { type: 'button', class: 'close', onclick: () => ((detail.hidden = true), (opened = null)) }, 'Close'),
      heading,
      h(
        'dl',
        { class: 'figures' },
        h('dt', {}, 'Activities'), h('dd', {}, cell.activities),
        h('dt', {}, 'Active providers'), h('dd', {}, `${cell.activeProviders}${cell.overCeiling ? ' (over the ceiling)' : ''}`),
        h('dt', {}, 'Providers'), h('dd', {}, cell.providers.join(', ') || '—'),
        h('dt', {}, 'Active budget'), h('dd', {}, money({ amount: cell.activeBudget, currency: matrix.currency }), cell.unconverted.length ? ` (+ ${cell.unconverted.map(money).join(', ')} unconverted)` : ''),
        h('dt', {}, 'HHI'), h('dd', {}, cell.hhi === null ? '—' : `${cell.hhi.toFixed(3)} (by ${words(cell.shareBasis).toLowerCase()})`),
        h('dt', {}, 'Needs'), h('dd', {}, needsLabel(cell)),
        h('dt', {}, 'Open flags'), h('dd', {}, cell.openFlags.total),
      ),
      body,
    );
    detail.hidden = false;
    if (focus) heading.focus();
    if (row.kind === 'REGION') {
      openRegionCell(body, row, column, byArea);
      return;
    }
    const activities = { recipientCountry: row.code, publication: 'PUBLISHED' };
    if (byArea) activities.priorityArea = column;
    else activities.sector = column;
    try {
      const data = await gql(CELL_DETAIL, {
        activities,
        needs: { recipientCountry: row.code, priorityArea: byArea ? column : null },
        flags: { country: row.code, status: ['OPEN'] },
        withNeeds: byArea,
      });
      if (!opened || opened.row !== rowCode || opened.column !== column) return;
      const inCell = (a) => (byArea ? a.priorityAreas.includes(column) : a.sectors.some((s) => s.code === column));
      const flags = data.overlapFlags.nodes.filter((f) => inCell(f.activityA) || inCell(f.activityB));
      fill(
        body,
        activityList(data.activities),
        byArea
          ? [
              h('h4', {}, `Needs (${data.needs.totalCount})`),
              list(data.needs.nodes, (n) => [
                h('span', { class: `badge coverage-${n.coverage.state.toLowerCase()}` }, words(n.coverage.state)), ' ',
                h('strong', {}, n.title), ` — ${words(n.priority)} priority`,
              ], 'No published need here.'),
            ]
          : h('p', { class: 'hint' }, 'Needs are published by priority area; choose priority-area columns to see them.'),
        h('h4', {}, `Open flags (${flags.length})`),
        flagList(flags),
        data.overlapFlags.totalCount > data.overlapFlags.nodes.length
          ? h('p', { class: 'hint' }, `Among the ${data.overlapFlags.nodes.length} highest-scoring of ${row.name}'s ${data.overlapFlags.totalCount} open flags; the flag queue lists them all.`)
          : '',
        flags.length ? h('p', {}, h('a', { href: '#flags' }, 'Review them in the flag queue')) : '',
      );
    } catch (error) {
      fill(body, status('error', `The cell could not be opened. ${explain(error)}`));
    }
  }

  /** A regional row: its activities by region, and the open flags they take part in. */
  async function openRegionCell(body, row, column, byArea) {
    const activities = { recipientRegion: row.code, publication: 'PUBLISHED' };
    if (byArea) activities.priorityArea = column;
    else activities.sector = column;
    try {
      const data = await gql(REGION_DETAIL, { activities });
      if (!opened || opened.row !== row.code || opened.column !== column) return;
      const flags = new Map();
      for (const a of data.activities.nodes) for (const f of a.overlaps.nodes) flags.set(f.id, f);
      fill(
        body,
        activityList(data.activities),
        data.activities.totalCount > data.activities.nodes.length
          ? h('p', { class: 'hint' }, `The first ${data.activities.nodes.length} are listed, with their open flags; narrow the heatmap by sector or priority area to see others.`)
          : '',
        h('p', { class: 'hint' }, 'Needs are published by countries, so regional rows have none.'),
        h('h4', {}, `Open flags (${flags.size})`),
        flagList([...flags.values()].sort((a, b) => b.score - a.score)),
      );
    } catch (error) {
      fill(body, status('error', `The cell could not be opened. ${explain(error)}`));
    }
  }

  return {
    show() {
      if (dirty) load();
    },
    /** The registry changed: refresh soon if shown, else when next shown. */
    stale() {
      dirty = true;
      if (panel.hidden) return;
      clearTimeout(timer);
      timer = setTimeout(load, 1000);
    },
  };
}

/** A cell's published activities, with their count. */
function activityList(activities) {
  return [
    h('h4', {}, `Activities (${activities.totalCount})`),
    list(activities.nodes, (a) => [
      h('strong', {}, a.title), ` — ${a.reportingOrg.name}; ${words(a.status)}; ${money(a.budget)}`,
    ], 'No published activity here.'),
  ];
}

/** A cell's open flags, highest score first. */
function flagList(flags) {
  return list(flags, (f) => [
    h('span', { class: 'badge score' }, `Score ${f.score}`), ' ', h('strong', {}, words(f.class)), ': ',
    `${f.activityA.title} (${f.activityA.reportingOrg.name}) and ${f.activityB.title} (${f.activityB.reportingOrg.name})`,
  ], 'No open flag here.');
}

function list(items, render, empty) {
  if (items.length === 0) return h('p', { class: 'state state-empty' }, empty);
  return h('ul', { class: 'items' }, items.map((item) => h('li', {}, render(item))));
}
