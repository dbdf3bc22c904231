//! Access reviews and access-request policies against the real binary: reviewers named by
//! `review_requests`, per-role thresholds, no self-review; the `approve-dba` example policy
//! in all four languages approving ticketed `dba` requests at once and leaving the others
//! to humans; a failing module leaving requests pending; policies' verdicts on the request
//! and in the audit log.

use std::path::Path;

use portcullis_tests::policies::{access_request_module, build_example, Lang};
use portcullis_tests::{access_workflow_fixture, err, ok, rt, s, write_file, Server};
use serde_json::Value;

/// Requesters and reviewers beside the reference's roles (access-workflow.yaml).
const ROLES: &str = "\
kind: role
version: v3
metadata:
  name: contractor-strict
spec:
  allow:
    request:
      roles: ['dba']
      thresholds:
      - {name: two-dbas, approve: 2, deny: 1}
---
kind: role
version: v3
metadata:
  name: dba-reviewer
spec:
  allow:
    review_requests:
      roles: ['db*']
---
kind: role
version: v3
metadata:
  name: web
spec:
  allow:
    logins: [www]
    request:
      roles: ['dba', 'web']
---
kind: role
version: v3
metadata:
  name: policy-admin
spec:
  allow:
    rules:
    - resources: [access_request_policy, policy_module]
      verbs: [list, read, create, update, delete]
    - resources: [access_request, event]
      verbs: [list, read]
";

/// Loads the reference's roles and ROLES, and adds users with roles.
fn setup(server: &Server, dir: &Path, users: &[(&str, &str)]) {
    server.pctl_ok(&["create", s(&access_workflow_fixture())]);
    let roles = write_file(dir, "roles.yaml", ROLES);
    server.pctl_ok(&["create", s(&roles)]);
    for (user, roles) in users {
        server.pctl_ok(&["users", "add", user, "--roles", roles]);
    }
}

/// The request as JSON, read by the admin.
fn request_json(server: &Server, id: &str) -> Value {
    let text = server.pctl_ok(&["request", "get", id, "--format", "json"]);
    let list: Value = serde_json::from_str(&text).unwrap();
    list[0].clone()
}

fn create(server: &Server, dir: &Path, user: &str, extra: &[&str]) -> String {
    let mut args = vec!["request", "create", "--roles", "dba"];
    args.extend_from_slice(extra);
    ok(server.pctl_as(dir, user, &args)).trim().to_owned()
}

