//! Build script: compiles `protos/*.proto` with protox (no system `protoc`)
//! and generates the prost messages and tonic stubs, with serde attributes
//! derived from the descriptors (field renames from `json_name`, helpers for
//! timestamps, bytes, enums, durations and yes/no booleans).

use std::collections::HashSet;
use std::error::Error;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};

type BuildResult<T = ()> = Result<T, Box<dyn Error>>;

const PROTOS: [&str; 4] = [
    "protos/wrappers.proto",
    "protos/events.proto",
    "protos/types.proto",
    "protos/auth.proto",
];

/// Packages whose messages derive serde. `wrappers` has hand-written impls.
const SERDE_PACKAGES: [&str; 3] = ["services", "auth", "events"];

/// Packages whose messages refuse unknown fields (YAML resources).
const STRICT_PACKAGES: [&str; 1] = ["services"];

/// int64 nanosecond fields written as Go-style durations ("8h", "1h30m").
const DURATIONS: [&str; 7] = [
    ".services.PolicyLimits.Timeout",
    ".services.RoleOptions.MaxSessionTTL",
    ".services.RoleOptions.ClientIdleTimeout",
    ".services.Rotation.GracePeriod",
    ".services.ClusterConfigSpecV3.ClientIdleTimeout",
    ".services.ClusterConfigSpecV3.KeepAliveInterval",
    ".services.CommandLabelV2.Period",
];

/// bool fields that also accept "yes"/"no"/"on"/"off" like Teleport's Bool.
const FLEX_BOOLS: [&str; 6] = [
    ".services.RoleOptions.ForwardAgent",
    ".services.RoleOptions.PortForwarding",
    ".services.RoleOptions.DisconnectExpiredCert",
    ".services.RoleOptions.PermitX11Forwarding",
    ".services.ClusterConfigSpecV3.DisconnectExpiredCert",
    ".services.ClusterConfigSpecV3.LocalAuth",
];

/// Enum types and the `serde_helpers` module writing them by name.
const ENUMS: [(&str, &str); 5] = [
    (".services.RequestState", "request_state"),
    (".services.PrivateKeyType", "private_key_type"),
    (
        ".services.CertAuthoritySpecV2.SigningAlgType",
        "signing_alg",
    ),
    (".services.KeepAlive.KeepAliveType", "keep_alive_type"),
    (".auth.Operation", "operation"),
];

const TIMESTAMP: &str = ".google.protobuf.Timestamp";
const HELPERS: &str = "crate::serde_helpers";

/// What the descriptor walk collects.
#[derive(Default)]
struct Plan {
    /// (field path, serde attribute).
    fields: Vec<(String, String)>,
    /// Paths of real oneofs (they become Rust enums).
    oneofs: Vec<String>,
    /// Paths of every message, enum and oneof, to detect path clashes.
    type_paths: HashSet<String>,
    /// Names of map entry messages.
    map_entries: HashSet<String>,
    /// Entries of DURATIONS and FLEX_BOOLS that matched a field.
    used: HashSet<String>,
}

fn main() -> BuildResult {
    println!("cargo:rerun-if-changed=protos");
    println!("cargo:rerun-if-changed=build.rs");

    let fds = protox::compile(PROTOS, ["protos"])?;
    let plan = plan(&fds)?;

    let mut builder = tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .generate_default_stubs(true)
        .btree_map(".");
    for pkg in SERDE_PACKAGES {
        builder = builder.message_attribute(
            format!(".{pkg}"),
            "#[derive(serde::Serialize, serde::Deserialize)]\n#[serde(default)]",
        );
    }
    for pkg in STRICT_PACKAGES {
        builder = builder.message_attribute(format!(".{pkg}"), "#[serde(deny_unknown_fields)]");
    }
    for oneof in &plan.oneofs {
        builder = builder.enum_attribute(
            oneof,
            "#[derive(serde::Serialize, serde::Deserialize)]\n#[serde(rename_all = \"snake_case\")]",
        );
    }
    for (path, attr) in &plan.fields {
        builder = builder.field_attribute(path, attr);
    }
    builder.compile_fds(fds)?;
    Ok(())
}

