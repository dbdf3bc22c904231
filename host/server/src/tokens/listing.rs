//! Listing tokens a page at a time (GetTokens with `Limit`): the static tokens first, then
//! the live stored ones by value.
//!
//! A token's value is its secret, and listings without secrets show only its first few
//! characters ([`redact`]), so the position a page continues from cannot be the last value
//! listed. It is `stored:N:SHOWN`: skip `N` stored tokens from the first whose value starts
//! with `SHOWN`, the characters a redacted listing shows of the last token examined (at
//! most four). Static tokens, in configuration order, are continued by `static:I`. Like
//! every position (see [`crate::resources::paging`]) these are not cursors the server
//! keeps; a token created or deleted between two pages that shares the `SHOWN` prefix of
//! the position shifts it by one (a token listed twice or not at all), which a listing by
//! value would not do.

use portcullis_api::services::ProvisionTokenV2;
use portcullis_api::tokens::redact;

use super::{expired, StaticToken, Tokens, KIND_TOKEN};
use crate::resources::paging::{bad_start, MAX_PAGE};
use crate::resources::{Page, PageRequest, PageSize, Resource, ResourceError};

/// Where a token listing goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    /// From the first static token.
    Start,
    /// After the static token at this index.
    Static(usize),
    /// After `skip` stored tokens from the first whose value starts with `shown`.
    Stored { shown: String, skip: usize },
}

/// The most characters of a value a position holds: what [`redact`] ever shows.
const MAX_SHOWN: usize = 4;

fn parse(text: &str) -> Result<Position, ResourceError> {
    let bad = |why: &str| bad_start(KIND_TOKEN, text, why);
    if text.is_empty() {
        return Ok(Position::Start);
    }
    if let Some(index) = text.strip_prefix("static:") {
        let index = index.parse().map_err(|_| bad("not a static token index"))?;
        return Ok(Position::Static(index));
    }
    let rest = text
        .strip_prefix("stored:")
        .ok_or_else(|| bad("not `static:I` nor `stored:N:PREFIX`"))?;
    let (skip, shown) = rest
        .split_once(':')
        .ok_or_else(|| bad("not `stored:N:PREFIX`"))?;
    let skip = skip.parse().map_err(|_| bad("N is not a count"))?;
    if shown.chars().count() > MAX_SHOWN
        || shown
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(bad(
            "PREFIX is not the start of a token as listings show it",
        ));
    }
    Ok(Position::Stored {
        shown: shown.to_owned(),
        skip,
    })
}

/// The characters of `value` a listing without secrets shows.
fn shown(value: &str) -> String {
    let redacted = redact(value);
    redacted.trim_end_matches('*').to_owned()
}

impl Tokens {
    /// The page of tokens `limit` (0: all of them, up to `max_unpaged`) and `start_after`
    /// (a `NextStartAfter`, see the module docs) ask for: static tokens first, then the live
    /// stored ones by value.
    pub async fn page(
        &self,
        limit: u32,
        start_after: &str,
        max_unpaged: usize,
    ) -> Result<Page<ProvisionTokenV2>, ResourceError> {
        // The limit is checked as every listing's is; the position is this listing's own.
        let size = PageRequest::parse(KIND_TOKEN, limit, "", max_unpaged, |_| Ok(()))?.size;
        let position = parse(start_after)?;
        let mut items = Vec::new();
        let first_static = match &position {
            Position::Start => 0,
            Position::Static(index) => index + 1,
            Position::Stored { .. } => self.statics.len(),
        };
        for (index, token) in self.statics.iter().enumerate().skip(first_static) {
            items.push(StaticToken::resource(token));
            if size == PageSize::Paged(items.len()) {
                return Ok(Page {
                    items,
                    next: Some(format!("static:{index}")),
                });
            }
        }
        let size = match size {
            PageSize::Paged(size) => PageSize::Paged(size - items.len()),
            PageSize::Unpaged { max } => PageSize::Unpaged {
                max: max.saturating_sub(items.len()),
            },
        };
        let (start_after, mut skip) = match position {
            Position::Stored { shown, skip } => (Some(shown), skip),
            _ => (None, 0),
        };
        let request = PageRequest { start_after, size };
        let now = portcullis_clock::now();
        let stored = self
            .stored
            .scan(&request, |token| {
                if skip > 0 {
                    skip -= 1;
                    return None;
                }
                (!expired(&token, now)).then_some(token)
            })
            .await?;
        let next = match stored.next {
            Some(value) => Some(self.position_of(&value).await?),
            None => None,
        };
        items.extend(stored.items);
        Ok(Page { items, next })
    }

