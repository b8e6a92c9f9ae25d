// Words for the API's codes, so the page never shows an enum to a reader.

const PRIORITY_AREAS = {
  CRIMINAL_JUSTICE_RESPONSE: 'Criminal justice response',
  DATA_COLLECTION_CAPACITY: 'Data collection capacity',
  IMPLEMENTATION_INFORMATION: 'Implementation information',
  INTERNATIONAL_COOPERATION: 'International cooperation',
  PROTOCOLS_IMPLEMENTATION: 'Protocols implementation',
};

const CLASSES = {
  DOUBLE_REPORTING: 'Double reporting',
  LIKELY_DUPLICATION: 'Likely duplication',
  POSSIBLE_OVERLAP: 'Possible overlap',
  COORDINATED: 'Coordinated',
};

const REVIEWS = {
  OPEN: 'Open',
  CONFIRMED_DUPLICATE: 'Confirmed duplicate',
  COMPLEMENTARY: 'Complementary',
  COORDINATED: 'Coordinated',
  DISMISSED: 'Dismissed',
};

const COVERAGE = { UNMET: 'Unmet', COVERED: 'Covered', DUPLICATED: 'Duplicated' };

/** The priority areas, in the API's order, as `[code, words]`. */
export const priorityAreas = Object.entries(PRIORITY_AREAS);

/** The review decisions a reviewer can record, as `[code, words, explanation]`. */
export const decisions = [
  ['CONFIRMED_DUPLICATE', REVIEWS.CONFIRMED_DUPLICATE, 'the two really duplicate each other'],
  ['COMPLEMENTARY', REVIEWS.COMPLEMENTARY, 'they complement each other; they join one coordination group'],
  ['COORDINATED', REVIEWS.COORDINATED, 'their providers coordinate; they join one coordination group'],
  ['DISMISSED', REVIEWS.DISMISSED, 'no concern'],
];

/** Words for an enum value of the API, falling back to a readable form of the code. */
export function words(code) {
  if (code === null || code === undefined) return '';
  return (
    PRIORITY_AREAS[code] ||
    CLASSES[code] ||
    REVIEWS[code] ||
    COVERAGE[code] ||
    code.charAt(0) + code.slice(1).toLowerCase().replaceAll('_', ' ')
  );
}

/** A money amount as `450,000 GBP`. */
export function money(m) {
  if (!m) return '—';
  const amount = Number(m.amount);
  const shown = Number.isFinite(amount) ? amount.toLocaleString('en', { maximumFractionDigits: 0 }) : m.amount;
  return `${shown} ${m.currency}`;
}
