//! Coordination groups: connected components of the "coordinated" relation over activity
//! identifiers. Related activities of types 1–4 link in either direction, and an identifier
//! that is not registered still links the activities that name it.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Why two activities share a coordination group, as stored beside the edge: an activity's
/// related-activity link, or a reviewer's COORDINATED decision on a flag. Written
/// `related:{activity id}` and `review:{flag id}`, so an activity's or a decision's edges are
/// found and replaced together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeSource {
    /// A related-activity link of this activity.
    Related(i64),
    /// A review of this flag that found the pair coordinated.
    Review(i64),
}

impl fmt::Display for EdgeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdgeSource::Related(id) => write!(f, "related:{id}"),
            EdgeSource::Review(id) => write!(f, "review:{id}"),
        }
    }
}

/// A stored edge source that is neither form of [`EdgeSource`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown coordination edge source {0:?}")]
pub struct UnknownEdgeSource(pub String);

impl FromStr for EdgeSource {
    type Err = UnknownEdgeSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownEdgeSource(s.to_owned());
        let (kind, id) = s.split_once(':').ok_or_else(unknown)?;
        let id = id.parse().map_err(|_| unknown())?;
        match kind {
            "related" => Ok(EdgeSource::Related(id)),
            "review" => Ok(EdgeSource::Review(id)),
            _ => Err(unknown()),
        }
    }
}

/// A union-find over identifiers.
#[derive(Debug, Default, Clone)]
pub struct Groups {
    index: HashMap<String, usize>,
    parent: Vec<usize>,
}

impl Groups {
    fn id(&mut self, key: &str) -> usize {
        if let Some(i) = self.index.get(key) {
            return *i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.index.insert(key.to_owned(), i);
        i
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Links two identifiers into one group.
    pub fn link(&mut self, a: &str, b: &str) {
        let (ia, ib) = (self.id(a), self.id(b));
        let (ra, rb) = (self.root(ia), self.root(ib));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }

    /// A key for the group of `identifier`; unlinked identifiers are groups of their own.
    pub fn group_of(&mut self, identifier: &str) -> usize {
        let i = self.id(identifier);
        self.root(i)
    }

    /// The group key of `identifier`, as [`Groups::group_of`] gives it, without shortening
    /// paths, so that threads can share the groups; `None` for an identifier never met.
    pub fn find(&self, identifier: &str) -> Option<usize> {
        let mut i = *self.index.get(identifier)?;
        while self.parent[i] != i {
            i = self.parent[i];
        }
        Some(i)
    }

    /// Whether two identifiers are in one group.
    pub fn same(&mut self, a: &str, b: &str) -> bool {
        self.group_of(a) == self.group_of(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_sources_read_back_as_written() {
        for source in [EdgeSource::Related(42), EdgeSource::Review(7)] {
            assert_eq!(source.to_string().parse::<EdgeSource>(), Ok(source));
        }
        assert_eq!(EdgeSource::Related(42).to_string(), "related:42");
        for bad in ["related", "review:x", "import:3", ""] {
            assert!(bad.parse::<EdgeSource>().is_err(), "{bad}");
        }
    }

    #[test]
    fn children_of_one_unregistered_parent_are_one_group() {
        let mut g = Groups::default();
        g.link("CHILD-1", "PARENT-X");
        g.link("CHILD-2", "PARENT-X");
        assert!(g.same("CHILD-1", "CHILD-2"));
        assert_eq!(g.find("CHILD-2"), Some(g.group_of("CHILD-1")));
        assert_eq!(g.find("NEVER-LINKED"), None);
        assert!(!g.same("CHILD-1", "OTHER"));
    }
}
