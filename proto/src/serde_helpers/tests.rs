//! Each serde adapter works on the fields the build script gave it to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use prost_types::Timestamp;
use serde_json::json;

use super::{duration, timestamp};
use crate::auth::{event, Event, HostCerts, Operation, RequestStateSetter};
use crate::services::{
    AccessRequestFilter, AccessRequestV3, CertAuthorityV2, ClusterConfigV3, KeepAlive,
    RequestState, RoleOptions, ServerV2,
};
use crate::wrappers::{LabelValues, StringValues};

const SEC: i64 = 1_000_000_000;

#[test]
fn timestamps_are_rfc3339() {
    let ts = Timestamp {
        seconds: 1_795_287_600,
        nanos: 0,
    };
    assert_eq!(timestamp::format(&ts).unwrap(), "2026-11-21T19:00:00Z");
    assert_eq!(timestamp::parse("2026-11-21T19:00:00Z").unwrap(), ts);
    assert_eq!(timestamp::parse("2026-11-21T21:00:00+02:00").unwrap(), ts);
    let fine = Timestamp {
        seconds: 1_795_287_600,
        nanos: 250_000_000,
    };
    assert_eq!(timestamp::format(&fine).unwrap(), "2026-11-21T19:00:00.25Z");
    assert_eq!(timestamp::parse("2026-11-21T19:00:00.25Z").unwrap(), fine);
    let before_epoch = timestamp::parse("1969-12-31T23:59:59.5Z").unwrap();
    assert_eq!(
        (before_epoch.seconds, before_epoch.nanos),
        (-1, 500_000_000)
    );
    assert_eq!(
        timestamp::format(&before_epoch).unwrap(),
        "1969-12-31T23:59:59.5Z"
    );
    let err = timestamp::parse("tomorrow").unwrap_err();
    assert!(
        matches!(&err, timestamp::TimestampError::Invalid { text, .. } if text == "tomorrow"),
        "{err:?}"
    );
    assert!(err.to_string().contains("`tomorrow`"), "{err}");
}

#[test]
fn timestamp_fields_accept_null_and_empty() {
    for value in [json!(null), json!("")] {
        let ka: KeepAlive = serde_json::from_value(json!({ "expires": value })).unwrap();
        assert_eq!(ka.expires, None);
    }
    let ka: KeepAlive =
        serde_json::from_value(json!({ "server_name": "n1", "expires": "2026-11-21T19:00:00Z" }))
            .unwrap();
    assert_eq!(ka.name, "n1");
    assert_eq!(ka.expires.unwrap().seconds, 1_795_287_600);
    let out = serde_json::to_value(&ka).unwrap();
    assert_eq!(out["expires"], "2026-11-21T19:00:00Z");
    assert_eq!(out["server_name"], "n1");
    assert_eq!(out["type"], "NODE");
    let err = serde_json::from_value::<KeepAlive>(json!({ "expires": "soon" })).unwrap_err();
    assert!(err.to_string().contains("`soon`"), "{err}");
}

#[test]
fn durations_format_compactly() {
    for (nanos, text) in [
        (0, "0s"),
        (8 * 3600 * SEC, "8h"),
        (30 * 60 * SEC, "30m"),
        (90 * 60 * SEC, "1h30m"),
        (10 * SEC, "10s"),
        (3600 * SEC + 5 * SEC, "1h5s"),
        (1_500_000_000, "1s500ms"),
        (1_001, "1us1ns"),
        (-90 * SEC, "-1m30s"),
        (100 * 3600 * SEC, "100h"),
    ] {
        assert_eq!(duration::format(nanos), text);
        assert_eq!(duration::parse(text).unwrap(), nanos, "{text}");
    }
}

#[test]
fn durations_parse_go_and_humantime_forms() {
    for (text, nanos) in [
        ("8h0m0s", 8 * 3600 * SEC),
        ("1.5h", 90 * 60 * SEC),
        ("300ms", 300_000_000),
        ("2µs", 2_000),
        ("+10s", 10 * SEC),
        ("never", 0),
        ("0", 0),
        ("", 0),
        ("2days", 48 * 3600 * SEC),
        ("1h 30min", 90 * 60 * SEC),
    ] {
        assert_eq!(duration::parse(text).unwrap(), nanos, "{text}");
    }
    for bad in ["8", "h", "8x", "1h30", "-"] {
        let err = duration::parse(bad).unwrap_err().to_string();
        assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
    }
}

