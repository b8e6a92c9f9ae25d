//! GraphQL over WebSocket (`graphql-transport-ws`, and the older `graphql-ws`) under the rules
//! HTTP callers live by.
//!
//! async-graphql speaks the protocol; this module stands between it and the socket:
//! - the token comes from the upgrade request's `Authorization` header or from
//!   `connection_init`; a refused one closes the socket with 4403;
//! - the token's expiry holds for the whole connection: when it passes, every open operation
//!   ends with an `UNAUTHENTICATED` error and the socket closes with 4403;
//! - each operation started spends the caller's HTTP rate budget, and at most
//!   [`MAX_OPEN_OPERATIONS`] may be open on one connection;
//! - when the service stops, open operations are completed and the socket closes with 1001.

use crate::auth::{AuthError, Verified};
use crate::loaders;
use crate::router::AppState;
use async_graphql::Data;
use async_graphql::http::{
    ClientMessage, WebSocket as Engine, WebSocketProtocols as Protocols, WsMessage,
};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most operations (subscriptions and queries) open at once on one connection.
pub const MAX_OPEN_OPERATIONS: usize = 100;

/// How long a client has after the upgrade to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Close codes of the `graphql-transport-ws` protocol and RFC 6455.
mod close {
    /// Messages sent faster than they can be read (RFC 6455 "policy violation").
    pub const POLICY: u16 = 1008;
    /// The service is stopping (RFC 6455 "going away").
    pub const GOING_AWAY: u16 = 1001;
    /// A message that is not of the protocol.
    pub const BAD_REQUEST: u16 = 4400;
    /// An operation before `connection_ack`.
    pub const UNAUTHORIZED: u16 = 4401;
    /// A refused or expired token.
    pub const FORBIDDEN: u16 = 4403;
    /// No `connection_init` in time.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// An operation id already open.
    pub const DUPLICATE_ID: u16 = 4409;
}

/// The caller of a connection, once `connection_init` is accepted.
struct Session {
    subject: String,
    /// When the token stops being honoured.
    until: tokio::time::Instant,
}