#[test]
fn reviewers_decide_by_thresholds_and_never_review_their_own() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(&dir.join("data"), &[]);
    setup(
        &server,
        dir,
        &[
            ("carl", "contractor-strict"),
            ("alice", "dba-reviewer"),
            ("bob", "dba-reviewer"),
            ("eve", "web"),
            ("dan", "contractor,dba-reviewer"),
        ],
    );
    let as_user = |user: &str, args: &[&str]| server.pctl_as(dir, user, args);

    // carl's role asks two approvals for dba.
    let id = create(&server, dir, "carl", &["--reason", "migration"]);
    let r = request_json(&server, &id);
    assert_eq!(r["spec"]["thresholds"][0]["role"], "dba", "{r}");
    assert_eq!(
        r["spec"]["thresholds"][0]["thresholds"][0]["name"],
        "two-dbas"
    );

    // Reviewers without rules on access_request see what they may review; others don't.
    let dans = create(&server, dir, "dan", &["--reason", "dan's"]);
    let web = ok(as_user("eve", &["request", "create", "--roles", "web"]));
    let seen = ok(as_user("alice", &["request", "ls"]));
    assert!(
        seen.contains(&id) && seen.contains(&dans) && !seen.contains(web.trim()),
        "{seen}"
    );
    let one = ok(as_user(
        "alice",
        &["request", "get", &id, "--format", "json"],
    ));
    assert!(one.contains("migration"), "{one}");
    let why = err(as_user("eve", &["request", "ls"]));
    assert!(why.contains("may not call GetAccessRequests"), "{why}");
    let why = err(as_user("eve", &["request", "get", &id]));
    assert!(why.contains("may not call GetAccessRequests"), "{why}");

    // eve's roles name no reviewable roles.
    let why = err(as_user("eve", &["request", "review", &id, "--approve"]));
    assert!(
        why.contains("`eve` may not review access request")
            && why.contains("review_requests.roles"),
        "{why}"
    );
    let why = err(as_user("alice", &["request", "review", &id]));
    assert!(
        why.contains("--approve") || why.contains("required"),
        "{why}"
    );

    let out = ok(as_user(
        "alice",
        &[
            "request",
            "review",
            &id,
            "--approve",
            "--reason",
            "looks fine",
        ],
    ));
    assert!(
        out.contains("is pending (1 approval(s), 0 denial(s))"),
        "{out}"
    );
    let why = err(as_user("alice", &["request", "review", &id, "--approve"]));
    assert!(why.contains("already exists"), "{why}");
    let out = ok(as_user("bob", &["request", "review", &id, "--approve"]));
    assert!(out.contains("is approved"), "{out}");
    assert!(out.contains("resolved by reviews:alice,bob"), "{out}");
    let r = request_json(&server, &id);
    assert_eq!(r["spec"]["state"], "APPROVED", "{r}");
    assert_eq!(r["spec"]["reviews"].as_array().unwrap().len(), 2);
    assert_eq!(r["spec"]["reviews"][0]["author"], "alice");
    assert!(r["spec"]["resolve_reason"]
        .as_str()
        .unwrap()
        .contains("alice: looks fine"));
    // carl's certificates with the approved request carry dba.
    let sign = |request: &str, out: &str| {
        let out = dir.join(out);
        let args = ["auth", "sign", "--user", "carl", "--format", "tls"];
        as_user(
            "carl",
            &[&args[..], &["--out", s(&out), "--request-id", request]].concat(),
        )
    };
    assert!(!ok(sign(&id, "carl-dba")).is_empty());
    // Resolved: no more reviews.
    let why = err(as_user("dan", &["request", "review", &id, "--deny"]));
    assert!(why.contains("already approved"), "{why}");

    // One denial meets `two-dbas`' deny count.
    let second = create(&server, dir, "carl", &[]);
    let out = ok(as_user(
        "bob",
        &[
            "request",
            "review",
            &second,
            "--deny",
            "--reason",
            "not today",
        ],
    ));
    assert!(out.contains("is denied"), "{out}");
    let why = err(sign(&second, "carl-x"));
    assert!(why.contains("denied"), "{why}");

    // dan may review dba requests, but not his own; others' default threshold is one.
    let own = create(&server, dir, "dan", &[]);
    let why = err(as_user("dan", &["request", "review", &own, "--approve"]));
    assert!(
        why.contains("may not review its own access request"),
        "{why}"
    );
    let out = ok(as_user("alice", &["request", "review", &own, "--approve"]));
    assert!(out.contains("is approved"), "{out}");
    assert_eq!(
        request_json(&server, &own)["spec"]["reviews"][0]["author"],
        "alice"
    );

    // A review is always its caller's: the admin cannot submit one as alice.
    let third = create(&server, dir, "carl", &[]);
    let status = rt().block_on(async {
        let admin = server.admin_client().await;
        let review = portcullis_api::services::AccessReview {
            author: "alice".into(),
            proposed_state: portcullis_api::services::RequestState::Approved as i32,
            ..Default::default()
        };
        let submission = portcullis_api::auth::AccessReviewSubmission {
            request_id: third.clone(),
            review: Some(review),
        };
        admin
            .rpc()
            .submit_access_review(submission)
            .await
            .unwrap_err()
    });
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status.message().contains("may not review as `alice`"),
        "{status}"
    );
    assert_eq!(
        request_json(&server, &third)["spec"]["reviews"],
        Value::Null
    );

    // Reviews are in the audit log.
    let audit = server.pctl_ok(&["audit", "ls", "--event", "access_request.review"]);
    assert_eq!(
        audit.lines().filter(|l| l.contains("review")).count(),
        4,
        "{audit}"
    );
    assert!(
        audit.contains("bob") && audit.contains("not today"),
        "{audit}"
    );
    server.stop();
}