#[test]
fn duration_fields_accept_strings_and_nanoseconds() {
    let options: RoleOptions = serde_json::from_value(json!({
        "max_session_ttl": "8h",
        "client_idle_timeout": 600_000_000_000_i64,
    }))
    .unwrap();
    assert_eq!(options.max_session_ttl, 8 * 3600 * SEC);
    assert_eq!(options.client_idle_timeout, 600 * SEC);
    let out = serde_json::to_value(&options).unwrap();
    assert_eq!(
        out,
        json!({ "max_session_ttl": "8h", "client_idle_timeout": "10m" })
    );

    let config: ClusterConfigV3 = serde_norway::from_str(
        "spec:\n  client_idle_timeout: never\n  keep_alive_interval: 5m\n  local_auth: yes\n  disconnect_expired_cert: 'off'\n",
    )
    .unwrap();
    let spec = config.spec.unwrap();
    assert_eq!(spec.client_idle_timeout, 0);
    assert_eq!(spec.keep_alive_interval, 300 * SEC);
    assert!(spec.local_auth);
    assert!(!spec.disconnect_expired_cert);

    let server: ServerV2 = serde_json::from_value(json!({
        "spec": { "cmd_labels": { "arch": { "period": "1m", "command": ["uname", "-m"] } } }
    }))
    .unwrap();
    assert_eq!(server.spec.unwrap().cmd_labels["arch"].period, 60 * SEC);

    let err = serde_json::from_value::<RoleOptions>(json!({ "max_session_ttl": "8 hours-ish" }))
        .unwrap_err();
    assert!(err.to_string().contains("`8 hours-ish`"), "{err}");
}

#[test]
fn rotation_fields_use_durations_and_timestamps() {
    let yaml = r#"
kind: cert_authority
version: v2
metadata: {name: example.com}
spec:
  type: host
  cluster_name: example.com
  checking_keys: [c3NoLXJzYSBBQUFB]
  signing_alg: RSA_SHA2_512
  tls_key_pairs:
    - cert: LS0tLS1CRUdJTg==
      key: a2V5
      key_type: PKCS11
  rotation:
    state: in_progress
    phase: update_clients
    mode: auto
    current_id: r1
    started: 2026-11-21T19:00:00Z
    grace_period: 48h
    schedule:
      update_clients: 2026-11-21T20:00:00Z
      update_servers: 2026-11-22T00:00:00Z
      standby: 2026-11-22T02:00:00Z
"#;
    let ca: CertAuthorityV2 = serde_norway::from_str(yaml).unwrap();
    let spec = ca.spec.as_ref().unwrap();
    assert_eq!(spec.checking_keys, [b"ssh-rsa AAAA".to_vec()]);
    assert_eq!(spec.signing_alg, 3);
    assert_eq!(spec.tls_key_pairs[0].cert, b"-----BEGIN");
    assert_eq!(spec.tls_key_pairs[0].key, b"key");
    assert_eq!(spec.tls_key_pairs[0].key_type, 1);
    let rotation = spec.rotation.as_ref().unwrap();
    assert_eq!(rotation.grace_period, 48 * 3600 * SEC);
    assert_eq!(rotation.started.unwrap().seconds, 1_795_287_600);
    let schedule = rotation.schedule.as_ref().unwrap();
    assert_eq!(schedule.standby.unwrap().seconds, 1_795_287_600 + 7 * 3600);

    let out = serde_json::to_value(&ca).unwrap();
    assert_eq!(out["spec"]["rotation"]["grace_period"], "48h");
    assert_eq!(out["spec"]["signing_alg"], "RSA_SHA2_512");
    assert_eq!(out["spec"]["tls_key_pairs"][0]["key_type"], "PKCS11");
    assert_eq!(out["spec"]["checking_keys"][0], "c3NoLXJzYSBBQUFB");
    assert_eq!(
        out["spec"]["rotation"]["schedule"]["update_clients"],
        "2026-11-21T20:00:00Z"
    );
    let back: CertAuthorityV2 = serde_json::from_value(out).unwrap();
    assert_eq!(back, ca);
}