/// Serves one upgraded socket until either side closes it, the token expires or the service
/// stops.
pub async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: Protocols,
    upgrade_token: Option<String>,
) {
    let (mut sink, mut source) = socket.split();
    let (to_engine, from_client) =
        tokio::sync::mpsc::channel::<serde_json::Result<ClientMessage>>(64);
    // The accepted caller, handed to the engine when it runs `connection_init`.
    let accepted: Arc<Mutex<Option<Data>>> = Arc::default();
    let handed = accepted.clone();
    let engine =
        Engine::from_message_stream(state.schema.clone(), tokio_stream_of(from_client), protocol)
            .on_connection_init(move |_| async move {
                handed
                    .lock()
                    .ok()
                    .and_then(|mut slot| slot.take())
                    .ok_or_else(|| async_graphql::Error::new(AuthError::Missing.to_string()))
            });
    let mut engine = Box::pin(engine);
    let mut session: Option<Session> = None;
    let mut open: HashSet<String> = HashSet::new();
    let mut stopping = state.stopping.subscribe();
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(init_deadline);

    metrics::counter!("aidgraph_websocket_connections_total").increment(1);
    // Open operations, as this socket last counted them into the gauge.
    let mut counted = 0usize;
    let ending: Option<(u16, String)> = loop {
        if open.len() != counted {
            metrics::gauge!("aidgraph_subscriptions_open")
                .increment(open.len() as f64 - counted as f64);
            counted = open.len();
        }
        let until = session.as_ref().map(|s| s.until);
        let expiry = async move {
            match until {
                Some(until) => tokio::time::sleep_until(until).await,
                None => std::future::pending().await,
            }
        };
        let stop = async {
            // The guard the wait returns may not be held across the awaits below.
            drop(stopping.wait_for(|stop| *stop).await);
        };
        tokio::select! {
            () = stop => {
                for id in open.drain() {
                    let complete = json!({ "type": "complete", "id": id });
                    if sink.send(Message::text(complete.to_string())).await.is_err() {
                        break;
                    }
                }
                break Some((close::GOING_AWAY, "the service is stopping".into()));
            }
            () = expiry => {
                for id in open.drain() {
                    let error = operation_error(
                        protocol,
                        &id,
                        "UNAUTHENTICATED",
                        AuthError::Expired.to_string(),
                    );
                    if sink.send(Message::text(error)).await.is_err() {
                        break;
                    }
                }
                break Some((close::FORBIDDEN, "Forbidden: the token has expired".into()));
            }
            () = &mut init_deadline, if session.is_none() => {
                break Some((close::INIT_TIMEOUT, "Connection initialisation timeout".into()));
            }
            incoming = source.next() => {
                let parsed = match incoming {
                    Some(Ok(Message::Text(text))) => ClientMessage::from_bytes(text.as_str()),
                    Some(Ok(Message::Binary(bytes))) => ClientMessage::from_bytes(&bytes),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break None,
                };
                let message = match parsed {
                    Ok(message) => message,
                    Err(e) => break Some((close::BAD_REQUEST, truncated(format!("Invalid message received: {e}")))),
                };
                match message {
                    ClientMessage::ConnectionInit { payload } if session.is_none() => {
                        let token = upgrade_token
                            .clone()
                            .or_else(|| payload.as_ref().and_then(token_from_payload));
                        let verified = token
                            .ok_or(AuthError::Missing)
                            .and_then(|token| state.auth.verify_until(&token));
                        let Verified { principal, until } = match verified {
                            Ok(v) => v,
                            Err(e) => break Some((close::FORBIDDEN, truncated(format!("Forbidden: {e}")))),
                        };
                        let left = until
                            .signed_duration_since(chrono::Utc::now())
                            .to_std()
                            .unwrap_or_default();
                        session = Some(Session {
                            subject: principal.subject.clone(),
                            until: tokio::time::Instant::now() + left,
                        });
                        let mut data = Data::default();
                        data.insert(loaders::for_request(
                            state.store.clone(),
                            principal.clone(),
                            state.coverage.clone(),
                        ));
                        data.insert(principal);
                        if let Ok(mut slot) = accepted.lock() {
                            *slot = Some(data);
                        }
                        if let Err(ending) = forward(&to_engine, ClientMessage::ConnectionInit { payload }) {
                            break ending;
                        }
                    }
                    ClientMessage::Start { id, payload } => {
                        let Some(session) = &session else {
                            break Some((close::UNAUTHORIZED, "Unauthorized".into()));
                        };
                        if open.contains(&id) {
                            break Some((close::DUPLICATE_ID, truncated(format!("Subscriber for {id} already exists"))));
                        }
                        let refusal = if crate::router::spend(&state, &session.subject).is_err() {
                            Some(("RATE_LIMITED", "too many requests; slow down".to_owned()))
                        } else if open.len() >= MAX_OPEN_OPERATIONS {
                            Some((
                                "RATE_LIMITED",
                                format!("at most {MAX_OPEN_OPERATIONS} operations may be open on one connection; complete one first"),
                            ))
                        } else {
                            None
                        };
                        if let Some((code, message)) = refusal {
                            let error = operation_error(protocol, &id, code, message);
                            if sink.send(Message::text(error)).await.is_err() {
                                break None;
                            }
                            continue;
                        }
                        open.insert(id.clone());
                        if let Err(ending) = forward(&to_engine, ClientMessage::Start { id, payload }) {
                            break ending;
                        }
                    }
                    ClientMessage::Stop { id } => {
                        open.remove(&id);
                        if let Err(ending) = forward(&to_engine, ClientMessage::Stop { id }) {
                            break ending;
                        }
                    }
                    other => {
                        if let Err(ending) = forward(&to_engine, other) {
                            break ending;
                        }
                    }
                }
            }
            outgoing = engine.next() => {
                match outgoing {
                    Some(WsMessage::Text(text)) => {
                        if let Some(id) = completed_id(&text) {
                            open.remove(&id);
                        }
                        if sink.send(Message::text(text)).await.is_err() {
                            break None;
                        }
                    }
                    Some(WsMessage::Close(code, reason)) => break Some((code, reason)),
                    None => break None,
                }
            }
        }
    };
    metrics::gauge!("aidgraph_subscriptions_open").decrement(counted as f64);
    if let Some((code, reason)) = ending {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // The peer may already be gone; there is no one left to tell.
        drop(sink.send(Message::Close(Some(frame))).await);
    }
    drop(sink.close().await);
}

