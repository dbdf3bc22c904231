//! `yaml_documents`: the multi-document YAML of `pctl create`, with the role language's
//! checks, as the CLI reads a file.

use portcullis_api::documents::{parse_documents_with, Document};

/// Parses `data` (as text) into resources the way `pctl create -f` does. A document it
/// accepts passes the role language's checks on its own as well.
pub fn yaml_documents(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(docs) = parse_documents_with(text, portcullis_authz::validate::document) else {
        return;
    };
    for doc in &docs {
        let _ = (doc.kind(), doc.name());
        if let Document::Role(role) = doc {
            let checked = portcullis_authz::validate::role(role);
            assert!(
                checked.is_ok(),
                "an accepted role fails validation: {checked:?}"
            );
        }
    }
}