/// A config where policy modules see Tuesday 2026-11-24 10:00 UTC: working hours for
/// `approve-dba`, whatever time the test runs at.
const WORKING_HOURS: &str = "policy:\n  clock: 2026-11-24T10:00:00Z\n";

#[test]
fn the_approve_dba_policy_in_every_language_approves_ticketed_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start_with_config(dir, WORKING_HOURS);
    setup(
        &server,
        dir,
        &[
            ("carl", "contractor"),
            ("cleo", "contractor-strict"),
            ("alice", "dba-reviewer"),
            ("pat", "policy-admin"),
            ("eve", "web"),
        ],
    );
    let as_user = |user: &str, args: &[&str]| server.pctl_as(dir, user, args);

    for lang in Lang::ALL {
        let wasm = build_example(lang);
        let module = format!("approve-dba-{}", lang.dir_name());
        ok(as_user(
            "pat",
            &["policy", "upload", s(&wasm), "--name", &module],
        ));
        let policy = write_file(
            dir,
            "arp.yaml",
            &format!(
                "kind: access_request_policy\nversion: v1\nmetadata:\n  name: dba-tickets\nspec:\n  module: {module}\n  roles: [dba]\n  users: ['c*']\n"
            ),
        );
        ok(as_user("pat", &["create", "-f", s(&policy)]));

        // With a ticket: approved at once, by the policy.
        let out = server.pctl_as(
            dir,
            "carl",
            &[
                "request",
                "create",
                "--roles",
                "dba",
                "--annotations",
                "ticket=OPS-1",
            ],
        );
        let id = ok(out).trim().to_owned();
        let r = request_json(&server, &id);
        let spec = &r["spec"];
        assert_eq!(spec["state"], "APPROVED", "{lang:?}: {r}");
        assert_eq!(
            spec["resolved_by"],
            format!("policy:dba-tickets (module {module} v1.0.0)"),
            "{lang:?}"
        );
        assert_eq!(spec["resolve_reason"], "ticket OPS-1 during working hours");
        assert_eq!(
            spec["resolve_annotations"]["approved-by"],
            serde_json::json!(["approve-dba"])
        );
        let verdict = &spec["policy_verdicts"][0];
        assert_eq!(verdict["verdict"], "approve", "{lang:?}: {r}");
        assert_eq!(verdict["module"], module.as_str());
        assert_eq!(verdict["module_version"], "1.0.0");
        assert_eq!(verdict["trigger"], "create");

        // Without one: pending, for a human.
        let id = create(&server, dir, "carl", &[]);
        let r = request_json(&server, &id);
        assert_eq!(r["spec"]["state"], "PENDING", "{lang:?}: {r}");
        let verdict = &r["spec"]["policy_verdicts"][0];
        assert_eq!(verdict["verdict"], "pending");
        assert_eq!(
            verdict["reason"],
            "no ticket annotation: a human must review"
        );
        ok(as_user("pat", &["rm", "arp/dba-tickets"]));
    }

    // Policies run again after each review: cleo needs two approvals, the policy still
    // says pending after alice's.
    let module = "approve-dba-c";
    let policy = write_file(
        dir,
        "arp.yaml",
        &format!("kind: access_request_policy\nversion: v1\nmetadata:\n  name: dba-tickets\nspec:\n  module: {module}\n  roles: [dba]\n"),
    );
    ok(as_user("pat", &["create", s(&policy)]));
    let id = create(&server, dir, "cleo", &[]);
    ok(as_user("alice", &["request", "review", &id, "--approve"]));
    let r = request_json(&server, &id);
    let verdicts = r["spec"]["policy_verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 2, "{r}");
    assert_eq!(verdicts[1]["trigger"], "review by alice");
    assert_eq!(r["spec"]["state"], "PENDING");
    ok(as_user("pat", &["rm", "arp/dba-tickets"]));

    // A module that runs out of fuel leaves requests pending, with the error recorded.
    let spin = access_request_module("spin", "(loop $l (br $l))", "{}");
    let spin_file = dir.join("spin.wasm");
    std::fs::write(&spin_file, spin).unwrap();
    ok(as_user(
        "pat",
        &["policy", "upload", s(&spin_file), "--name", "spin"],
    ));
    let broken = write_file(
        dir,
        "broken.yaml",
        "kind: access_request_policy\nversion: v1\nmetadata:\n  name: broken\nspec:\n  module: spin\n  users: [eve]\n",
    );
    ok(as_user("pat", &["create", s(&broken)]));
    // A second policy beside it suggests reviewers.
    let suggest = access_request_module(
        "suggest",
        "",
        r#"{"verdict":"pending","reason":"ask a dba","suggested_reviewers":["alice","bob"]}"#,
    );
    let suggest_file = dir.join("suggest.wasm");
    std::fs::write(&suggest_file, suggest).unwrap();
    ok(as_user(
        "pat",
        &["policy", "upload", s(&suggest_file), "--name", "suggest"],
    ));
    let suggesting = write_file(
        dir,
        "suggest.yaml",
        "kind: access_request_policy\nversion: v1\nmetadata:\n  name: suggest\nspec:\n  module: suggest\n  users: [eve]\n",
    );
    ok(as_user("pat", &["create", s(&suggesting)]));
    let id = create(&server, dir, "eve", &["--annotations", "ticket=OPS-2"]);
    let r = request_json(&server, &id);
    assert_eq!(r["spec"]["state"], "PENDING", "{r}");
    let verdicts = r["spec"]["policy_verdicts"].as_array().unwrap();
    let by = |policy: &str| verdicts.iter().find(|v| v["policy"] == policy).unwrap();
    let verdict = by("broken");
    assert_eq!(verdict["verdict"], "error", "{r}");
    assert!(!verdict["reason"].as_str().unwrap().is_empty());
    assert_eq!(by("suggest")["verdict"], "pending");
    assert_eq!(by("suggest")["reason"], "ask a dba");
    assert_eq!(
        r["spec"]["suggested_reviewers"],
        serde_json::json!(["alice", "bob"])
    );
    assert!(
        server.log().contains("access request policy failed"),
        "{}",
        server.log()
    );

    // Verdicts are audited, errors included.
    let audit = ok(as_user(
        "pat",
        &["audit", "ls", "--event", "access_request.policy"],
    ));
    assert!(audit.contains("\"verdict\":\"approve\""), "{audit}");
    assert!(audit.contains("approve-dba-zig"), "{audit}");
    assert!(audit.contains("\"verdict\":\"error\""), "{audit}");

    // Bad policies are refused and nothing is written.
    let ghost = write_file(
        dir,
        "ghost.yaml",
        "kind: access_request_policy\nversion: v1\nmetadata:\n  name: ghost\nspec:\n  module: nowhere\n",
    );
    let why = err(as_user("pat", &["create", s(&ghost)]));
    assert!(
        why.contains("policy module `nowhere` is not uploaded"),
        "{why}"
    );
    let no_module = write_file(
        dir,
        "none.yaml",
        "kind: access_request_policy\nversion: v1\nmetadata:\n  name: none\nspec:\n  roles: [dba]\n",
    );
    let why = err(as_user("pat", &["create", s(&no_module)]));
    assert!(why.contains("spec.module"), "{why}");
    let listed = ok(as_user("pat", &["get", "arp"]));
    assert!(
        listed.contains("broken")
            && listed.contains("suggest")
            && !listed.contains("ghost")
            && !listed.contains("dba-tickets"),
        "{listed}"
    );
    // Managing policies needs rights on access_request_policy.
    let why = err(as_user("carl", &["create", s(&broken)]));
    assert!(why.contains("may not call"), "{why}");
    let why = err(as_user("carl", &["rm", "arp/broken"]));
    assert!(
        why.contains("may not call DeleteAccessRequestPolicy"),
        "{why}"
    );
    server.stop();
}
