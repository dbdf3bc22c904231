//! Listing access requests by a filter. One request asked for by its ID is one read, not a
//! scan; it is read before the caller is authorized, since whose request it is decides
//! whether a user reads its own. A caller without rights on access requests who reviews
//! some sees its own requests and those it may review.

use portcullis_api::services::{AccessRequestFilter, AccessRequestV3};
use portcullis_authz::requests::may_review;

use super::{matches, spec, Actor, Context, Result};

/// A listing under way: the filter, and the request it names by ID, read.
#[derive(Debug)]
pub struct Listing {
    filter: AccessRequestFilter,
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
    /// Starts listing by `filter`: reads the request it names by ID, if it does.
    pub async fn listing(&self, filter: AccessRequestFilter) -> Result<Listing> {
        let by_id = if filter.id.is_empty() {
            None
        } else {
            Some(self.requests.find(&filter.id).await?)
        };
        Ok(Listing { filter, by_id })
    }

    /// The requests `listing` matches; all of them when `reviewer` is `None` (the caller may
    /// read access requests), else only the reviewer's own and those it may review.
    pub async fn list(
        &self,
        listing: Listing,
        reviewer: Option<Actor<'_>>,
    ) -> Result<Vec<AccessRequestV3>> {
        let Listing { filter, by_id } = listing;
        let wanted = filter.state();
        let candidates = match by_id {
            Some(found) => found.into_iter().collect(),
            None => self.requests.list().await?,
        };
        let visible = |r: &AccessRequestV3| match reviewer {
            None => true,
            Some(reviewer) => {
                let s = spec(r);
                let traits = &reviewer.identity.traits;
                s.user == reviewer.identity.username
                    || may_review(reviewer.roles, traits, &s.roles).allowed
            }
        };
        Ok(candidates
            .into_iter()
            .filter(|r| matches(r, &filter.id, &filter.user, wanted) && visible(r))
            .collect())
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
        let names = |found: Vec<AccessRequestV3>| {
            let mut names: Vec<String> = found.iter().map(|r| r.name().to_owned()).collect();
            names.sort();
            names
        };
        let sorted = |mut v: Vec<&str>| {
            v.sort_unstable();
            v.into_iter().map(str::to_owned).collect::<Vec<_>>()
        };

        let all = context.listing(filter("", "")).await.unwrap();
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
        let listing = context.listing(filter("", "")).await.unwrap();
        let seen = names(context.list(listing, reviewer).await.unwrap());
        assert_eq!(seen, sorted(vec![carls.name(), dans.name()]));
        let listing = context.listing(filter(wandas.name(), "")).await.unwrap();
        assert_eq!(listing.owner(), "wanda");
        assert!(context.list(listing, reviewer).await.unwrap().is_empty());
        let listing = context.listing(filter("", "carl")).await.unwrap();
        let carl_only = names(context.list(listing, reviewer).await.unwrap());
        assert_eq!(carl_only, [carls.name().to_owned()]);

        let listing = context.listing(filter("nope", "")).await.unwrap();
        assert_eq!(listing.owner(), "");
        assert!(context.list(listing, None).await.unwrap().is_empty());
    }
}
