// A partner system in TypeScript: a typed query over HTTP, and a subscription over
// graphql-ws that hears the need a recipient publishes meanwhile.
//
//   AIDGRAPH_URL=http://127.0.0.1:8080/graphql \
//   AIDGRAPH_RECIPIENT_TOKEN=… AIDGRAPH_VIEWER_TOKEN=… npm start
//
// The recipient token is Kenya's (KE); the viewer token reads and listens. Types come from
// schema.graphql: `npm run codegen` writes src/gql/, `npm run typecheck` checks this file.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql } from './gql/index.js';

const url = process.env.AIDGRAPH_URL ?? 'http://127.0.0.1:8080/graphql';
const viewer = required('AIDGRAPH_VIEWER_TOKEN');
const recipient = required('AIDGRAPH_RECIPIENT_TOKEN');

const ActivitiesIn = graphql(`
  query ActivitiesInCountry($country: String!, $first: Int!) {
    activities(filter: { recipientCountry: $country }, first: $first) {
      totalCount
      nodes {
        iatiIdentifier
        title
        status
      }
    }
  }
`);

const CreateAnalysis = graphql(`
  mutation CreateKenyanAnalysis($input: NeedsAnalysisInput!) {
    createNeedsAnalysis(input: $input) {
      id
    }
  }
`);

const PublishAnalysis = graphql(`
  mutation PublishKenyanAnalysis($id: ID!) {
    publishNeedsAnalysis(id: $id) {
      status
    }
  }
`);

const NeedPublished = graphql(`
  subscription KenyanNeedPublished {
    needPublished(country: "KE") {
      id
      title
    }
  }
`);

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

/** One operation over HTTP, typed by its document. */
async function request<Result, Variables>(
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  token: string,
): Promise<Result> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: Result; errors?: { message: string }[] };
  if (!response.ok || body.errors || !body.data) {
    throw new Error(`HTTP ${response.status}: ${JSON.stringify(body.errors)}`);
  }
  return body.data;
}

const page = await request(ActivitiesIn, { country: 'KE', first: 5 }, viewer);
console.log(`query: ${page.activities.totalCount} activities in Kenya`);

const live = createClient({
  url: url.replace(/^http/, 'ws') + '/ws',
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${viewer}` },
});
const events = live.iterate({ query: print(NeedPublished) });
const firstEvent = events.next();
await new Promise((resolve) => setTimeout(resolve, 500));

const title = `Asset recovery training ${Math.random().toString(36).slice(2, 8)}`;
const created = await request(
  CreateAnalysis,
  {
    input: {
      recipientCountry: 'KE',
      source: 'SELF_ASSESSMENT_QUESTIONNAIRE',
      needs: [
        {
          title,
          provisions: ['UNTOC-18'],
          priorityArea: 'INTERNATIONAL_COOPERATION',
          assistanceTypes: ['TRAINING'],
        },
      ],
    },
  },
  recipient,
);
const analysis = created.createNeedsAnalysis.id;
await request(PublishAnalysis, { id: analysis }, recipient);
console.log(`mutation: needs analysis ${analysis} published`);

const timeout = new Promise<never>((_, reject) =>
  setTimeout(() => reject(new Error('no event within 10 s')), 10_000),
);
const event = await Promise.race([firstEvent, timeout]);
const heard = (event.value?.data as { needPublished?: { title: string } } | undefined)
  ?.needPublished?.title;
console.log(`subscription: need published: ${heard}`);
await events.return?.();
await live.dispose();
process.exit(heard === title ? 0 : 1);