#[test]
fn request_states_are_names() {
    let req: AccessRequestV3 = serde_norway::from_str(
        "kind: access_request\nversion: v3\nmetadata: {name: r1}\nspec:\n  user: contractor\n  roles: [dba]\n  state: PENDING\n  system_annotations: {ticket: '137'}\n",
    )
    .unwrap();
    let spec = req.spec.as_ref().unwrap();
    assert_eq!(spec.state, RequestState::Pending as i32);
    assert_eq!(spec.system_annotations["ticket"].values, ["137"]);
    let out = serde_norway::to_string(&req).unwrap();
    assert!(out.contains("state: PENDING"), "{out}");

    for (value, state) in [
        (json!("APPROVED"), RequestState::Approved),
        (json!("denied"), RequestState::Denied),
        (json!(0), RequestState::None),
        (json!(2), RequestState::Approved),
    ] {
        let filter: AccessRequestFilter =
            serde_json::from_value(json!({ "state": value })).unwrap();
        assert_eq!(filter.state, state as i32);
    }
    // The NONE state is still written, so a filter shows what it selects.
    let out = serde_json::to_value(AccessRequestFilter::default()).unwrap();
    assert_eq!(out, json!({ "state": "NONE" }));
    for bad in [json!("MAYBE"), json!(9)] {
        let err =
            serde_json::from_value::<AccessRequestFilter>(json!({ "state": bad })).unwrap_err();
        assert!(err.to_string().contains("unknown RequestState"), "{err}");
    }
}

#[test]
fn operations_are_names_and_oneofs_are_tagged() {
    let event = Event {
        r#type: Operation::Delete as i32,
        resource: Some(event::Resource::ResourceHeader(Default::default())),
    };
    let out = serde_json::to_value(&event).unwrap();
    assert_eq!(out["type"], "DELETE");
    assert!(out["resource"]["resource_header"].is_object(), "{out}");
    assert_eq!(serde_json::from_value::<Event>(out).unwrap(), event);
    let init: Event = serde_json::from_value(json!({ "type": "INIT" })).unwrap();
    assert_eq!(init.r#type, Operation::Init as i32);
    let put: Event = serde_json::from_value(json!({ "type": 1 })).unwrap();
    assert_eq!(put.r#type, Operation::Put as i32);
}

#[test]
fn label_values_are_plain_maps() {
    let setter: RequestStateSetter = serde_json::from_value(json!({
        "id": "r1",
        "state": "DENIED",
        "annotations": { "reason": "not today", "tickets": ["1", "2"] },
    }))
    .unwrap();
    let annotations = setter.annotations.as_ref().unwrap();
    assert_eq!(
        annotations.values["reason"],
        StringValues::from(["not today"])
    );
    assert_eq!(annotations.values["tickets"].values, ["1", "2"]);
    let out = serde_json::to_value(&setter).unwrap();
    assert_eq!(
        out["annotations"],
        json!({ "reason": ["not today"], "tickets": ["1", "2"] })
    );

    let labels: LabelValues = serde_norway::from_str("'*': '*'\nenv: [prod, dev]\n").unwrap();
    assert_eq!(labels.values["*"].values, ["*"]);
    assert_eq!(labels.values["env"].values, ["prod", "dev"]);
    let labels: LabelValues = serde_norway::from_str("null").unwrap();
    assert!(labels.values.is_empty());
    let values: StringValues = serde_norway::from_str("42").unwrap();
    assert_eq!(values.values, ["42"]);
}

#[test]
fn repeated_bytes_are_base64_lists() {
    let certs = HostCerts {
        ssh: b"ssh-cert".to_vec(),
        tls: b"tls-cert".to_vec(),
        tlsca_certs: vec![b"ca1".to_vec(), b"ca2".to_vec()],
        sshca_certs: vec![],
    };
    let out = serde_json::to_value(&certs).unwrap();
    assert_eq!(
        out,
        json!({ "ssh": "c3NoLWNlcnQ=", "tls": "dGxzLWNlcnQ=", "tls_ca_certs": ["Y2Ex", "Y2Ey"] })
    );
    assert_eq!(serde_json::from_value::<HostCerts>(out).unwrap(), certs);
    let err = serde_json::from_value::<HostCerts>(json!({ "ssh": "***" })).unwrap_err();
    assert!(err.to_string().contains("invalid base64"), "{err}");
}

#[test]
fn flexible_booleans_refuse_nonsense() {
    let err =
        serde_json::from_value::<RoleOptions>(json!({ "forward_agent": "maybe" })).unwrap_err();
    assert!(err.to_string().contains("`maybe`"), "{err}");
    let options: RoleOptions = serde_json::from_value(json!({ "port_forwarding": null })).unwrap();
    assert_eq!(options.port_forwarding, None);
    let options: RoleOptions = serde_norway::from_str("port_forwarding: yes").unwrap();
    assert_eq!(options.port_forwarding, Some(true));
}
