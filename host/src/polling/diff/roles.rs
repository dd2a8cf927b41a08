//! VIPs and moderators: who gained and who lost the role since the store
//! last knew.

use std::collections::{HashMap, HashSet};

use crate::event::Viewer;

/// What changed in a role list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleDiff {
    /// Listed now, not known: the role was granted (current names, list
    /// order).
    pub added: Vec<Viewer>,
    /// Known, not listed now: the role was revoked (known names).
    pub removed: Vec<Viewer>,
    /// Listed and known under other names: the viewer row needs renaming.
    pub renamed: Vec<Viewer>,
}

impl RoleDiff {
    /// Whether nothing at all changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.renamed.is_empty()
    }
}

/// Compares the role holders the store knows with the ones Helix lists,
/// by Twitch user id.
pub fn diff(known: &[Viewer], current: &[Viewer]) -> RoleDiff {
    let known_by_id: HashMap<&str, &Viewer> = known.iter().map(|v| (v.id.as_str(), v)).collect();
    let mut listed = HashSet::with_capacity(current.len());
    let mut diff = RoleDiff::default();
    for viewer in current {
        if !listed.insert(viewer.id.as_str()) {
            continue;
        }
        match known_by_id.get(viewer.id.as_str()) {
            None => diff.added.push(viewer.clone()),
            Some(was) if super::renamed(was, viewer) => diff.renamed.push(viewer.clone()),
            Some(_) => {}
        }
    }
    let mut removed = HashSet::new();
    diff.removed = known
        .iter()
        .filter(|v| !listed.contains(v.id.as_str()) && removed.insert(v.id.as_str()))
        .cloned()
        .collect();
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: &str, login: &str) -> Viewer {
        Viewer::new(id, login, login.to_uppercase())
    }

    #[test]
    fn added_and_removed_are_found_by_id() {
        let known = [v("1", "a"), v("2", "b")];
        let current = [v("2", "b"), v("3", "c")];
        let d = diff(&known, &current);
        assert_eq!(d.added, vec![v("3", "c")]);
        assert_eq!(d.removed, vec![v("1", "a")]);
        assert!(d.renamed.is_empty());
    }

    #[test]
    fn unchanged_lists_give_nothing_in_any_order() {
        let known = [v("1", "a"), v("2", "b")];
        let current = [v("2", "b"), v("1", "a")];
        assert!(diff(&known, &current).is_empty());
        assert!(diff(&[], &[]).is_empty());
    }

    #[test]
    fn a_renamed_holder_is_neither_added_nor_removed() {
        let known = [v("1", "old_name")];
        let current = [v("1", "new_name")];
        let d = diff(&known, &current);
        assert!(d.added.is_empty() && d.removed.is_empty());
        assert_eq!(d.renamed, vec![v("1", "new_name")]);
    }

    #[test]
    fn an_empty_list_removes_everyone_and_duplicates_count_once() {
        let known = [v("1", "a"), v("2", "b")];
        assert_eq!(diff(&known, &[]).removed.len(), 2);
        let d = diff(&[], &[v("1", "a"), v("1", "a")]);
        assert_eq!(d.added, vec![v("1", "a")]);
    }
}
