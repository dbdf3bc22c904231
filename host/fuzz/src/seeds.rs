//! Writes the first seeds of every corpus from the real encoders (certificates from the
//! CA, keys, packed modules, encoded records). Run once by hand,
//! `cargo test --workspace --lib -- --ignored write_seeds`, then minimise with afl-cmin
//! (`scripts/fuzz` does it when it finishes a run).

use std::path::Path;
use std::time::{Duration, SystemTime};

use portcullis_api::services::{
    AccessRequestPolicySpecV1, AccessRequestPolicyV1, Metadata, ProvisionTokenSpecV2,
    ProvisionTokenV2, RoleConditions, RoleSpecV3, RoleV3, Rule, ServerSpecV2, ServerV2, UserSpecV2,
    UserV2,
};
use portcullis_ca::{ClientKey, Identity, SshAlgorithm, SshAuthority, SubjectKey, TlsAuthority};
use portcullis_store::codec;
use prost::Message;

fn write(target: &str, seeds: &[Vec<u8>]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:02}")), seed).unwrap();
    }
}

fn texts(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn selected(selector: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![selector];
    out.extend_from_slice(bytes);
    out
}

fn metadata(name: &str) -> Option<Metadata> {
    Some(Metadata {
        name: name.into(),
        ..Metadata::default()
    })
}

#[test]
#[ignore = "writes the initial corpora; run by hand"]
fn write_seeds() {
    write(
        "yaml_documents",
        &texts(&[
            "kind: role\nversion: v3\nmetadata: {name: dba}\nspec:\n  allow:\n    logins: [root, '{{internal.logins}}']\n    node_labels: {env: [prod]}\n    rules:\n    - resources: [role, user]\n      verbs: [read, list]\n      where: contains(user.spec.traits[\"team\"], \"dba\")\n      actions: ['log(\"info\", \"%v\", user.metadata.name)']\n  deny:\n    logins: [nobody]\n  options: {max_session_ttl: 8h}\n",
            "kind: user\nversion: v2\nmetadata: {name: alice, labels: {team: dba}}\nspec:\n  roles: [dba, access]\n  traits: {logins: [alice, root]}\n",
            "kind: access_request_policy\nversion: v1\nmetadata: {name: p}\nspec: {module: approve, roles: ['^db-.*$'], users: ['*']}\n",
            "---\nkind: role\nmetadata: {name: a}\nspec: {allow: {request: {roles: ['^x$']}}}\n---\n---\nkind: user\nmetadata: {name: b}\n",
            "kind: role\nmetadata: {name: '{{bad}}'}\n",
            "- not a mapping\n",
        ]),
    );

    let rule = Rule {
        resources: vec!["role".into(), "user".into()],
        verbs: vec!["read".into(), "list".into()],
        r#where: "equals(user.metadata.name, \"alice\")".into(),
        actions: vec!["log(\"info\", \"%v\", verb)".into()],
    };
    let role = RoleV3 {
        kind: "role".into(),
        version: "v3".into(),
        metadata: metadata("dba"),
        spec: Some(RoleSpecV3 {
            allow: Some(RoleConditions {
                logins: vec!["root".into()],
                rules: vec![rule],
                ..RoleConditions::default()
            }),
            ..RoleSpecV3::default()
        }),
        ..Default::default()
    };
    let user = UserV2 {
        kind: "user".into(),
        version: "v2".into(),
        metadata: metadata("alice"),
        spec: Some(UserSpecV2 {
            roles: vec!["dba".into()],
            ..UserSpecV2::default()
        }),
        ..Default::default()
    };
    let token = ProvisionTokenV2 {
        kind: "token".into(),
        version: "v2".into(),
        metadata: metadata("0123456789abcdef0123456789abcdef"),
        spec: Some(ProvisionTokenSpecV2 {
            roles: vec!["Node".into(), "proxy".into()],
        }),
        ..Default::default()
    };
    let policy = AccessRequestPolicyV1 {
        kind: "access_request_policy".into(),
        version: "v1".into(),
        metadata: metadata("p"),
        spec: Some(AccessRequestPolicySpecV1 {
            module: "approve".into(),
            roles: vec!["^db-.*$".into()],
            ..AccessRequestPolicySpecV1::default()
        }),
        ..Default::default()
    };
    let server = ServerV2 {
        kind: "node".into(),
        version: "v2".into(),
        metadata: metadata("5f2ad1c0-node"),
        spec: Some(ServerSpecV2 {
            addr: "10.0.0.1:3022".into(),
            hostname: "node-1".into(),
            ..ServerSpecV2::default()
        }),
        ..ServerV2::default()
    };
    write(
        "resources",
        &[
            selected(0, &role.encode_to_vec()),
            selected(1, &user.encode_to_vec()),
            selected(2, &token.encode_to_vec()),
            selected(2, b"node,proxy:0123456789abcdef0123456789abcdef"),
            selected(3, &policy.encode_to_vec()),
            selected(4, &server.encode_to_vec()),
            selected(5, &server.encode_to_vec()),
            selected(6, &server.encode_to_vec()),
            selected(7, &server.encode_to_vec()),
        ],
    );

    write(
        "predicate",
        &texts(&[
            "contains(user.spec.traits[\"team\"], \"dba\") && !equals(resource.metadata.name, \"admin\")",
            "equals(verb, \"read\") || kind == \"role\"",
            "contains_any(set(\"a\", user.spec.roles), [\"dba\"])",
            "contains_all(user.spec.traits[\"logins\"], set(\"root\"))",
            "has_prefix(resource.metadata.name, `db-`) && is_subset(user.spec.roles, \"access\", \"dba\")",
            "all_end_with(user.spec.traits[\"logins\"], \"t\") != all_equal(user.spec.roles, \"dba\")",
            "log(\"info\", \"%v read %v\", user.metadata.name, resource.metadata.name)",
            "annotate(\"reason\", \"\\u00e9\\n\\t\")",
            "resource.metadata.labels[\"env\"] == \"prod\"",
            "((true))",
            "unknown_fn(1)",
        ]),
    );

    let good = wat::parse_str(include_str!("../../policy/src/tests/good.wat")).unwrap();
    let meta = r#"{"abi":1,"name":"good","version":"1.0.0","hooks":["where","action","access_request","function"],"functions":["echo"],"capabilities":["log","time","input"]}"#;
    let packed = portcullis_policy::pack(&good, meta).unwrap();
    let minimal = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "portcullis_alloc") (param i32) (result i32) i32.const 0)
             (func (export "portcullis_where") (param i32 i32) (result i64) i64.const 0))"#,
    )
    .unwrap();
    let minimal_meta = r#"{"abi":1,"name":"m","version":"0.1.0","hooks":["where"]}"#;
    write(
        "policy_module",
        &[
            packed,
            portcullis_policy::pack(&minimal, minimal_meta).unwrap(),
            minimal,
        ],
    );
    write(
        "policy_metadata",
        &texts(&[
            meta,
            minimal_meta,
            r#"{"abi":1,"name":"lookup","version":"2.0.0-rc.1","hooks":["access_request"],"capabilities":["lookup:user","lookup:role","call"],"input_mode":"pull"}"#,
        ]),
    );
    write(
        "policy_output",
        &[
            selected(0, br#"{"result":true}"#),
            selected(0, br#"{"error":"syntax error: x at column 5","kind":"syntax"}"#),
            selected(
                1,
                br#"{"effects":[{"log":{"level":"info","message":"m"}},{"annotate":{"key":"k","value":"v"}}]}"#,
            ),
            selected(2, br#"{"verdict":"approve","reason":"ok","annotations":{"a":["b"]}}"#),
            selected(2, br#"{"verdict":"pending"}"#),
            selected(3, br#"{"result":[1,"two",{"three":3.0},null]}"#),
        ],
    );

    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    let ca = TlsAuthority::generate("example", "example", now, hour * 24).unwrap();
    let mut alice = Identity::new("alice", vec!["dba".into(), "access".into()]);
    alice.logins = vec!["root".into()];
    alice.traits = [("team".to_owned(), vec!["dba".to_owned()])].into();
    alice.active_requests = vec!["req-1".into()];
    let key = ClientKey::generate().unwrap();
    let subject = SubjectKey::from_pem(&key.public_key_pem().unwrap()).unwrap();
    let certs = [
        ca.issue_client_cert(&alice, Some(&subject), now, hour)
            .unwrap(),
        ca.issue_client_cert(&Identity::new("bob", vec![]), None, now, hour)
            .unwrap(),
    ];
    let der = |pem: &str| {
        let cert = rustls_pemfile::certs(&mut pem.as_bytes()).next().unwrap();
        cert.unwrap().to_vec()
    };
    write(
        "identity",
        &certs.iter().map(|c| der(&c.cert_pem)).collect::<Vec<_>>(),
    );

    let ed = key.public_key_openssh().unwrap();
    write(
        "ssh_pubkey",
        &[
            ed.into_bytes(),
            key.public_key_pem().unwrap().into_bytes(),
            ssh_line(SshAlgorithm::Ed25519),
            ssh_line(SshAlgorithm::Rsa3072),
        ],
    );

    let later = now + hour;
    write(
        "store_record",
        &[
            selected(0, &codec::encode_rocks_record(42, None, b"value")),
            selected(
                0,
                &codec::encode_rocks_record(7, Some(later), &[0x0a, 0x04, b'r', b'o', b'l', b'e']),
            ),
            selected(1, &codec::encode_etcd_value(b"value", Some(later))),
            selected(1, &codec::encode_etcd_value(b"", None)),
            selected(2, &42u64.to_be_bytes()),
            selected(
                3,
                &codec::rocks_index_key(1_700_000_000_000_000_000, b"/tokens/x"),
            ),
        ],
    );
}

fn ssh_line(algorithm: SshAlgorithm) -> Vec<u8> {
    let key = SshAuthority::generate(algorithm).unwrap();
    format!("{} alice@example", key.public_key_openssh().unwrap()).into_bytes()
}
