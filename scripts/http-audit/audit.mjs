// The GraphQL-over-HTTP audit of the `graphql-http` package (the specification's reference
// implementation) against a running aidgraph: every audit must pass, with no warning.
//
//   node audit.mjs http://127.0.0.1:8080/graphql TOKEN
import { serverAudits } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs URL TOKEN');
  process.exit(2);
}
// The audits send no token; aidgraph answers every operation only for a caller.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

// `ok`, `notice` (a MAY not taken), `warn` (a SHOULD) or `error` (a MUST), by audit.
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  if (result.status !== 'ok') {
    console.log(`${result.status.toUpperCase()} ${audit.name}: ${result.reason}`);
  }
}
console.log(
  `graphql-http audit: ${counts.ok} passed, ${counts.notice} notices, ${counts.warn} warnings, ${counts.error} failures`,
);
process.exit(counts.ok === Object.values(counts).reduce((a, b) => a + b, 0) ? 0 : 1);
