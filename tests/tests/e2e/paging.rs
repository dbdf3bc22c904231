//! Paged listings against the real binary: page boundaries and continuation keys, filters
//! applied across pages, unpaged requests refused past the server's `max_unpaged_list`
//! (naming the paging fields), bad page sizes and keys refused, and `pctl` paging through
//! listings larger than one answer may hold.

use std::collections::BTreeSet;

use portcullis_api::auth::{
    GetRolesRequest, GetTokensRequest, GetUsersRequest, RequestStateSetter,
};
use portcullis_api::services::{
    AccessRequestFilter, AccessRequestSpecV3, AccessRequestV3, RequestState,
};
use portcullis_api::Client;
use portcullis_tests::{access_workflow_fixture, ok, role, rt, s, Server};
use tonic::Code;

/// A server whose unpaged listings answer at most `max` items.
fn server(dir: &std::path::Path, max: usize) -> Server {
    Server::start_with_config(dir, &format!("max_unpaged_list: {max}\n"))
}

async fn roles_page(
    client: &Client,
    limit: u32,
    start_after: &str,
) -> Result<(Vec<String>, String), tonic::Status> {
    let answer = client
        .rpc()
        .get_roles(GetRolesRequest {
            limit,
            start_after: start_after.into(),
        })
        .await?
        .into_inner();
    let names = answer
        .roles
        .iter()
        .map(|r| r.metadata.as_ref().unwrap().name.clone())
        .collect();
    Ok((names, answer.next_start_after))
}

