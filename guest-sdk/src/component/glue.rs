//! Conversions between the WIT records of each world's bindings and the SDK's types. Every
//! world's bindings have their own copy of the WIT types, so the conversions are written once
//! here as macros and expanded inside each world's module.

use alloc::string::String;
use core::fmt;

/// A capability of ABI v2 (`types.capability`), as the SDK names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// `log`.
    Log,
    /// `time`.
    Time,
    /// `lookup(kind)`.
    Lookup(String),
    /// `call`.
    Call,
}

/// A v1 capability name that a component cannot declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseCapabilityError(pub String);

impl fmt::Display for ParseCapabilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "capability `{}` has no ABI v2 form (a component gets its input as arguments)",
            self.0
        )
    }
}

impl Capability {
    /// The v1 name (`log`, `time`, `call`, `lookup:KIND`) as a v2 capability.
    pub fn parse(name: &str) -> Result<Capability, ParseCapabilityError> {
        match name {
            "log" => Ok(Capability::Log),
            "time" => Ok(Capability::Time),
            "call" => Ok(Capability::Call),
            _ => match name.strip_prefix("lookup:") {
                Some(kind) if !kind.is_empty() => Ok(Capability::Lookup(kind.into())),
                _ => Err(ParseCapabilityError(name.into())),
            },
        }
    }
}

/// Helpers every world has: metadata, failures and the SDK's error types.
macro_rules! common {
    () => {
        use self::portcullis::policy::types as wit;
        use $crate::__private::{String, ToString, Vec};

        /// `describe.get`'s answer; `capabilities` is the JSON list `component!` wrote.
        /// A name without a v2 form is left out (and refused at compile time by
        /// `component!`).
        pub fn metadata(
            name: &str,
            version: &str,
            functions: &[&str],
            capabilities: &str,
        ) -> wit::Metadata {
            let names: Vec<String> = $crate::serde_json::from_str(capabilities).unwrap_or_default();
            let capabilities = names
                .iter()
                .filter_map(|name| $crate::component::Capability::parse(name).ok())
                .map(|capability| match capability {
                    $crate::component::Capability::Log => wit::Capability::Log,
                    $crate::component::Capability::Time => wit::Capability::Time,
                    $crate::component::Capability::Call => wit::Capability::Call,
                    $crate::component::Capability::Lookup(kind) => wit::Capability::Lookup(kind),
                })
                .collect();
            wit::Metadata {
                name: name.to_string(),
                version: version.to_string(),
                functions: functions.iter().map(|f| f.to_string()).collect(),
                capabilities,
            }
        }

        /// A handler's error as the WIT `failure`.
        pub fn failure(error: $crate::GuestError) -> wit::Failure {
            wit::Failure {
                message: error.message,
                kind: match error.kind {
                    $crate::ErrorKind::Evaluation => wit::FailureKind::Evaluation,
                    $crate::ErrorKind::Syntax => wit::FailureKind::Syntax,
                },
            }
        }

        /// A JSON field of the input that does not parse (a broken host).
        fn bad_json(field: &str, error: $crate::serde_json::Error) -> wit::Failure {
            failure($crate::GuestError::evaluation($crate::__private::format!(
                "invalid JSON in the input's `{field}`: {error}"
            )))
        }

        /// Parses a JSON field of the input.
        fn parse<T: $crate::__private::DeserializeOwned>(
            field: &str,
            json: &str,
        ) -> Result<T, wit::Failure> {
            $crate::serde_json::from_str(json).map_err(|e| bad_json(field, e))
        }
    };
}
pub(crate) use common;

