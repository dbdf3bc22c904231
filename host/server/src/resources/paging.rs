//! Paged listings: what a listing RPC asked for ([`PageRequest`]), and the scan of a key
//! prefix that answers it ([`scan`]) without holding more than one page in memory.
//!
//! A page starts after a position, `StartAfter`: the part of a store key after the
//! listing's prefix (for most kinds the resource's name). It is not a cursor the server
//! keeps, so it never expires, any server of a cluster continues it, and a listing goes on
//! correctly when the item at the position was deleted meanwhile. A page holds at most
//! `Limit` items; when a filter drops items, one call examines at most [`SCAN_BUDGET`]
//! stored items and may answer fewer items (even none) with a `NextStartAfter`, so the cost
//! of one call stays bounded however rare the matches are.
//!
//! `Limit` 0 is what clients from before paging send: it asks for every item at once. It is
//! answered while there are at most `max_unpaged` items and refused otherwise
//! ([`ResourceError::TooMany`]), so that no request makes the server hold a million items.

use portcullis_store::{Backend, Item};

use super::ResourceError;

/// The largest page a request may ask for.
pub const MAX_PAGE: usize = 1000;

/// Stored items one paged call examines at most when a filter drops some.
pub const SCAN_BUDGET: usize = 10_000;

/// The most items an unpaged listing (`Limit` 0) answers, unless configured otherwise.
pub const DEFAULT_MAX_UNPAGED: usize = 10_000;

/// How many stored items one store read fetches while scanning.
const STORE_CHUNK: usize = 1000;

/// The fewest stored items one store read fetches while filling a page, so that a filter
/// that drops most items does not cost one store read per kept item.
const MIN_CHUNK: usize = 100;

/// How many items a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    /// One page of at most this many (1..=[`MAX_PAGE`]).
    Paged(usize),
    /// Every item, refused when there are more than `max`.
    Unpaged {
        /// The server's `max_unpaged_list`.
        max: usize,
    },
}

/// What a listing RPC asked for: where to start and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// The position to start after (a previous page's `next`); `None`: from the first item.
    pub start_after: Option<String>,
    /// How many.
    pub size: PageSize,
}

impl PageRequest {
    /// The first page of at most `limit` items.
    pub fn first(limit: usize) -> Self {
        Self {
            start_after: None,
            size: PageSize::Paged(limit.clamp(1, MAX_PAGE)),
        }
    }

    /// Every item, up to `max`.
    pub fn everything(max: usize) -> Self {
        Self {
            start_after: None,
            size: PageSize::Unpaged { max },
        }
    }

    /// The request as an RPC gave it: `limit` 0 for everything (up to `max_unpaged`), 1 to
    /// [`MAX_PAGE`] for one page; `start_after` empty for the start, else a position of a
    /// listing of `kind` (a name, checked with `valid`).
    pub fn parse(
        kind: &str,
        limit: u32,
        start_after: &str,
        max_unpaged: usize,
        valid: impl FnOnce(&str) -> Result<(), ResourceError>,
    ) -> Result<Self, ResourceError> {
        let size = match usize::try_from(limit).unwrap_or(usize::MAX) {
            0 => PageSize::Unpaged { max: max_unpaged },
            n if n > MAX_PAGE => {
                return Err(ResourceError::invalid(format!(
                    "Limit {n} is more than {MAX_PAGE}, the largest page of a listing of {kind}s"
                )))
            }
            n => PageSize::Paged(n),
        };
        let start_after = if start_after.is_empty() {
            None
        } else {
            valid(start_after).map_err(|e| bad_start(kind, start_after, &e.to_string()))?;
            Some(start_after.to_owned())
        };
        Ok(Self { start_after, size })
    }

    /// [`PageRequest::parse`] for a listing by resource name: `start_after` must be a valid
    /// name of `kind`.
    pub fn by_name(
        kind: &str,
        limit: u32,
        start_after: &str,
        max_unpaged: usize,
    ) -> Result<Self, ResourceError> {
        Self::parse(kind, limit, start_after, max_unpaged, |name| {
            super::validate::validate_name(kind, name)
        })
    }

    /// Whether this asks for one page.
    pub fn is_paged(&self) -> bool {
        matches!(self.size, PageSize::Paged(_))
    }
}

