"""A partner system talking to aidgraph with the `gql` package: a query with variables, a
mutation, and a subscription that receives the event the mutation causes.

    AIDGRAPH_URL=http://127.0.0.1:8080/graphql \
    AIDGRAPH_RECIPIENT_TOKEN=… AIDGRAPH_VIEWER_TOKEN=… \
    python registry_client.py

The recipient token is Kenya's (KE); the viewer token reads and listens.
"""

import asyncio
import os
import sys
import uuid

from gql import Client, gql
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.websockets import WebsocketsTransport

URL = os.environ.get("AIDGRAPH_URL", "http://127.0.0.1:8080/graphql")
WS_URL = URL.replace("http", "ws", 1) + "/ws"

ACTIVITIES_IN = gql(
    """
    query ActivitiesIn($country: String!, $first: Int!) {
      activities(filter: { recipientCountry: $country }, first: $first) {
        totalCount
        nodes { iatiIdentifier title status }
      }
    }
    """
)

CREATE_ANALYSIS = gql(
    """
    mutation CreateAnalysis($input: NeedsAnalysisInput!) {
      createNeedsAnalysis(input: $input) { id needs { id title } }
    }
    """
)

PUBLISH_ANALYSIS = gql(
    """
    mutation PublishAnalysis($id: ID!) {
      publishNeedsAnalysis(id: $id) { status }
    }
    """
)

NEED_PUBLISHED = gql(
    """
    subscription NeedPublished { needPublished(country: "KE") { id title } }
    """
)


def http_client(token: str) -> Client:
    transport = AIOHTTPTransport(url=URL, headers={"Authorization": f"Bearer {token}"})
    return Client(transport=transport)


async def main() -> int:
    viewer = os.environ["AIDGRAPH_VIEWER_TOKEN"]
    recipient = os.environ["AIDGRAPH_RECIPIENT_TOKEN"]

    # A query with variables.
    async with http_client(viewer) as session:
        page = await session.execute(
            ACTIVITIES_IN, variable_values={"country": "KE", "first": 5}
        )
    print(f"query: {page['activities']['totalCount']} activities in Kenya")

    # A subscription, with the token on the upgrade request as Apollo-style clients send it.
    # gql 4.0 looks for the server's chosen subprotocol under the header name
    # `Sec-WebSocket-Protocol` exactly, while HTTP/1.1 servers send it in lower case, so it
    # would not notice `graphql-transport-ws`; the older `graphql-ws` protocol, which aidgraph
    # also speaks, is what gql then assumes.
    subscriptions = WebsocketsTransport(
        url=WS_URL,
        headers={"Authorization": f"Bearer {viewer}"},
        subprotocols=[WebsocketsTransport.APOLLO_SUBPROTOCOL],
    )
    title = f"Case management training {uuid.uuid4().hex[:8]}"
    async with Client(transport=subscriptions) as live:
        events = live.subscribe(NEED_PUBLISHED)
        first_event = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.5)

        # A mutation: Kenya publishes a needs analysis, which the subscription hears.
        async with http_client(recipient) as session:
            created = await session.execute(
                CREATE_ANALYSIS,
                variable_values={
                    "input": {
                        "recipientCountry": "KE",
                        "source": "SELF_ASSESSMENT_QUESTIONNAIRE",
                        "needs": [
                            {
                                "title": title,
                                "provisions": ["UNTOC-18"],
                                "priorityArea": "INTERNATIONAL_COOPERATION",
                                "assistanceTypes": ["TRAINING"],
                            }
                        ],
                    }
                },
            )
            analysis = created["createNeedsAnalysis"]["id"]
            await session.execute(PUBLISH_ANALYSIS, variable_values={"id": analysis})
        print(f"mutation: needs analysis {analysis} published")

        event = await asyncio.wait_for(first_event, timeout=10)
    heard = event["needPublished"]["title"]
    print(f"subscription: need published: {heard}")
    return 0 if heard == title else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