/// `access-request.decide`.
#[cfg(feature = "access-request-component")]
macro_rules! access_request {
    () => {
        use self::exports::portcullis::policy::access_request as ar;

        /// The WIT input as the SDK's [`AccessRequestInput`]($crate::AccessRequestInput).
        pub fn input(input: ar::Input) -> Result<$crate::AccessRequestInput, wit::Failure> {
            let request = input.request;
            let reviews = input
                .reviews
                .into_iter()
                .map(|review| {
                    let verdict =
                        $crate::serde_json::from_value($crate::Value::String(review.verdict))
                            .map_err(|e| bad_json("reviews.verdict", e))?;
                    Ok($crate::Review {
                        author: review.author,
                        verdict,
                        reason: review.reason,
                        created: review.created,
                    })
                })
                .collect::<Result<Vec<_>, wit::Failure>>()?;
            Ok($crate::AccessRequestInput {
                request: $crate::AccessRequest {
                    id: request.id,
                    user: request.user,
                    roles: request.roles,
                    state: request.state,
                    reason: request.reason,
                    annotations: request
                        .annotations
                        .into_iter()
                        .map(|a| (a.name, a.values))
                        .collect(),
                    created: request.created,
                    access_expiry: request.access_expiry,
                },
                requester: parse("requester", &input.requester)?,
                reviews,
                now: input.now,
            })
        }

        /// The SDK's [`Decision`]($crate::Decision) as the WIT record.
        pub fn decision(decision: $crate::Decision) -> ar::Decision {
            ar::Decision {
                verdict: match decision.verdict {
                    $crate::Verdict::Approve => ar::Verdict::Approve,
                    $crate::Verdict::Deny => ar::Verdict::Deny,
                    $crate::Verdict::Pending => ar::Verdict::Pending,
                },
                reason: Some(decision.reason).filter(|reason| !reason.is_empty()),
                annotations: decision
                    .annotations
                    .into_iter()
                    .map(|(name, values)| wit::Annotation { name, values })
                    .collect(),
                suggested_reviewers: decision.suggested_reviewers,
            }
        }

        /// Runs an `access_request` handler on the WIT input.
        pub fn decide<E: $crate::IntoGuestError>(
            input: ar::Input,
            handler: impl FnOnce($crate::AccessRequestInput) -> Result<$crate::Decision, E>,
        ) -> Result<ar::Decision, wit::Failure> {
            handler(self::input(input)?)
                .map(decision)
                .map_err(|e| failure(e.into_guest_error()))
        }
    };
}
#[cfg(feature = "access-request-component")]
pub(crate) use access_request;

/// `where-clause.evaluate` and `action.run`.
#[cfg(feature = "rule-component")]
macro_rules! rules {
    () => {
        use self::exports::portcullis::policy::action as act;

        /// The WIT rule input as the SDK's [`WhereInput`]($crate::WhereInput).
        pub fn input(input: wit::RuleInput) -> Result<$crate::WhereInput, wit::Failure> {
            Ok($crate::WhereInput {
                expression: input.expression,
                user: parse("user", &input.user)?,
                resource: parse("resource", &input.resource)?,
                verb: input.verb,
                kind: input.kind,
            })
        }

        /// Runs a `where` handler on the WIT input.
        pub fn evaluate<E: $crate::IntoGuestError>(
            input: wit::RuleInput,
            handler: impl FnOnce($crate::WhereInput) -> Result<bool, E>,
        ) -> Result<bool, wit::Failure> {
            handler(self::input(input)?).map_err(|e| failure(e.into_guest_error()))
        }

        /// Runs an `action` handler on the WIT input.
        pub fn run<E: $crate::IntoGuestError>(
            input: wit::RuleInput,
            handler: impl FnOnce($crate::ActionInput) -> Result<Vec<$crate::Effect>, E>,
        ) -> Result<Vec<act::Effect>, wit::Failure> {
            let effects =
                handler(self::input(input)?).map_err(|e| failure(e.into_guest_error()))?;
            Ok(effects.into_iter().map(effect).collect())
        }

        /// The SDK's [`Effect`]($crate::Effect) as the WIT variant.
        pub fn effect(effect: $crate::Effect) -> act::Effect {
            match effect {
                $crate::Effect::Log { level, message } => act::Effect::Log((
                    match level {
                        $crate::Level::Debug => wit::Level::Debug,
                        $crate::Level::Info => wit::Level::Info,
                        $crate::Level::Warn => wit::Level::Warn,
                        $crate::Level::Error => wit::Level::Error,
                    },
                    message,
                )),
                $crate::Effect::Annotate { key, value } => act::Effect::Annotate((key, value)),
            }
        }
    };
}
#[cfg(feature = "rule-component")]
pub(crate) use rules;

/// `functions.call`.
#[cfg(feature = "function-component")]
macro_rules! functions {
    () => {
        use self::exports::portcullis::policy::functions as fun;

        /// The WIT function input as the SDK's [`FunctionInput`]($crate::FunctionInput).
        pub fn input(input: fun::Input) -> Result<$crate::FunctionInput, wit::Failure> {
            Ok($crate::FunctionInput {
                args: input
                    .args
                    .iter()
                    .map(|arg| parse("args", arg))
                    .collect::<Result<_, _>>()?,
                user: parse("user", &input.user)?,
                resource: parse("resource", &input.resource)?,
            })
        }

        /// Runs an extra function's handler on the WIT input; its result as JSON text.
        pub fn call<E: $crate::IntoGuestError>(
            input: fun::Input,
            handler: impl FnOnce($crate::FunctionInput) -> Result<$crate::Value, E>,
        ) -> Result<String, wit::Failure> {
            let result = handler(self::input(input)?).map_err(|e| failure(e.into_guest_error()))?;
            Ok(result.to_string())
        }

        /// The failure for a name `functions.call` does not answer.
        pub fn no_such_function(name: &str) -> wit::Failure {
            failure($crate::GuestError::evaluation($crate::__private::format!(
                "no function `{name}` in this module"
            )))
        }
    };
}
#[cfg(feature = "function-component")]
pub(crate) use functions;
