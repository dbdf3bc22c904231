//! `resources`: resources as the server receives them (protobuf, as in an RPC body or a
//! stored record) through its validation. The first byte picks the kind, the rest is the
//! message.

use portcullis_api::services::{AccessRequestPolicyV1, ProvisionTokenV2, RoleV3, ServerV2, UserV2};
use portcullis_server::presence::{validate::normalize_server, ServerKind};
use portcullis_server::resources::validate::normalize_user;
use prost::Message;

use crate::predicate_lang::NativeHooks;

/// Decodes the message after the selector byte as the kind it picks (role, user, token,
/// access-request policy, or one of the server kinds), the way a stored record is read,
/// and validates it as the server does. What validation accepts is a fixed point: it
/// validates again to itself, and survives an encode/decode round trip.
pub fn resources(data: &[u8]) {
    let (selector, bytes) = crate::split_selector(data);
    match selector % 8 {
        0 => check::<RoleV3>(bytes, |role| {
            portcullis_server::roles::validate(role, &NativeHooks).map_err(|e| e.to_string())
        }),
        1 => check::<UserV2>(bytes, |user| {
            normalize_user(user).map_err(|e| e.to_string())
        }),
        2 => {
            check::<ProvisionTokenV2>(bytes, |token| {
                portcullis_server::tokens::normalize(token).map_err(|e| e.to_string())
            });
            if let Ok(text) = std::str::from_utf8(bytes) {
                let _ = portcullis_server::tokens::parse_static_token(text);
            }
        }
        3 => check::<AccessRequestPolicyV1>(bytes, |policy| {
            portcullis_server::access_requests::approval::normalize(policy)
                .map_err(|e| e.to_string())
        }),
        n => {
            let kind = [
                ServerKind::Node,
                ServerKind::Proxy,
                ServerKind::App,
                ServerKind::Kube,
            ][usize::from(n - 4)];
            check::<ServerV2>(bytes, |server| {
                normalize_server(kind, server).map_err(|e| e.to_string())
            });
        }
    }
}

fn check<T: Message + Default + Clone + PartialEq + std::fmt::Debug>(
    bytes: &[u8],
    validate: impl Fn(&mut T) -> Result<(), String>,
) {
    let kind = std::any::type_name::<T>();
    let Ok(mut res) = T::decode(bytes) else {
        return;
    };
    if validate(&mut res).is_err() {
        return;
    }
    let mut again = res.clone();
    let checked = validate(&mut again);
    assert!(
        checked.is_ok(),
        "a validated {kind} fails validation again: {checked:?}"
    );
    assert_eq!(again, res, "validating a validated {kind} changed it");
    let decoded = T::decode(res.encode_to_vec().as_slice());
    assert_eq!(decoded.as_ref().ok(), Some(&res), "{kind} round trip");
}
