//! End-to-end: bad YAML or resources get a clear error and leave stored data unchanged.

use portcullis_api::documents::parse_documents;
use portcullis_tests::{err, rt, s, write_file, Server, SEED_RSCS_YAML};

#[test]
fn bad_documents_are_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let good_role =
        "kind: role\nversion: v3\nmetadata:\n  name: good\nspec:\n  allow:\n    logins: [x]\n";
    let cases: &[(&str, String, &[&str])] = &[
        (
            "one bad among good",
            format!("{good_role}---\n{}", SEED_RSCS_YAML.replace("verbs: ['list','read','update']", "verbs: 7")),
            &["document 3", "spec.allow.rules[0].verbs", "nothing was written"],
        ),
        ("malformed yaml", format!("{good_role}---\nkind: role\nmetadata: [\n"), &["malformed YAML"]),
        ("unknown kind", format!("{good_role}---\nkind: gizmo\nmetadata: {{name: g}}\n"), &["document 2", "unknown or unsupported kind `gizmo`"]),
        ("bad version", format!("{good_role}---\nkind: role\nversion: v1\nmetadata: {{name: r}}\n"), &["document 2", "version `v1`"]),
        ("bad name", format!("{good_role}---\nkind: user\nmetadata: {{name: 'a b'}}\n"), &["document 2", "invalid user name `a b`"]),
        ("wrong field type", format!("{good_role}---\nkind: user\nmetadata: {{name: u}}\nspec: {{roles: {{a: b}}}}\n"), &["document 2", "spec.roles"]),
        ("unknown field", format!("{good_role}---\nkind: role\nmetadata: {{name: r}}\nspec: {{allow: {{logns: [x]}}}}\n"), &["document 2", "logns"]),
    ];
    for (i, (what, text, needles)) in cases.iter().enumerate() {
        let file = write_file(tmp.path(), &format!("bad{i}.yaml"), text);
        let why = err(server.pctl(&["create", s(&file)]));
        for needle in *needles {
            assert!(
                why.contains(needle),
                "{what}: `{needle}` missing from: {why}"
            );
        }
        let roles = server.pctl_ok(&["get", "roles"]);
        assert!(
            parse_documents(&roles).unwrap().is_empty(),
            "{what}: something was written: {roles}"
        );
        let users = server.pctl_ok(&["get", "users"]);
        assert!(
            parse_documents(&users).unwrap().is_empty(),
            "{what}: something was written: {users}"
        );
    }

    // An existing resource in the middle of a file: nothing is written.
    server.pctl_ok(&["create", s(&write_file(tmp.path(), "good.yaml", good_role))]);
    let mixed = write_file(tmp.path(), "mixed.yaml", SEED_RSCS_YAML.to_owned().as_str());
    let mixed_text = format!("{SEED_RSCS_YAML}---\n{good_role}");
    std::fs::write(&mixed, mixed_text).unwrap();
    let why = err(server.pctl(&["create", s(&mixed)]));
    assert!(why.contains("role `good` already exists"), "{why}");
    let roles = parse_documents(&server.pctl_ok(&["get", "roles"])).unwrap();
    assert_eq!(roles.len(), 1, "only the earlier role is stored");

    // Bad references on the command line.
    let why = err(server.pctl(&["get", "widgets"]));
    assert!(why.contains("unknown resource kind `widgets`"), "{why}");
    let why = err(server.pctl(&["rm", "role"]));
    assert!(why.contains("name the resource"), "{why}");
    let why = err(server.pctl(&["create", "/nonexistent.yaml"]));
    assert!(why.contains("cannot read `/nonexistent.yaml`"), "{why}");
    server.stop();
}

#[test]
fn the_server_refuses_invalid_resources_sent_directly() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let rt = rt();
    rt.block_on(async {
        let client = server.admin_client().await;
        let mut role = portcullis_api::services::RoleV3::default();
        let err = client.upsert_role(role.clone()).await.unwrap_err();
        assert!(
            err.to_string().contains("metadata.name is required"),
            "{err}"
        );
        role.metadata = Some(portcullis_api::services::Metadata {
            name: "r".into(),
            ..Default::default()
        });
        role.version = "v2".into();
        let err = client.upsert_role(role).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("role version `v2` is not supported"),
            "{err}"
        );
        assert!(client.get_roles().await.unwrap().is_empty());
    });
    server.stop();
}