/// The error of a `StartAfter` that cannot be a position of a `kind` listing.
pub fn bad_start(kind: &str, start_after: &str, why: &str) -> ResourceError {
    let shown: String = start_after.chars().take(80).collect();
    let more = if shown.len() < start_after.len() {
        "…"
    } else {
        ""
    };
    ResourceError::invalid(format!(
        "StartAfter `{shown}{more}` is not a position in a listing of {kind}s ({why}): pass the \
         NextStartAfter of the previous page unchanged, or nothing for the first page"
    ))
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in key order.
    pub items: Vec<T>,
    /// The position to pass as `StartAfter` for the next page; `None` when there are no
    /// more items.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The page with `f` applied to each item.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }

    /// `next` as the wire has it: empty for none.
    pub fn next_start_after(&self) -> String {
        self.next.clone().unwrap_or_default()
    }
}

/// The position of `item` in a listing of `prefix`: its key after the prefix.
fn position(prefix: &str, item: &Item) -> String {
    let rest = item.key.get(prefix.len()..).unwrap_or_default();
    String::from_utf8_lossy(rest).into_owned()
}

/// Lists the items under `prefix` as `request` asks, keeping what `keep` maps to `Some`
/// (it decodes and filters each stored item; its error ends the listing). `kind` names
/// the listing in errors (`role`).
///
/// Paged: at most the page's size of kept items, and at most [`SCAN_BUDGET`] examined
/// ones; `next` is the position of the last item examined when more may follow. Unpaged:
/// every kept item, or [`ResourceError::TooMany`] as soon as there are more than the
/// maximum. Either way no more than one page (or the maximum) is held at once.
pub async fn scan<T, E>(
    backend: &dyn Backend,
    prefix: &str,
    kind: &'static str,
    request: &PageRequest,
    mut keep: impl FnMut(&Item) -> Result<Option<T>, E>,
) -> Result<Page<T>, E>
where
    E: From<ResourceError>,
{
    let mut cursor = request
        .start_after
        .as_ref()
        .map(|after| format!("{prefix}{after}").into_bytes());
    let mut items = Vec::new();
    let mut examined = 0usize;
    loop {
        let ask = match request.size {
            // The first read asks for exactly what the page lacks (all an unfiltered
            // listing needs); later ones, after a filter dropped items, for more at once.
            PageSize::Paged(size) if examined == 0 => size,
            PageSize::Paged(size) => (size - items.len())
                .max(MIN_CHUNK)
                .min(SCAN_BUDGET - examined),
            PageSize::Unpaged { .. } => STORE_CHUNK,
        };
        let page = backend
            .range(prefix.as_bytes(), cursor.as_deref(), ask)
            .await
            .map_err(ResourceError::Store)?;
        let fetched = page.items.len();
        for (i, item) in page.items.iter().enumerate() {
            examined += 1;
            if let Some(kept) = keep(item)? {
                items.push(kept);
            }
            match request.size {
                PageSize::Paged(size) if items.len() == size => {
                    // Full: more may follow if the store read had more than this.
                    let more = i + 1 < fetched || page.next.is_some();
                    return Ok(Page {
                        items,
                        next: more.then(|| position(prefix, item)),
                    });
                }
                PageSize::Unpaged { max } if items.len() > max => {
                    return Err(ResourceError::TooMany { kind, max }.into());
                }
                _ => {}
            }
        }
        match (page.next, request.size) {
            (None, _) => return Ok(Page { items, next: None }),
            (Some(_), PageSize::Paged(_)) if examined >= SCAN_BUDGET => {
                let next = page.items.last().map(|last| position(prefix, last));
                return Ok(Page { items, next });
            }
            (Some(next), _) => cursor = Some(next),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use portcullis_store::MemoryBackend;

    use super::*;

    async fn store(names: &[String]) -> Arc<dyn Backend> {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        for name in names {
            let key = format!("/things/{name}");
            backend
                .put(key.as_bytes(), name.as_bytes().to_vec(), None)
                .await
                .unwrap();
        }
        // Another prefix that shares the start of this one is never listed.
        backend
            .put(b"/thingsx/a", b"x".to_vec(), None)
            .await
            .unwrap();
        backend
    }

    fn names(count: usize) -> Vec<String> {
        (0..count).map(|i| format!("n{i:05}")).collect()
    }

    fn all(item: &Item) -> Result<Option<String>, ResourceError> {
        Ok(Some(String::from_utf8(item.value.clone()).unwrap()))
    }

    fn paged(limit: u32, start_after: &str) -> PageRequest {
        PageRequest::by_name("thing", limit, start_after, 50).unwrap()
    }

    #[tokio::test]
    async fn pages_follow_each_other_to_the_end() {
        let names = names(25);
        let backend = store(&names).await;
        let mut seen = Vec::new();
        let mut after = String::new();
        let mut pages = 0;
        loop {
            let page = scan(&*backend, "/things/", "thing", &paged(10, &after), all)
                .await
                .unwrap();
            pages += 1;
            seen.extend(page.items.clone());
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
        assert_eq!(seen, names);
        assert_eq!(pages, 3);
    }

    #[tokio::test]
    async fn a_full_last_page_says_there_is_no_more() {
        let names = names(20);
        let backend = store(&names).await;
        let first = scan(&*backend, "/things/", "thing", &paged(10, ""), all)
            .await
            .unwrap();
        assert_eq!(first.next.as_deref(), Some("n00009"));
        let second = scan(&*backend, "/things/", "thing", &paged(10, "n00009"), all)
            .await
            .unwrap();
        assert_eq!(second.items.len(), 10);
        assert_eq!(second.next, None);
    }

    #[tokio::test]
    async fn a_deleted_position_still_continues() {
        let names = names(5);
        let backend = store(&names).await;
        backend.delete(b"/things/n00001").await.unwrap();
        let page = scan(&*backend, "/things/", "thing", &paged(2, "n00001"), all)
            .await
            .unwrap();
        assert_eq!(page.items, ["n00002", "n00003"]);
    }

    #[tokio::test]
    async fn a_filter_is_applied_across_pages_with_a_bounded_scan() {
        let names = names(SCAN_BUDGET + 500);
        let backend = store(&names).await;
        // Only every 3000th item matches: the first call runs out of budget before its
        // page of 10 fills, and says where to go on.
        let rare = |item: &Item| -> Result<Option<String>, ResourceError> {
            let name = String::from_utf8(item.value.clone()).unwrap();
            let n: usize = name[1..].parse().unwrap();
            Ok((n % 3000 == 0).then_some(name))
        };
        let first = scan(&*backend, "/things/", "thing", &paged(10, ""), rare)
            .await
            .unwrap();
        assert_eq!(first.items, ["n00000", "n03000", "n06000", "n09000"]);
        let next = first.next.clone().unwrap();
        assert_eq!(next, format!("n{:05}", SCAN_BUDGET - 1));
        let second = scan(&*backend, "/things/", "thing", &paged(10, &next), rare)
            .await
            .unwrap();
        assert!(second.items.is_empty());
        assert_eq!(second.next, None);
    }

    #[tokio::test]
    async fn unpaged_listings_stop_past_the_maximum() {
        let backend = store(&names(50)).await;
        let everything = scan(&*backend, "/things/", "thing", &paged(0, ""), all)
            .await
            .unwrap();
        assert_eq!((everything.items.len(), everything.next), (50, None));
        let backend = store(&names(51)).await;
        let err = scan(&*backend, "/things/", "thing", &paged(0, ""), all)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ResourceError::TooMany { max: 50, .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("more than 50 things") && text.contains("Limit"),
            "{text}"
        );
        // A filter that keeps few passes whatever the store holds.
        let few = |item: &Item| all(item).map(|v| v.filter(|n| n.ends_with('7')));
        let kept = scan(&*backend, "/things/", "thing", &paged(0, ""), few)
            .await
            .unwrap();
        assert_eq!(kept.items.len(), 5);
    }

    #[test]
    fn bad_requests_are_refused_with_what_to_do() {
        let err = PageRequest::by_name("role", 1001, "", 10).unwrap_err();
        assert!(
            err.to_string().contains("Limit 1001 is more than 1000"),
            "{err}"
        );
        let err = PageRequest::by_name("role", 10, "a/b", 10).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("StartAfter `a/b` is not a position in a listing of roles")
                && text.contains("NextStartAfter"),
            "{text}"
        );
        assert_eq!(
            PageRequest::by_name("role", 0, "x", 7).unwrap(),
            PageRequest {
                start_after: Some("x".into()),
                size: PageSize::Unpaged { max: 7 }
            }
        );
    }
}
