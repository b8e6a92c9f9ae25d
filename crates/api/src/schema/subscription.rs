//! Live events over `/graphql/ws`: overlap flags raised or changed, needs published, coverage
//! changed. Each stream carries only what the subscriber may see.

use super::context::{principal, store};
use super::need::Need;
use super::overlap::OverlapFlag;
use crate::error::ApiError;
use aidgraph_domain::access::Principal;
use aidgraph_persistence::events::{Event, Topic};
use aidgraph_persistence::{Store, needs, overlap};
use async_graphql::{Context, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

/// Subscriptions.
pub struct SubscriptionRoot;

fn events(store: &Store) -> impl Stream<Item = Event> + use<> {
    let receiver = store.events().subscribe();
    futures_util::stream::unfold(receiver, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(event) => return Some((event, rx)),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscriber fell behind; events were skipped");
                }
                Err(RecvError::Closed) => return None,
            }
        }
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

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Overlap flags raised, changed or reviewed, in `country` and/or involving `provider`.
    async fn overlap_flag_changed(
        &self,
        ctx: &Context<'_>,
        country: Option<String>,
        provider: Option<String>,
    ) -> Result<impl Stream<Item = OverlapFlag> + use<>, ApiError> {
        principal(ctx)?;
        let store = store(ctx)?.clone();
        let country = upper(country);
        let stream = events(&store);
        Ok(futures_util::StreamExt::filter_map(stream, move |event| {
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
        }))
    }

    /// Needs as they are published, in `country`.
    async fn need_published(
        &self,
        ctx: &Context<'_>,
        country: Option<String>,
    ) -> Result<impl Stream<Item = Need> + use<>, ApiError> {
        let who = principal(ctx)?.clone();
        let store = store(ctx)?.clone();
        let country = upper(country);
        let stream = events(&store);
        Ok(futures_util::StreamExt::filter_map(stream, move |event| {
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
        }))
    }

    /// Needs whose coverage may have changed (an activity linked, unlinked, changed, or a flag
    /// reviewed), in `country`.
    async fn coverage_changed(
        &self,
        ctx: &Context<'_>,
        country: Option<String>,
    ) -> Result<impl Stream<Item = Need> + use<>, ApiError> {
        let who = principal(ctx)?.clone();
        let store = store(ctx)?.clone();
        let country = upper(country);
        let stream = events(&store);
        Ok(futures_util::StreamExt::filter_map(stream, move |event| {
            let (store, who, country) = (store.clone(), who.clone(), country.clone());
            async move { need_event(&store, &who, &event, Topic::Coverage, country.as_deref()).await }
        }))
    }
}