/// Walks the descriptors of the serde packages and decides every field's
/// serde attribute.
fn plan(fds: &FileDescriptorSet) -> BuildResult<Plan> {
    let mut plan = Plan::default();
    let files: Vec<_> = fds
        .file
        .iter()
        .filter(|f| SERDE_PACKAGES.contains(&f.package()))
        .collect();
    for file in &files {
        let prefix = format!(".{}", file.package());
        for e in &file.enum_type {
            plan.type_paths.insert(format!("{prefix}.{}", e.name()));
        }
        for msg in &file.message_type {
            collect_types(&prefix, msg, &mut plan);
        }
    }
    for file in &files {
        let prefix = format!(".{}", file.package());
        for msg in &file.message_type {
            walk(&prefix, msg, &mut plan)?;
        }
    }
    for path in DURATIONS.iter().chain(FLEX_BOOLS.iter()) {
        if !plan.used.contains(*path) {
            return Err(
                format!("build.rs names `{path}`, which is not a field of the right type").into(),
            );
        }
    }
    // prost matches a field path against registered paths and their prefixes,
    // so a field path must not also name a message, enum or oneof.
    for (path, _) in &plan.fields {
        if plan.type_paths.contains(path) {
            return Err(format!("field path `{path}` clashes with a type of the same path").into());
        }
    }
    Ok(plan)
}

fn collect_types(prefix: &str, msg: &DescriptorProto, plan: &mut Plan) {
    let path = format!("{prefix}.{}", msg.name());
    if msg.options.as_ref().is_some_and(|o| o.map_entry()) {
        plan.map_entries.insert(path.clone());
    }
    for e in &msg.enum_type {
        plan.type_paths.insert(format!("{path}.{}", e.name()));
    }
    for o in &msg.oneof_decl {
        plan.type_paths.insert(format!("{path}.{}", o.name()));
    }
    for nested in &msg.nested_type {
        collect_types(&path, nested, plan);
    }
    plan.type_paths.insert(path);
}

fn walk(prefix: &str, msg: &DescriptorProto, plan: &mut Plan) -> BuildResult {
    let path = format!("{prefix}.{}", msg.name());
    if plan.map_entries.contains(&path) {
        return Ok(());
    }
    let mut real_oneofs = HashSet::new();
    for field in &msg.field {
        if field.oneof_index.is_some() && !field.proto3_optional() {
            real_oneofs.insert(field.oneof_index());
            if field.r#type() != Type::Message || field.type_name() == TIMESTAMP {
                return Err(
                    format!("oneof member `{path}.{}` must be a message", field.name()).into(),
                );
            }
            continue;
        }
        let attr = field_attr(&path, field, plan)?;
        plan.fields.push((format!("{path}.{}", field.name()), attr));
    }
    for idx in real_oneofs {
        let oneof = msg
            .oneof_decl
            .get(usize::try_from(idx)?)
            .ok_or_else(|| format!("bad oneof index in `{path}`"))?;
        plan.oneofs.push(format!("{path}.{}", oneof.name()));
    }
    for nested in &msg.nested_type {
        walk(&path, nested, plan)?;
    }
    Ok(())
}

/// The `#[serde(...)]` attribute of one field.
fn field_attr(
    msg_path: &str,
    field: &FieldDescriptorProto,
    plan: &mut Plan,
) -> BuildResult<String> {
    let path = format!("{msg_path}.{}", field.name());
    let repeated = field.label() == Label::Repeated;
    let mut parts = Vec::new();

    if let Some(json) = field.json_name.as_deref() {
        if json != field.name() {
            parts.push(format!("rename = \"{json}\""));
        }
    }

    let helper = match field.r#type() {
        Type::Message if field.type_name() == TIMESTAMP => {
            if repeated {
                return Err(format!("repeated timestamp `{path}` is not supported").into());
            }
            Some("timestamp".to_owned())
        }
        Type::Bytes if repeated => Some("base64_seq".to_owned()),
        Type::Bytes => Some("base64".to_owned()),
        Type::Enum => {
            let module = ENUMS
                .iter()
                .find(|(name, _)| *name == field.type_name())
                .map(|(_, module)| *module)
                .ok_or_else(|| {
                    format!(
                        "enum `{}` of `{path}` has no serde helper",
                        field.type_name()
                    )
                })?;
            if repeated {
                return Err(format!("repeated enum `{path}` is not supported").into());
            }
            Some(module.to_owned())
        }
        Type::Int64 if DURATIONS.contains(&path.as_str()) && !repeated => {
            plan.used.insert(path.clone());
            Some("duration".to_owned())
        }
        Type::Bool if FLEX_BOOLS.contains(&path.as_str()) && !repeated => {
            plan.used.insert(path.clone());
            if field.proto3_optional() {
                Some("flex_bool_opt".to_owned())
            } else {
                Some("flex_bool".to_owned())
            }
        }
        _ => None,
    };
    if let Some(helper) = helper {
        parts.push(format!("with = \"{HELPERS}::{helper}\""));
    }
    // Enums are always written, so that e.g. `state: NONE` stays visible.
    if field.r#type() != Type::Enum {
        parts.push(format!("skip_serializing_if = \"{HELPERS}::is_default\""));
    }
    Ok(format!("#[serde({})]", parts.join(", ")))
}
