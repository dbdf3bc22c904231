//! Role templates: `{{internal.NAME}}` and `{{external.NAME}}` expand to the values of the
//! user's trait `NAME` (internal traits are the user's own, external ones come from an
//! identity provider; both live in the user's traits).

use std::collections::BTreeMap;

/// A value of a role field: a literal, or a reference to a trait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template<'a> {
    /// Used as it is.
    Literal(&'a str),
    /// The values of this trait.
    Trait(&'a str),
}

/// Why a value is not a valid template ([`parse`]).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{{` or `}}` inside a value that is not a template as a whole.
    #[error("`{value}`: a template must be the whole value, e.g. {{{{internal.logins}}}}")]
    NotWhole {
        /// The value.
        value: String,
    },
    /// `{{` without the closing `}}`.
    #[error("`{value}`: unterminated template (missing `}}}}`)")]
    Unterminated {
        /// The value.
        value: String,
    },
    /// Neither `internal.` nor `external.`.
    #[error("`{value}`: unknown template namespace (expected internal.NAME or external.NAME)")]
    UnknownNamespace {
        /// The value.
        value: String,
    },
    /// The trait name is empty or has other characters than letters, digits, `_-./:`.
    #[error("`{value}`: `{name}` is not a trait name")]
    BadTraitName {
        /// The value.
        value: String,
        /// The trait name in it.
        name: String,
    },
}

/// Parses `value`: `{{internal.NAME}}` or `{{external.NAME}}` (spaces inside the braces
/// allowed) is a trait reference, anything without `{{` a literal.
pub fn parse(value: &str) -> Result<Template<'_>, TemplateError> {
    let trimmed = value.trim();
    let Some(inner) = trimmed.strip_prefix("{{") else {
        if value.contains("{{") || value.contains("}}") {
            return Err(TemplateError::NotWhole {
                value: value.to_owned(),
            });
        }
        return Ok(Template::Literal(value));
    };
    let Some(inner) = inner.strip_suffix("}}") else {
        return Err(TemplateError::Unterminated {
            value: value.to_owned(),
        });
    };
    let inner = inner.trim();
    let name = inner
        .strip_prefix("internal.")
        .or_else(|| inner.strip_prefix("external."))
        .ok_or_else(|| TemplateError::UnknownNamespace {
            value: value.to_owned(),
        })?;
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b':'));
    if !valid {
        return Err(TemplateError::BadTraitName {
            value: value.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(Template::Trait(name))
}

/// Expands `value` against `traits`: a literal is itself, a trait reference its values (none
/// when the user lacks the trait), an invalid template nothing.
pub fn expand(value: &str, traits: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    match parse(value) {
        Ok(Template::Literal(literal)) => vec![literal.to_owned()],
        Ok(Template::Trait(name)) => traits.get(name).cloned().unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn expands_traits_and_keeps_literals() {
        let traits = BTreeMap::from([("logins".to_owned(), vec!["a".to_owned(), "b".to_owned()])]);
        assert_eq!(expand("{{internal.logins}}", &traits), ["a", "b"]);
        assert_eq!(expand("{{ external.logins }}", &traits), ["a", "b"]);
        assert_eq!(expand("{{internal.nope}}", &traits), Vec::<String>::new());
        assert_eq!(expand("root", &traits), ["root"]);
        assert_eq!(
            parse("{{internal.logins").unwrap_err().to_string(),
            "`{{internal.logins`: unterminated template (missing `}}`)"
        );
        assert!(parse("{{claims.x}}")
            .unwrap_err()
            .to_string()
            .contains("namespace"));
        assert_eq!(
            parse("x{{internal.a}}").unwrap_err().to_string(),
            "`x{{internal.a}}`: a template must be the whole value, e.g. {{internal.logins}}"
        );
        assert_eq!(
            parse("{{internal.a b}}").unwrap_err(),
            TemplateError::BadTraitName {
                value: "{{internal.a b}}".into(),
                name: "a b".into()
            }
        );
    }
}