    /// The position just after the stored token `value`: how many stored tokens there are
    /// from the first that starts as `value` is shown, through `value`.
    async fn position_of(&self, value: &str) -> Result<String, ResourceError> {
        let shown = shown(value);
        let mut request = PageRequest {
            start_after: Some(shown.clone()),
            size: PageSize::Paged(MAX_PAGE),
        };
        let mut skip = 0;
        loop {
            let mut reached = false;
            let page = self
                .stored
                .scan(&request, |token| {
                    if reached {
                        return None;
                    }
                    skip += 1;
                    reached = token.name() == value;
                    Some(())
                })
                .await?;
            match page.next {
                Some(next) if !reached => request.start_after = Some(next),
                _ => return Ok(format!("stored:{skip}:{shown}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use portcullis_store::{Backend, MemoryBackend};

    use super::*;
    use crate::resources::paging::DEFAULT_MAX_UNPAGED as TEST_MAX;
    use crate::resources::Collection;
    use crate::tokens::new_token;

    async fn tokens(values: &[&str], statics: &[&str]) -> Tokens {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let statics = statics
            .iter()
            .map(|v| StaticToken {
                roles: vec!["Node".into()],
                value: (*v).to_owned(),
            })
            .collect();
        let tokens = Tokens::new(Collection::new(backend), statics);
        let expires = portcullis_clock::now() + Duration::from_secs(600);
        for value in values {
            let token = new_token((*value).to_owned(), vec!["Node".into()], expires, [].into());
            tokens.create(&token).await.unwrap();
        }
        tokens
    }

    async fn all_pages(tokens: &Tokens, limit: u32) -> (Vec<String>, Vec<String>) {
        let (mut names, mut positions) = (Vec::new(), Vec::new());
        let mut after = String::new();
        loop {
            let page = tokens.page(limit, &after, TEST_MAX).await.unwrap();
            assert!(page.items.len() <= limit as usize);
            names.extend(page.items.iter().map(|t| t.name().to_owned()));
            match page.next {
                Some(next) => {
                    positions.push(next.clone());
                    after = next;
                }
                None => return (names, positions),
            }
        }
    }

    #[tokio::test]
    async fn pages_go_through_statics_then_stored_tokens_without_their_values() {
        let stored = [
            "aaaa1111aaaa1111",
            "aaaa2222aaaa2222",
            "aaaa3333aaaa3333",
            "bbbb0000bbbb0000",
            "cc00cc00",
        ];
        let t = tokens(&stored, &["static-one-token", "static-two-token"]).await;
        for limit in [1, 2, 3, 10] {
            let (names, positions) = all_pages(&t, limit).await;
            let mut expected = vec!["static-one-token", "static-two-token"];
            expected.extend(stored);
            assert_eq!(names, expected, "limit {limit}");
            for position in &positions {
                // Never more of a value than a listing without secrets shows.
                assert!(
                    stored.iter().all(|v| !position.contains(&v[..5])),
                    "{position}"
                );
            }
        }
        let (_, positions) = all_pages(&t, 2).await;
        assert_eq!(positions, ["static:1", "stored:2:aaaa", "stored:1:bbbb"]);
    }

    #[tokio::test]
    async fn unpaged_lists_everything_and_bad_positions_are_refused() {
        let t = tokens(&["aaaa1111aaaa1111"], &["static-one-token"]).await;
        let all = t.page(0, "", TEST_MAX).await.unwrap();
        assert_eq!((all.items.len(), all.next), (2, None));
        for bad in [
            "nope",
            "stored:x:aa",
            "stored:1:aaaaa",
            "static:-1",
            "stored:1:a/b",
        ] {
            let err = t.page(1, bad, TEST_MAX).await.unwrap_err().to_string();
            assert!(
                err.contains("is not a position in a listing of tokens"),
                "{err}"
            );
        }
        let err = t.page(1001, "", TEST_MAX).await.unwrap_err().to_string();
        assert!(err.contains("Limit 1001"), "{err}");
    }
}
