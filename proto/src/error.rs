//! The error type of the client and TLS helpers.

use std::path::PathBuf;

/// What can go wrong loading credentials, connecting or calling the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A credentials file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A file is not valid PEM.
    #[error("invalid PEM in `{}`: {source}", path.display())]
    InvalidPem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser reported.
        source: std::io::Error,
    },
    /// The certificate file holds no certificate.
    #[error("no certificate found in `{}`", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key.
    #[error("no private key found in `{}`", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// The CA file holds no certificate.
    #[error("invalid CA cert PEM: no certificate found in `{}`", path.display())]
    InvalidCaPem {
        /// The file.
        path: PathBuf,
    },
    /// The server address cannot be turned into an `https://` URI.
    #[error("invalid auth server address `{addr}`: {reason}")]
    InvalidAddress {
        /// The address as given.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection (TCP, TLS or HTTP/2) could not be established.
    #[error("cannot connect to `{addr}`: {}", error_chain(source))]
    Connect {
        /// The address dialled.
        addr: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
    /// The server answered a call with an error status (boxed: a status is
    /// large).
    #[error("rpc failed: {}", status_text(.0))]
    Status(Box<tonic::Status>),
    /// The server answered something the protocol does not allow.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

impl Error {
    /// The gRPC status, when the error is one.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            Error::Status(status) => Some(status),
            _ => None,
        }
    }

    /// The gRPC status code, when the error is a status.
    pub fn code(&self) -> Option<tonic::Code> {
        self.status().map(tonic::Status::code)
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Error::Status(Box::new(status))
    }
}

/// Code, message and, for statuses made from transport errors, the causes.
fn status_text(status: &tonic::Status) -> String {
    let head = format!("{}: {}", status.code(), status.message());
    let Some(source) = std::error::Error::source(status) else {
        return head;
    };
    let causes = error_chain(source);
    if causes.starts_with(status.message()) {
        format!("{}: {causes}", status.code())
    } else if head.contains(&causes) {
        head
    } else {
        format!("{head} ({causes})")
    }
}

/// The error and its sources, joined with ": " (a transport error's own
/// message is only "transport error").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
