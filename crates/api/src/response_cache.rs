//! Answers to read-only operations, kept by registry version.
//!
//! Partner syncs and dashboards ask the same questions over and over while the registry
//! changes far less often. An answer is kept under the registry version read before it was
//! computed (every committed write raises that version in its own transaction, whichever
//! process or replica made it), the UTC day (coverage and activity windows depend on it), what
//! the caller may see (role, organisation, country; the subject too when the operation reads
//! `viewer`) and the request itself (document, operation name, variables). A request whose
//! version, day, caller and text all match gets the kept bytes; any write makes every kept
//! answer unreachable and the next request after it drops them all.
//!
//! Only successful answers to `query` operations are kept, and only up to a byte budget: the
//! cache's memory is bounded whatever the traffic.

use aidgraph_domain::access::Principal;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::body::Bytes;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::Mutex;

/// Largest answer kept: a bigger one is served but not kept.
const MAX_ENTRY_BYTES: usize = 4 * 1024 * 1024;

/// What identifies an answer within one registry version and day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of `request` asked by `who`. Any request has one; whether its answer may be
    /// kept is [`is_query`]'s to say, before it is kept (so a mutation is never found).
    pub fn of(request: &async_graphql::Request, who: &Principal) -> Option<Self> {
        let variables = serde_json::to_string(&request.variables).ok()?;
        // The subject only matters to `viewer { subject }`: any document naming `viewer`
        // (in a field, an alias or a fragment) is kept per subject.
        let subject = if request.query.contains("viewer") {
            who.subject.as_str()
        } else {
            ""
        };
        let key = format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            who.role.as_str(),
            who.org.as_deref().unwrap_or_default(),
            who.country.as_deref().unwrap_or_default(),
            subject,
            request.operation_name.as_deref().unwrap_or_default(),
            variables,
            request.query,
        );
        Some(CacheKey(key))
    }
}

/// Whether the operation `request` runs is a query (not a mutation or a subscription, and
/// the document parses).
pub fn is_query(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let ty = match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    ty == Some(OperationType::Query)
}

/// Kept answers, all of one registry version and day.
pub struct ResponseCache {
    budget: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    version: i64,
    day: Option<NaiveDate>,
    bytes: usize,
    answers: HashMap<CacheKey, Bytes>,
}

impl State {
    /// Drops every answer unless they were computed at `version` on `day`; false when the
    /// caller's version is older than the kept answers' (its answers are not kept).
    fn align(&mut self, version: i64, day: NaiveDate) -> bool {
        if self.version == version && self.day == Some(day) {
            return true;
        }
        if version < self.version {
            return false;
        }
        self.answers.clear();
        self.bytes = 0;
        self.version = version;
        self.day = Some(day);
        true
    }
}

impl ResponseCache {
    /// A cache of at most `budget` bytes of answers (keys included).
    pub fn new(budget: usize) -> Self {
        ResponseCache {
            budget,
            state: Mutex::new(State::default()),
        }
    }

    /// The answer kept for `key` at `version` on `day`.
    pub fn get(&self, key: &CacheKey, version: i64, day: NaiveDate) -> Option<Bytes> {
        let mut state = self.state.lock().ok()?;
        if !state.align(version, day) {
            return None;
        }
        state.answers.get(key).cloned()
    }

    /// Keeps `answer` for `key`, computed from the registry at `version` or later on `day`.
    pub fn put(&self, key: CacheKey, version: i64, day: NaiveDate, answer: Bytes) {
        let size = key.0.len() + answer.len();
        if size > MAX_ENTRY_BYTES.min(self.budget) {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if !state.align(version, day) {
            return;
        }
        if state.bytes + size > self.budget {
            // Full: start again rather than track use. Only reached when the traffic asks more
            // distinct questions between two writes than the budget holds.
            state.answers.clear();
            state.bytes = 0;
        }
        if let Some(old) = state.answers.insert(key.clone(), answer) {
            state.bytes -= key.0.len() + old.len();
        }
        state.bytes += size;
    }

    /// Bytes held, keys included.
    pub fn bytes(&self) -> usize {
        self.state.lock().map(|s| s.bytes).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aidgraph_domain::vocab::Role;

    fn viewer(subject: &str) -> Principal {
        Principal {
            subject: subject.into(),
            role: Role::Viewer,
            org: None,
            country: None,
        }
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 6).unwrap_or_default()
    }

    #[test]
    fn only_queries_are_kept() {
        let query = async_graphql::Request::new("{ activities { totalCount } }");
        assert!(is_query(&query));
        assert!(is_query(&async_graphql::Request::new(
            "query Q { activities { totalCount } }"
        )));
        assert!(!is_query(&async_graphql::Request::new("mutation { x }")));
        let subscription = async_graphql::Request::new("subscription { needPublished { id } }");
        assert!(!is_query(&subscription));
        let two = || async_graphql::Request::new("query A { a } mutation B { b }");
        assert!(!is_query(&two()));
        assert!(is_query(&two().operation_name("A")));
        assert!(!is_query(&two().operation_name("B")));
        assert!(!is_query(&async_graphql::Request::new("{ activities ")));
    }

    #[test]
    fn callers_who_see_differently_never_share_an_answer() {
        let query = async_graphql::Request::new("{ activities { totalCount } }");
        let a = CacheKey::of(&query, &viewer("a"));
        assert_eq!(a, CacheKey::of(&query, &viewer("b")));
        let provider = Principal {
            role: Role::Provider,
            org: Some("GB-GOV-1".into()),
            ..viewer("a")
        };
        assert_ne!(a, CacheKey::of(&query, &provider));
        let who_am_i = async_graphql::Request::new("{ viewer { subject } }");
        assert_ne!(
            CacheKey::of(&who_am_i, &viewer("a")),
            CacheKey::of(&who_am_i, &viewer("b"))
        );
    }

    #[test]
    fn a_write_or_a_new_day_makes_answers_unreachable() {
        let cache = ResponseCache::new(1 << 20);
        let key = CacheKey::of(&async_graphql::Request::new("{ a }"), &viewer("a"));
        let Some(key) = key else {
            panic!("a query has a key");
        };
        cache.put(key.clone(), 7, day(), Bytes::from_static(b"seven"));
        assert_eq!(
            cache.get(&key, 7, day()),
            Some(Bytes::from_static(b"seven"))
        );
        assert_eq!(cache.get(&key, 8, day()), None);
        assert_eq!(cache.bytes(), 0);
        // An answer computed at an older version than the kept ones is not kept.
        cache.put(key.clone(), 7, day(), Bytes::from_static(b"seven"));
        assert_eq!(cache.get(&key, 8, day()), None);
        cache.put(key.clone(), 8, day(), Bytes::from_static(b"eight"));
        let tomorrow = day().succ_opt().unwrap_or_default();
        assert_eq!(cache.get(&key, 8, tomorrow), None);
    }

    #[test]
    fn memory_stays_within_the_budget() {
        let cache = ResponseCache::new(4096);
        for i in 0..1000 {
            let request = async_graphql::Request::new(format!("{{ a{i} }}"));
            if let Some(key) = CacheKey::of(&request, &viewer("a")) {
                cache.put(key, 1, day(), Bytes::from(vec![b'x'; 100]));
            }
            assert!(cache.bytes() <= 4096);
        }
        assert!(cache.bytes() > 0);
    }
}
