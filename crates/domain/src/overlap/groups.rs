//! Coordination groups: connected components of the "coordinated" relation over activity
//! identifiers. Related activities of types 1–4 link in either direction, and an identifier
//! that is not registered still links the activities that name it.

use std::collections::HashMap;

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

    /// Whether two identifiers are in one group.
    pub fn same(&mut self, a: &str, b: &str) -> bool {
        self.group_of(a) == self.group_of(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_of_one_unregistered_parent_are_one_group() {
        let mut g = Groups::default();
        g.link("CHILD-1", "PARENT-X");
        g.link("CHILD-2", "PARENT-X");
        assert!(g.same("CHILD-1", "CHILD-2"));
        assert!(!g.same("CHILD-1", "OTHER"));
    }
}