#[test]
fn roles_page_through_and_unpaged_listings_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let server = server(tmp.path(), 25);
    let names: Vec<String> = (0..60).map(|i| format!("r{i:02}")).collect();
    rt().block_on(async {
        let admin = server.admin_client().await;
        for name in &names {
            admin.upsert_role(role(name)).await.unwrap();
        }

        // Pages of 10: boundaries where expected, each continuing after the last name.
        let mut seen = Vec::new();
        let mut after = String::new();
        let mut pages = Vec::new();
        loop {
            let (page, next) = roles_page(&admin, 10, &after).await.unwrap();
            pages.push((page.len(), next.clone()));
            seen.extend(page.clone());
            if next.is_empty() {
                break;
            }
            assert_eq!(Some(&next), page.last(), "the key is the last name");
            after = next;
        }
        assert_eq!(seen, names);
        // A full last page says there is no more: six pages, not a seventh empty one.
        assert_eq!(pages.len(), 6, "{pages:?}");
        assert_eq!(pages[5], (10, String::new()));

        // A continuation key stays good when its role is deleted meanwhile.
        admin.delete_role("r19").await.unwrap();
        let (page, next) = roles_page(&admin, 3, "r19").await.unwrap();
        assert_eq!(
            (page, next.as_str()),
            (vec!["r20".into(), "r21".into(), "r22".into()], "r22")
        );
        // Any name is a position, present or not.
        let (page, _) = roles_page(&admin, 2, "r305").await.unwrap();
        assert_eq!(page, ["r31", "r32"]);

        // Unpaged (what clients before paging send): refused past 25, saying how to page.
        let refused = roles_page(&admin, 0, "").await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        let why = refused.message();
        assert!(
            why.contains("more than 25 roles")
                && why.contains("max_unpaged_list")
                && why.contains("Limit")
                && why.contains("NextStartAfter"),
            "{why}"
        );
        // ... and answered when what is left fits.
        let (tail, next) = roles_page(&admin, 0, "r40").await.unwrap();
        assert_eq!((tail.len(), next.as_str()), (19, ""));

        // Bad page sizes and keys are refused with what to do.
        let too_big = roles_page(&admin, 1001, "").await.unwrap_err();
        assert_eq!(too_big.code(), Code::InvalidArgument);
        assert!(
            too_big.message().contains("Limit 1001 is more than 1000"),
            "{too_big:?}"
        );
        for bad in ["a/b", "x y", ".."] {
            let refused = roles_page(&admin, 10, bad).await.unwrap_err();
            assert_eq!(refused.code(), Code::InvalidArgument, "{bad}");
            assert!(
                refused.message().contains(&format!(
                    "StartAfter `{bad}` is not a position in a listing of roles"
                )),
                "{refused:?}"
            );
        }

        // The client reads every page.
        assert_eq!(admin.get_roles().await.unwrap().len(), 59);

        // Users stream, whole or from a position with a limit.
        for i in 0..30 {
            let name = format!("u{i:02}");
            ok(server.pctl(&["users", "add", &name, "--roles", "r00"]));
        }
        assert_eq!(admin.get_users(false).await.unwrap().len(), 30);
        let mut stream = admin
            .rpc()
            .get_users(GetUsersRequest {
                with_secrets: false,
                limit: 4,
                start_after: "u09".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut some = Vec::new();
        while let Some(user) = stream.message().await.unwrap() {
            some.push(user.metadata.unwrap().name);
        }
        assert_eq!(some, ["u10", "u11", "u12", "u13"]);
    });

    // pctl pages through more roles than one unpaged answer may hold, printing as it goes.
    let yaml = ok(server.pctl(&["get", "roles"]));
    assert_eq!(yaml.matches("kind: role").count(), 59, "{yaml}");
    assert_eq!(yaml.matches("\n---\n").count(), 58);
    let json = ok(server.pctl(&["get", "roles", "--format", "json"]));
    let listed: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(listed.len(), 59);
    assert_eq!(listed[0]["metadata"]["name"], "r00");
    let users = ok(server.pctl(&["users", "ls"]));
    assert_eq!(users.lines().count(), 31, "{users}");
    let users = ok(server.pctl(&["get", "users", "--format", "json"]));
    let users: Vec<serde_json::Value> = serde_json::from_str(&users).unwrap();
    assert_eq!(users.len(), 30);
}

/// Files an access request of `user` for `roles` as the admin; returns its ID.
async fn request_as(admin: &Client, user: &str, roles: &[&str]) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let request = AccessRequestV3 {
        kind: "access_request".into(),
        version: "v3".into(),
        metadata: Some(portcullis_api::services::Metadata {
            name: id.clone(),
            ..Default::default()
        }),
        spec: Some(AccessRequestSpecV3 {
            user: user.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    admin.rpc().create_access_request(request).await.unwrap();
    id
}

async fn requests_page(
    client: &Client,
    user: &str,
    state: RequestState,
    limit: u32,
    start_after: &str,
) -> Result<(Vec<AccessRequestV3>, String), tonic::Status> {
    let answer = client
        .rpc()
        .get_access_requests(AccessRequestFilter {
            user: user.into(),
            state: state as i32,
            limit,
            start_after: start_after.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok((answer.access_requests, answer.next_start_after))
}

/// Every page of a filtered listing, checking each is at most `limit` and comes after the
/// one before; the IDs in order.
async fn all_requests(client: &Client, user: &str, state: RequestState, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = String::new();
    loop {
        let (page, next) = requests_page(client, user, state, limit, &after)
            .await
            .unwrap();
        assert!(page.len() <= limit as usize);
        for request in &page {
            let id = request.metadata.as_ref().unwrap().name.clone();
            assert!(after.is_empty() || id > after, "{id} after {after}");
            ids.push(id);
        }
        if next.is_empty() {
            return ids;
        }
        after = next;
    }
}

#[test]
fn access_request_filters_apply_across_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let server = server(tmp.path(), 10);
    server.pctl_ok(&["create", s(&access_workflow_fixture())]);
    server.pctl_ok(&["users", "add", "carl", "--roles", "contractor"]);
    server.pctl_ok(&["users", "add", "cora", "--roles", "contractor"]);
    rt().block_on(async {
        let admin = server.admin_client().await;
        let mut carls = BTreeSet::new();
        let mut approved = BTreeSet::new();
        for i in 0..21 {
            if i % 3 == 0 {
                request_as(&admin, "cora", &["dba"]).await;
                continue;
            }
            let id = request_as(&admin, "carl", &["dba"]).await;
            if i % 4 == 1 {
                let approve = RequestStateSetter {
                    id: id.clone(),
                    state: RequestState::Approved as i32,
                    reason: "ok".into(),
                    ..Default::default()
                };
                admin.rpc().set_access_request_state(approve).await.unwrap();
                approved.insert(id.clone());
            }
            carls.insert(id);
        }
        assert_eq!((carls.len(), approved.len()), (14, 4));

        // carl's requests, 3 per page: every one once, in ID order, nobody else's.
        let listed = all_requests(&admin, "carl", RequestState::None, 3).await;
        assert_eq!(listed, carls.iter().cloned().collect::<Vec<_>>());
        // Two filters at once, one per page.
        let listed = all_requests(&admin, "carl", RequestState::Approved, 1).await;
        assert_eq!(listed, approved.iter().cloned().collect::<Vec<_>>());
        let pending = all_requests(&admin, "", RequestState::Pending, 4).await;
        assert_eq!(pending.len(), 21 - 4);

        // Unpaged: 14 of carl's is more than 10; his 4 approved ones fit.
        let refused = requests_page(&admin, "carl", RequestState::None, 0, "")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert!(
            refused.message().contains("more than 10 access_requests"),
            "{refused:?}"
        );
        let (fits, next) = requests_page(&admin, "carl", RequestState::Approved, 0, "")
            .await
            .unwrap();
        assert_eq!((fits.len(), next.as_str()), (4, ""));

        // Bad page size and key.
        let refused = requests_page(&admin, "", RequestState::None, 5000, "")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(
            refused.message().contains("Limit 5000 is more than 1000"),
            "{refused:?}"
        );
        let refused = requests_page(&admin, "", RequestState::None, 5, "../etc")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(
            refused
                .message()
                .contains("is not a position in a listing of access_requests"),
            "{refused:?}"
        );
    });

    // pctl pages: all 21, carl's 14, as lines or one JSON array.
    let all = ok(server.pctl(&["request", "ls"]));
    assert_eq!(all.lines().count(), 21, "{all}");
    let carl = ok(server.pctl(&["request", "ls", "--user", "carl"]));
    assert_eq!(carl.lines().count(), 14, "{carl}");
    assert!(carl.lines().all(|l| l.contains(" carl ")), "{carl}");
    let json = ok(server.pctl(&["request", "ls", "--user", "carl", "--json"]));
    let listed: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(listed.len(), 14);
    let none = ok(server.pctl(&["request", "ls", "--user", "nobody"]));
    assert_eq!(none.trim(), "no access requests");
}

#[test]
fn tokens_page_without_showing_their_values() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(
        tmp.path(),
        "max_unpaged_list: 5\ntokens: ['node:static-token-value-1']\n",
    );
    let mut values = Vec::new();
    for _ in 0..7 {
        values.push(
            server
                .pctl_ok(&["tokens", "add", "--type", "node"])
                .trim()
                .to_owned(),
        );
    }
    rt().block_on(async {
        let admin = server.admin_client().await;
        let page = |with_secrets, limit, start_after: String| {
            let admin = admin.clone();
            async move {
                admin
                    .rpc()
                    .get_tokens(GetTokensRequest {
                        with_secrets,
                        limit,
                        start_after,
                    })
                    .await
                    .map(|answer| answer.into_inner())
            }
        };
        for with_secrets in [false, true] {
            let mut listed = Vec::new();
            let mut after = String::new();
            loop {
                let answer = page(with_secrets, 3, after.clone()).await.unwrap();
                assert!(answer.provision_tokens.len() <= 3);
                listed.extend(
                    answer
                        .provision_tokens
                        .iter()
                        .map(|t| t.metadata.as_ref().unwrap().name.clone()),
                );
                let next = answer.next_start_after;
                // A key never holds more of a value than a redacted listing shows.
                assert!(
                    values.iter().all(|v| !next.contains(&v[..5])),
                    "{next} shows a token value"
                );
                if next.is_empty() {
                    break;
                }
                after = next;
            }
            assert_eq!(listed.len(), 8, "{listed:?}");
            if with_secrets {
                let mut sorted = values.clone();
                sorted.sort();
                assert_eq!(listed[0], "static-token-value-1");
                assert_eq!(listed[1..], sorted[..]);
            }
        }
        let refused = page(false, 0, String::new()).await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition);
        let refused = page(false, 3, "stored:1:abcdef".into()).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
    });
    let listed = ok(server.pctl(&["tokens", "ls"]));
    assert_eq!(listed.lines().count(), 1 + 8, "{listed}");
}
