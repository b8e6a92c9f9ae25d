//! Live events over `/graphql/ws`: overlap flags raised or changed, needs published, coverage
//! changed. Each stream carries only what the subscriber may see.

use super::context::{principal, registry, store};
use super::need::Need;
use super::overlap::OverlapFlag;
use crate::error::ApiError;
use aidgraph_domain::access::Principal;
use aidgraph_persistence::events::{Event, Topic};
use aidgraph_persistence::{Store, needs, overlap};
use aidgraph_registry::Registry;
use async_graphql::{Context, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

/// Subscriptions.
pub struct SubscriptionRoot;

/// A subscriber's events, in commit order. One that falls behind the in-process broadcast
/// (which keeps the latest 1,024) reads what it missed from the outbox, a hundred rows at a
/// time, so a slow subscriber is late rather than short of events.
async fn events(registry: &Registry) -> impl Stream<Item = Event> + use<> {
    let receiver = registry.events().subscribe();
    let store = registry.store();
    // Where this subscriber starts: what it misses from here is read from the outbox.
    let last = match aidgraph_persistence::events::last_id(store.db()).await {
        Ok(last) => Some(last.unwrap_or(0)),
        Err(e) => {
            tracing::warn!(error = %e, "reading the outbox position failed");
            None
        }
    };
    let state = Follow {
        receiver,
        store: store.clone(),
        last,
        gap: None,
        pending: std::collections::VecDeque::new(),
    };
    futures_util::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(event) = s.pending.pop_front() {
                s.last = Some(event.id);
                return Some((event, s));
            }
            if let Some((after, held)) = s.gap.take() {
                s.fill(after, held).await;
                continue;
            }
            match s.receiver.recv().await {
                Ok(event) => s.pending.push_back(event),
                Err(RecvError::Lagged(missed)) => match s.last {
                    Some(last) => {
                        tracing::debug!(missed, "a subscriber fell behind; reading the outbox");
                        // The gap ends at the next event the broadcast still holds.
                        match s.receiver.recv().await {
                            Ok(next) => s.gap = Some((last, next)),
                            Err(_) => return None,
                        }
                    }
                    None => tracing::warn!(
                        missed,
                        "a subscriber fell behind and its place in the outbox is unknown; those events were skipped"
                    ),
                },
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// Where a subscriber is in the event stream.
struct Follow {
    receiver: tokio::sync::broadcast::Receiver<Event>,
    store: Store,
    /// The outbox id of the last event handed on.
    last: Option<i64>,
    /// Events skipped: after this outbox id, up to the held event that came next.
    gap: Option<(i64, Event)>,
    pending: std::collections::VecDeque<Event>,
}

impl Follow {
    /// Queues the next rows of the gap after outbox id `after`, or, once it is read, `held`.
    async fn fill(&mut self, after: i64, held: Event) {
        match aidgraph_persistence::events::between(self.store.db(), after, held.id, 100).await {
            Ok(missed) if !missed.is_empty() => {
                let through = missed.last().map_or(after, |e| e.id);
                self.pending.extend(missed);
                self.gap = Some((through, held));
            }
            Ok(_) => self.pending.push_back(held),
            Err(e) => {
                tracing::warn!(error = %e, "reading missed events failed; they were skipped");
                self.pending.push_back(held);
            }
        }
    }
}

/// Counts what reaches a subscriber, by topic.
fn delivered<T>(topic: Topic, stream: impl Stream<Item = T>) -> impl Stream<Item = T> {
    futures_util::StreamExt::inspect(stream, move |_| {
        metrics::counter!("aidgraph_events_delivered_total", "topic" => topic.as_str())
            .increment(1);
    })
}

fn upper(c: Option<String>) -> Option<String> {
    c.map(|c| c.trim().to_ascii_uppercase())
}

async fn need_event(
    store: &Store,
    who: &Principal,
    event: &Event,
    topic: Topic,
    country: Option<&str>,
) -> Option<Need> {
    if event.topic != topic || country.is_some_and(|c| !event.countries.iter().any(|e| e == c)) {
        return None;
    }
    match needs::get_need(store.db(), who, event.subject_id).await {
        Ok(found) => found.map(Need),
        Err(e) => {
            tracing::warn!(error = %e, "loading a need for a subscriber failed");
            None
        }
    }
}

/// Live events over `/graphql/ws`, each carrying only what the subscriber may see.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Overlap flags raised, changed or reviewed, in `country` and/or involving `provider`.
    async fn overlap_flag_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only flags whose pair shares this country (ISO 3166-1 alpha-2).")]
        country: Option<String>,
        #[graphql(desc = "Only flags where this organisation (ref) reports either activity.")]
        provider: Option<String>,
    ) -> Result<impl Stream<Item = OverlapFlag> + use<>, ApiError> {
        principal(ctx)?;
        let store = store(ctx)?.clone();
        let country = upper(country);
        let stream = events(registry(ctx)?).await;
        Ok(delivered(
            Topic::OverlapFlag,
            futures_util::StreamExt::filter_map(stream, move |event| {
                let store = store.clone();
                let country = country.clone();
                let provider = provider.clone();
                async move {
                    if event.topic != Topic::OverlapFlag {
                        return None;
                    }
                    if provider
                        .as_ref()
                        .is_some_and(|p| !event.providers.iter().any(|e| e == p))
                    {
                        return None;
                    }
                    let flag = overlap::by_ids(store.db(), &[event.subject_id])
                        .await
                        .ok()?
                        .remove(&event.subject_id)?;
                    if country
                        .as_ref()
                        .is_some_and(|c| !flag.countries.iter().any(|f| f == c))
                    {
                        return None;
                    }
                    Some(OverlapFlag(flag))
                }
            }),
        ))
    }

    /// Needs as they are published, in `country`.
    async fn need_published(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only needs of this recipient country (ISO 3166-1 alpha-2).")]
        country: Option<String>,
    ) -> Result<impl Stream<Item = Need> + use<>, ApiError> {
        let who = principal(ctx)?.clone();
        let store = store(ctx)?.clone();
        let country = upper(country);
        let stream = events(registry(ctx)?).await;
        Ok(delivered(
            Topic::NeedPublished,
            futures_util::StreamExt::filter_map(stream, move |event| {
                let (store, who, country) = (store.clone(), who.clone(), country.clone());
                async move {
                    need_event(
                        &store,
                        &who,
                        &event,
                        Topic::NeedPublished,
                        country.as_deref(),
                    )
                    .await
                }
            }),
        ))
    }

    /// Needs whose coverage may have changed (an activity linked, unlinked, changed, or a flag
    /// reviewed), in `country`.
    async fn coverage_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only needs of this recipient country (ISO 3166-1 alpha-2).")]
        country: Option<String>,
    ) -> Result<impl Stream<Item = Need> + use<>, ApiError> {
        let who = principal(ctx)?.clone();
        let store = store(ctx)?.clone();
        let country = upper(country);
        let stream = events(registry(ctx)?).await;
        Ok(delivered(
            Topic::Coverage,
            futures_util::StreamExt::filter_map(stream, move |event| {
                let (store, who, country) = (store.clone(), who.clone(), country.clone());
                async move {
                    need_event(&store, &who, &event, Topic::Coverage, country.as_deref()).await
                }
            }),
        ))
    }
}
