//! Listing access requests by a filter. One request asked for by its ID is one read, not a
//! scan; it is read before the caller is authorized, since whose request it is decides
//! whether a user reads its own. A caller without rights on access requests who reviews
//! some sees its own requests and those it may review.
//!
//! Other listings are paged (see [`crate::resources::paging`]): the filter (user, state,
//! what a reviewer may see) is applied as the store is read, so a page fills across the
//! requests it drops, one call examines a bounded number of stored requests, and no call
//! holds more than a page.

use portcullis_api::services::{AccessRequestFilter, AccessRequestV3};
use portcullis_authz::requests::may_review;

use super::{matches, spec, Actor, Context, Result};
use crate::resources::{Page, PageRequest};

/// A listing under way: the filter, the page asked for, and the request the filter names
/// by ID, read.
#[derive(Debug)]
pub struct Listing {
    filter: AccessRequestFilter,
    page: PageRequest,
    /// `None` when the filter names no ID; `Some(None)` when the ID names nothing.
    by_id: Option<Option<AccessRequestV3>>,
}

impl Listing {
    /// The user whose requests are listed (the owner of the request named by ID when the
    /// filter names no user), for own-user checks; empty when unknown.
    pub fn owner(&self) -> String {
        match (&self.by_id, self.filter.user.is_empty()) {
            (Some(Some(found)), true) => spec(found).user,
            _ => self.filter.user.clone(),
        }
    }
}

impl Context<'_> {
    /// Starts listing by `filter`, the page `page` of it: reads the request the filter
    /// names by ID, if it does.
    pub async fn listing(&self, filter: AccessRequestFilter, page: PageRequest) -> Result<Listing> {
        let by_id = if filter.id.is_empty() {
            None
        } else {
            Some(self.requests.find(&filter.id).await?)
        };
        Ok(Listing {
            filter,
            page,
            by_id,
        })
    }

    /// The page of requests `listing` matches, by ID; all matching ones when `reviewer` is
    /// `None` (the caller may read access requests), else only the reviewer's own and those
    /// it may review.
    pub async fn list(
        &self,
        listing: Listing,
        reviewer: Option<Actor<'_>>,
    ) -> Result<Page<AccessRequestV3>> {
        let Listing {
            filter,
            page,
            by_id,
        } = listing;
        let wanted = filter.state();
        let visible = |r: &AccessRequestV3| match reviewer {
            None => true,
            Some(reviewer) => {
                let s = spec(r);
                let traits = &reviewer.identity.traits;
                s.user == reviewer.identity.username
                    || may_review(reviewer.roles, traits, &s.roles).allowed
            }
        };
        let keep = |r: &AccessRequestV3| matches(r, &filter.id, &filter.user, wanted) && visible(r);
        Ok(match by_id {
            Some(found) => Page {
                items: found.into_iter().filter(keep).collect(),
                next: None,
            },
            None => self.requests.scan(&page, |r| keep(&r).then_some(r)).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::access_requests::testing::{
        created, fixture, identity, requester_role, reviewer_role,
    };
    use crate::resources::Resource;

    fn filter(id: &str, user: &str) -> AccessRequestFilter {
        AccessRequestFilter {
            id: id.into(),
            user: user.into(),
            ..AccessRequestFilter::default()
        }
    }

    #[tokio::test]
    async fn reviewers_see_their_own_and_what_they_may_review() {
        let f = fixture().await;
        let context = f.context();
        let requesters = [requester_role(&["dba", "web"], 0, 0)];
        let carls = created(&context, "carl", &["dba"], &requesters).await;
        let wandas = created(&context, "wanda", &["web"], &requesters).await;
        let dans = created(&context, "dan", &["web"], &requesters).await;
        let names = |found: Page<AccessRequestV3>| {
            assert_eq!(found.next, None);
            let mut names: Vec<String> = found.items.iter().map(|r| r.name().to_owned()).collect();
            names.sort();
            names
        };
        let sorted = |mut v: Vec<&str>| {
            v.sort_unstable();
            v.into_iter().map(str::to_owned).collect::<Vec<_>>()
        };

        let all = context
            .listing(filter("", ""), PageRequest::everything(100))
            .await
            .unwrap();
        let everything = names(context.list(all, None).await.unwrap());
        assert_eq!(
            everything,
            sorted(vec![carls.name(), wandas.name(), dans.name()])
        );

        let dan = identity("dan");
        let reviewers = [reviewer_role(&["dba"])];
        let reviewer = Some(Actor {
            identity: &dan,
            roles: &reviewers,
        });
        let listing = context
            .listing(filter("", ""), PageRequest::everything(100))
            .await
            .unwrap();
        let seen = names(context.list(listing, reviewer).await.unwrap());
        assert_eq!(seen, sorted(vec![carls.name(), dans.name()]));
        let listing = context
            .listing(filter(wandas.name(), ""), PageRequest::everything(100))
            .await
            .unwrap();
        assert_eq!(listing.owner(), "wanda");
        let found = context.list(listing, reviewer).await.unwrap();
        assert!(found.items.is_empty());
        let listing = context
            .listing(filter("", "carl"), PageRequest::everything(100))
            .await
            .unwrap();
        let carl_only = names(context.list(listing, reviewer).await.unwrap());
        assert_eq!(carl_only, [carls.name().to_owned()]);

        let listing = context
            .listing(filter("nope", ""), PageRequest::everything(100))
            .await
            .unwrap();
        assert_eq!(listing.owner(), "");
        let found = context.list(listing, None).await.unwrap();
        assert!(found.items.is_empty());
    }

    #[tokio::test]
    async fn a_filter_and_a_reviewer_apply_across_pages() {
        let f = fixture().await;
        let context = f.context();
        let requesters = [requester_role(&["dba", "web"], 0, 0)];
        let mut carls = Vec::new();
        for i in 0..7 {
            let who = if i % 2 == 0 { "carl" } else { "wanda" };
            let role = if i % 3 == 0 { "web" } else { "dba" };
            let request = created(&context, who, &[role], &requesters).await;
            if who == "carl" {
                carls.push((request.name().to_owned(), role));
            }
        }
        carls.sort();
        let dan = identity("dan");
        let reviewers = [reviewer_role(&["dba"])];
        let reviewer = Actor {
            identity: &dan,
            roles: &reviewers,
        };
        // carl's requests two at a time, then only those dan may review (dba).
        for (who, expected) in [
            (None, carls.iter().map(|c| c.0.clone()).collect::<Vec<_>>()),
            (
                Some(reviewer),
                carls
                    .iter()
                    .filter(|c| c.1 == "dba")
                    .map(|c| c.0.clone())
                    .collect(),
            ),
        ] {
            let mut seen = Vec::new();
            let mut after = String::new();
            loop {
                let page = PageRequest::by_name("access_request", 2, &after, 100).unwrap();
                let listing = context.listing(filter("", "carl"), page).await.unwrap();
                let page = context.list(listing, who).await.unwrap();
                assert!(page.items.len() <= 2);
                seen.extend(page.items.iter().map(|r| r.name().to_owned()));
                match page.next {
                    Some(next) => after = next,
                    None => break,
                }
            }
            assert_eq!(seen, expected);
        }
    }
}
