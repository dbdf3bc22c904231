//! The plugin's decision rule: approve a request whose roles are all pre-approved; deny
//! the others, or leave them to a human.

/// What the plugin does with a pending request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Approve it, for this reason.
    Approve(String),
    /// Deny it, for this reason.
    Deny(String),
    /// Leave it pending, for someone else to decide.
    Leave,
}

/// The rule: which roles are pre-approved, and whether anything else is denied.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Roles a request may ask for and be approved.
    pub approve: Vec<String>,
    /// Whether a request asking for any other role is denied (otherwise left pending).
    pub deny_others: bool,
}

impl Rule {
    /// The verdict on a request for `roles`.
    pub fn decide(&self, roles: &[String]) -> Verdict {
        let others: Vec<&str> = roles
            .iter()
            .filter(|r| !self.approve.contains(r))
            .map(String::as_str)
            .collect();
        if !roles.is_empty() && others.is_empty() {
            Verdict::Approve(format!("pre-approved role(s): {}", roles.join(", ")))
        } else if self.deny_others {
            Verdict::Deny(format!("not pre-approved: {}", others.join(", ")))
        } else {
            Verdict::Leave
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_roles_pre_approved_or_nothing() {
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut rule = Rule {
            approve: roles(&["dba", "web"]),
            deny_others: false,
        };
        assert!(matches!(rule.decide(&roles(&["dba"])), Verdict::Approve(_)));
        assert!(matches!(
            rule.decide(&roles(&["web", "dba"])),
            Verdict::Approve(_)
        ));
        assert_eq!(rule.decide(&roles(&["dba", "admin"])), Verdict::Leave);
        assert_eq!(rule.decide(&[]), Verdict::Leave);
        rule.deny_others = true;
        assert_eq!(
            rule.decide(&roles(&["dba", "admin"])),
            Verdict::Deny("not pre-approved: admin".into())
        );
    }
}
