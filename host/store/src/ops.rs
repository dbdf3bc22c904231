//! Backend-independent pieces of the write and range logic, shared by the
//! backends so that they agree on semantics.

use std::time::SystemTime;

use crate::{Error, Item, Page, Result};

/// The precondition of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    /// Unconditional (`put`).
    Any,
    /// The key must be absent or expired (`create`).
    Absent,
    /// The key must be present (`delete`).
    Present,
    /// The key must be present at this revision (`compare_and_swap`, `delete_if`).
    Revision(u64),
}

impl Condition {
    /// Checks the condition against the revision of the current live item.
    pub(crate) fn check(self, key: &[u8], current: Option<u64>) -> Result<()> {
        match (self, current) {
            (Condition::Any, _) | (Condition::Absent, None) | (Condition::Present, Some(_)) => {
                Ok(())
            }
            (Condition::Absent, Some(_)) => Err(Error::AlreadyExists { key: key.to_vec() }),
            (Condition::Present | Condition::Revision(_), None) => {
                Err(Error::NotFound { key: key.to_vec() })
            }
            (Condition::Revision(expected), Some(actual)) if expected == actual => Ok(()),
            (Condition::Revision(expected), Some(actual)) => Err(Error::RevisionMismatch {
                key: key.to_vec(),
                expected,
                actual,
            }),
        }
    }
}

/// What a write does to its key.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// Store this value.
    Put {
        value: Vec<u8>,
        expires: Option<SystemTime>,
    },
    /// Remove the key.
    Delete,
}

/// Where a range scan starts: the key to seek to, and whether that key itself
/// must be skipped (it is the `start_after` key of the previous page).
pub(crate) fn range_start<'a>(prefix: &'a [u8], start_after: Option<&'a [u8]>) -> (&'a [u8], bool) {
    match start_after {
        Some(after) if after >= prefix => (after, true),
        _ => (prefix, false),
    }
}

/// The smallest key greater than every key starting with `prefix`, if any.
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Collects the live items of a range scan into a [`Page`].
pub(crate) struct PageBuilder {
    limit: usize,
    page: Page,
}

impl PageBuilder {
    /// A builder for a page of at most `limit` items (0 = no limit).
    pub(crate) fn new(limit: usize) -> Self {
        PageBuilder {
            limit,
            page: Page::default(),
        }
    }

    /// Adds the next live item of the scan. Returns `false` when the page is
    /// complete and the scan should stop: `item` proved that more items follow.
    pub(crate) fn push(&mut self, item: Item) -> bool {
        if self.limit != 0 && self.page.items.len() == self.limit {
            self.page.next = self.page.items.last().map(|last| last.key.clone());
            return false;
        }
        self.page.items.push(item);
        true
    }

    /// The finished page.
    pub(crate) fn finish(self) -> Page {
        self.page
    }
}

impl crate::Swap {
    /// The write of this swap: its key, the revision it must find, the put.
    pub(crate) fn into_op(self) -> (Vec<u8>, Condition, Change) {
        let change = Change::Put {
            value: self.value,
            expires: self.expires,
        };
        (
            self.key,
            Condition::Revision(self.expected_revision),
            change,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte_that_can_be() {
        assert_eq!(prefix_end(b"/roles/"), Some(b"/roles0".to_vec()));
        assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn range_start_skips_start_after_only_when_inside_the_range() {
        assert_eq!(range_start(b"/a/", Some(b"/a/x")), (&b"/a/x"[..], true));
        assert_eq!(range_start(b"/a/", Some(b"/")), (&b"/a/"[..], false));
        assert_eq!(range_start(b"/a/", None), (&b"/a/"[..], false));
    }

    #[test]
    fn conditions() {
        let key = b"/k";
        assert!(Condition::Any.check(key, None).is_ok());
        assert!(matches!(
            Condition::Absent.check(key, Some(1)),
            Err(Error::AlreadyExists { .. })
        ));
        assert!(matches!(
            Condition::Present.check(key, None),
            Err(Error::NotFound { .. })
        ));
        assert!(Condition::Revision(2).check(key, Some(2)).is_ok());
        assert!(matches!(
            Condition::Revision(2).check(key, Some(3)),
            Err(Error::RevisionMismatch {
                expected: 2,
                actual: 3,
                ..
            })
        ));
    }
}
