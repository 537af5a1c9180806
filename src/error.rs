//! One error type for every stage of the fuser.
//!
//! Fusing is used inside build pipelines, so a failure must say *what* is
//! wrong and *where*: the kind (malformed input, an unsupported feature, an
//! unresolved import, an exceeded limit, or a fault of Solder's own), the
//! component path inside the
//! input (`root/component[1]/module[0]`), and the byte offset when the
//! problem sits at a known place in the input.

use std::fmt;

/// The broad reason a fuse failed; mirrors the WIT `fuse-error` variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not wasm, not a component, or invalid.
    Malformed,
    /// Valid, but uses a feature Solder does not fuse yet.
    Unsupported,
    /// An import nobody provides, or a wiring type mismatch.
    Unresolved,
    /// The input exceeds one of the documented limits.
    LimitExceeded,
    /// Solder's own fault: the input was valid, but fusing it broke one of
    /// Solder's invariants (its output would not validate, say).
    Internal,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unresolved => "unresolved",
            ErrorKind::LimitExceeded => "limit exceeded",
            ErrorKind::Internal => "internal",
        })
    }
}

/// A fuse failure: kind, message, component path, byte offset and (for
/// [`ErrorKind::Unsupported`]) the feature's name.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: String,
    offset: Option<u64>,
    feature: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if !self.path.is_empty() {
            write!(f, " (in {}", self.path)?;
            if let Some(offset) = self.offset {
                write!(f, " at byte offset {offset:#x}")?;
            }
            f.write_str(")")?;
        } else if let Some(offset) = self.offset {
            write!(f, " (at byte offset {offset:#x})")?;
        }
        Ok(())
    }
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            path: String::new(),
            offset: None,
            feature: None,
            source: None,
        }
    }

    /// Invalid or unreadable input.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Malformed, message)
    }

    /// A valid input that uses `feature`, which Solder does not fuse.
    pub fn unsupported(feature: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorKind::Unsupported, message);
        e.feature = Some(feature.into());
        e
    }

    /// An import that nothing provides, or a wiring mismatch.
    pub fn unresolved(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unresolved, message)
    }

    /// A documented limit was exceeded.
    pub fn limit(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::LimitExceeded, message)
    }

    /// A fault of Solder's own, on valid input: an invariant that the
    /// earlier stages should have established does not hold.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Sets the component path, unless a more precise one is already set.
    #[must_use]
    pub fn at_path(mut self, path: &str) -> Self {
        if self.path.is_empty() {
            self.path = path.to_string();
        }
        self
    }

    /// Moves the error into input `name`: a path inside that input
    /// (`root/component[1]`) becomes `name/component[1]`; no path becomes
    /// `name`.
    #[must_use]
    pub(crate) fn within(mut self, name: &str) -> Self {
        self.path = match self.path.strip_prefix("root") {
            _ if self.path.is_empty() => name.to_string(),
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{name}{rest}"),
            _ => format!("{name}/{}", self.path),
        };
        self
    }

    /// Sets the byte offset, unless one is already set.
    #[must_use]
    pub fn at_offset(mut self, offset: u64) -> Self {
        if self.offset.is_none() {
            self.offset = Some(offset);
        }
        self
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The one-line description, without path or offset.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The component path, e.g. `root/component[1]`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The byte offset into the input, when known.
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// The unsupported feature's name, for [`ErrorKind::Unsupported`].
    pub fn feature(&self) -> Option<&str> {
        self.feature.as_deref()
    }

    /// An invalid-input error carrying wasmparser's message and offset.
    pub(crate) fn from_wasmparser(e: wasmparser::BinaryReaderError, path: &str) -> Self {
        Self::wasmparser(ErrorKind::Malformed, e, path)
    }

    /// A validation error of an instance section: `unresolved` when the
    /// instantiation's arguments do not satisfy the imports (one is missing,
    /// or has the wrong type), `malformed` otherwise.
    ///
    /// wasmparser reports both as a message only; its wording for these
    /// checks is pinned by the tests of the bad-input corpus.
    pub(crate) fn from_instantiation(e: wasmparser::BinaryReaderError, path: &str) -> Self {
        let m = e.message();
        let unresolved = m.starts_with("missing ")
            || m.starts_with("type mismatch")
            || (m.starts_with("module instantiation argument ")
                && m.contains("does not export an item named"));
        let kind = if unresolved {
            ErrorKind::Unresolved
        } else {
            ErrorKind::Malformed
        };
        Self::wasmparser(kind, e, path)
    }

    fn wasmparser(kind: ErrorKind, e: wasmparser::BinaryReaderError, path: &str) -> Self {
        // wasmparser's messages may span lines; ours are one line.
        let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        Error::new(kind, message)
            .at_offset(e.offset())
            .at_path(path)
            .with_source(e)
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
