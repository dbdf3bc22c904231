//! The admin identity in the data directory, kept valid across rotations.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use portcullis_api::TlsFiles;
use portcullis_ca::Identity;

use super::{KeyringError, Snapshot};

/// How long the admin identity is valid.
const ADMIN_TTL: Duration = Duration::from_secs(365 * 24 * 3600);
/// The admin identity is reissued when less than this is left.
const ADMIN_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);
/// User name of the bootstrap admin identity.
pub const ADMIN_USER: &str = "admin";
/// The role that may do anything (built in: `portcullis_authz::builtin::admin`).
pub const ADMIN_ROLE: &str = portcullis_authz::builtin::ADMIN;

pub use portcullis_api::pem_list;

/// Writes the admin identity unless the one on disk is signed by the user authority's
/// current signer, trusts exactly the current host CA certificates and is not close to
/// expiry.
pub fn ensure(dir: &Path, snapshot: &Snapshot, now: SystemTime) -> Result<(), KeyringError> {
    let TlsFiles {
        cert: crt,
        key,
        cas,
    } = TlsFiles::in_dir(dir, ADMIN_USER);
    // The admin's `.cas` trusts every trusted host CA certificate.
    let wanted_cas = pem_list(&snapshot.host.trusted_tls);
    let signer = &snapshot.user.tls;
    if usable(&crt, &key, &cas, &wanted_cas, &signer.key_id(), now) {
        return Ok(());
    }
    let identity = Identity::new(ADMIN_USER, vec![ADMIN_ROLE.to_owned()]);
    let issued = signer.issue_client_cert(&identity, None, now, ADMIN_TTL)?;
    let key_pem = issued.key_pem.ok_or_else(|| KeyringError::Broken {
        ca_type: super::USER_CA.into(),
        reason: "the admin key was not generated".into(),
    })?;
    // All three are written to temporary files first and then renamed one right after the
    // other, so a reader sees a mismatched key and certificate for microseconds at most.
    let staged = [
        (key, key_pem.as_bytes()),
        (crt, issued.cert_pem.as_bytes()),
        (cas, wanted_cas.as_bytes()),
    ]
    .into_iter()
    .map(|(path, data)| stage(&path, data).map(|tmp| (tmp, path)))
    .collect::<Result<Vec<_>, _>>()?;
    for (tmp, path) in &staged {
        std::fs::rename(tmp, path).map_err(|source| KeyringError::Io {
            path: path.clone(),
            source,
        })?;
    }
    tracing::info!("wrote admin identity");
    Ok(())
}

fn usable(
    crt: &Path,
    key: &Path,
    cas: &Path,
    wanted_cas: &str,
    signer_key_id: &[u8],
    now: SystemTime,
) -> bool {
    let (Ok(crt_pem), Ok(_), Ok(cas_pem)) = (
        std::fs::read_to_string(crt),
        std::fs::read(key),
        std::fs::read_to_string(cas),
    ) else {
        return false;
    };
    if cas_pem != wanted_cas {
        return false;
    }
    let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(crt_pem.as_bytes()) else {
        return false;
    };
    let Ok(identity) = Identity::from_certificate_der(&pem.contents) else {
        return false;
    };
    let signed_by_current = matches!(
        portcullis_ca::authority_key_id(&pem.contents),
        Ok(Some(id)) if id == signer_key_id
    );
    let fresh = identity
        .expires
        .and_then(|e| e.duration_since(now).ok())
        .is_some_and(|left| left > ADMIN_RENEW_BEFORE);
    signed_by_current && fresh && identity.has_role(ADMIN_ROLE)
}

/// Writes `data` to a private temporary file next to `path`, synced, and returns its path.
fn stage(path: &Path, data: &[u8]) -> Result<PathBuf, KeyringError> {
    portcullis_api::private::stage_private(path, data).map_err(|source| KeyringError::Io {
        path: path.to_owned(),
        source,
    })
}
