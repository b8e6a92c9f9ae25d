// GraphQL over HTTP with the signed-in token. Errors carry the API's code
// (`extensions.code`) so the page can say what happened: an expired token, a refused action.

/** An error the API (or the network) reported. */
export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }

  /** Whether the token was refused, so the user must sign in again. */
  get unauthenticated() {
    return this.code === 'UNAUTHENTICATED' || this.status === 401;
  }
}

const listeners = new Set();

/** Calls `listener(error)` whenever a request is refused for its token. */
export function onUnauthenticated(listener) {
  listeners.add(listener);
}

let token = '';

/** The token every request carries from now on. */
export function useToken(value) {
  token = value;
}

/** Runs one operation; resolves to its `data`, or throws an `ApiError`. */
export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/graphql-response+json, application/json',
        Authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new ApiError(`The service could not be reached (${e.message}).`, 'NETWORK', 0);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The service answered HTTP ${response.status} without a GraphQL answer.`, 'BAD_RESPONSE', response.status);
  }
  if (body.errors && body.errors.length > 0) {
    const first = body.errors[0];
    const error = new ApiError(first.message, first.extensions?.code || 'ERROR', response.status);
    if (error.unauthenticated) for (const listener of listeners) listener(error);
    throw error;
  }
  return body.data;
}

/** A sentence for an error, naming what kind of failure it was. */
export function explain(error) {
  if (!(error instanceof ApiError)) return `Something went wrong in the page: ${error.message}`;
  switch (error.code) {
    case 'FORBIDDEN':
      return `Refused: ${error.message}`;
    case 'UNAUTHENTICATED':
      return `Not signed in: ${error.message}`;
    case 'BAD_USER_INPUT':
      return `Not accepted: ${error.message}`;
    case 'RATE_LIMITED':
      return 'Too many requests from this token; wait a moment and try again.';
    case 'SERVICE_UNAVAILABLE':
      return `The service is busy or its database is unreachable: ${error.message}`;
    default:
      return error.message;
  }
}