/// Hands a client message to the engine. A client that sends faster than the engine reads
/// is cut off (1008) rather than buffered without bound.
fn forward(
    to_engine: &tokio::sync::mpsc::Sender<serde_json::Result<ClientMessage>>,
    message: ClientMessage,
) -> Result<(), Option<(u16, String)>> {
    use tokio::sync::mpsc::error::TrySendError;
    match to_engine.try_send(Ok(message)) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(_)) => Err(Some((
            close::POLICY,
            "too many messages at once".to_owned(),
        ))),
        Err(TrySendError::Closed(_)) => Err(None),
    }
}

/// The id of a `complete` (or per-operation `error`) message the engine sends: the operation
/// is no longer open.
fn completed_id(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: String,
        id: Option<String>,
    }
    let envelope: Envelope = serde_json::from_str(text).ok()?;
    matches!(envelope.kind.as_str(), "complete" | "error")
        .then_some(envelope.id)
        .flatten()
}

/// An `error` message ending operation `id`, in the protocol's shape.
fn operation_error(protocol: Protocols, id: &str, code: &str, message: String) -> String {
    let error = json!({ "message": message, "extensions": { "code": code } });
    let payload = match protocol {
        Protocols::GraphQLWS => json!([error]),
        Protocols::SubscriptionsTransportWS => error,
    };
    json!({ "type": "error", "id": id, "payload": payload }).to_string()
}

/// A close reason fits in 123 bytes.
fn truncated(mut reason: String) -> String {
    if reason.len() > 123 {
        let mut end = 123;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    reason
}

/// Reads the token from a `connection_init` payload: `{"Authorization": "Bearer …"}`,
/// `{"authorization": …}` or `{"token": …}`.
pub(crate) fn token_from_payload(payload: &serde_json::Value) -> Option<String> {
    let value = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .or_else(|| payload.get("token"))?
        .as_str()?;
    Some(
        value
            .strip_prefix("Bearer ")
            .unwrap_or(value)
            .trim()
            .to_owned(),
    )
}

/// The receiving half of a channel as a stream.
fn tokio_stream_of<T: Send + 'static>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_from_init_payloads() {
        let p = json!({ "Authorization": "Bearer abc" });
        assert_eq!(token_from_payload(&p).as_deref(), Some("abc"));
        let p = json!({ "token": "xyz" });
        assert_eq!(token_from_payload(&p).as_deref(), Some("xyz"));
        assert_eq!(token_from_payload(&json!({})), None);
    }

    #[test]
    fn completions_and_errors_end_operations() {
        assert_eq!(
            completed_id(r#"{"type":"complete","id":"7"}"#).as_deref(),
            Some("7")
        );
        assert_eq!(
            completed_id(r#"{"type":"error","id":"8","payload":[]}"#).as_deref(),
            Some("8")
        );
        assert_eq!(
            completed_id(r#"{"type":"next","id":"9","payload":{}}"#),
            None
        );
    }

    #[test]
    fn close_reasons_fit_a_frame() {
        assert!(truncated("é".repeat(100)).len() <= 123);
    }
}
