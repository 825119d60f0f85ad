//! The one error type that crosses server functions: only what the browser needs to show.
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// A problem with one input, named by its field path (`output_length.min_words`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The version an edit form carries: the record's `updated_at` in nanoseconds.
pub fn form_version(updated_at: time::OffsetDateTime) -> String {
    updated_at.unix_timestamp_nanos().to_string()
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// Adds an error for `field` when `value` is over `max` characters or holds control
    /// characters other than line breaks and tabs.
    pub fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
        let n = value.chars().count();
        if n > max {
            errors.push(Self::new(
                field,
                format!("Keep this to {max} characters (it has {n})."),
            ));
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            errors.push(Self::new(
                field,
                "Remove the control characters from this text.",
            ));
        }
    }

    /// The version a form was opened at (see `form_version`), or the error for a form that
    /// carries none: a save made against an older version is refused instead of overwriting.
    pub fn opened_at(raw: &str) -> Result<time::OffsetDateTime, FieldError> {
        raw.trim()
            .parse::<i128>()
            .ok()
            .and_then(|n| time::OffsetDateTime::from_unix_timestamp_nanos(n).ok())
            .ok_or_else(|| {
                Self::new(
                    "version",
                    "This form has no valid version. Reload the page.",
                )
            })
    }

    /// Every error at once, as the error a form marks field by field; `Ok` when there is none.
    pub fn all(errors: Vec<FieldError>) -> Result<(), AppError> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Fields { errors })
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Input the user can correct; `field` names the form field ("" for the whole form).
    #[error("{message}")]
    Validation { field: String, message: String },
    /// Several inputs the user can correct, all at once, so a form can mark each one.
    #[error("Fix the {} field(s) marked below.", errors.len())]
    Fields { errors: Vec<FieldError> },
    #[error("We could not find that.")]
    NotFound,
    #[error("Your session has ended. Please sign in again.")]
    Unauthorized,
    #[error("Not allowed: {reason}")]
    Forbidden { reason: String },
    #[error("That {field} is already taken.")]
    Conflict { field: String },
    #[error("Too many failed sign-in attempts. Try again in {retry_after_secs} seconds.")]
    TooManyAttempts { retry_after_secs: u64 },
    /// A per-user limit (analyses per minute, forced refreshes) or the workspace's AI request
    /// rate was reached.
    #[error("Rate limited: try again in {retry_after_secs} s.")]
    RateLimited { retry_after_secs: u64 },
    /// The request body is over the route's limit.
    #[error("The request is too large: the limit is {}.", human_bytes(*limit_bytes))]
    TooLarge { limit_bytes: u64 },
    /// The server refused to start the work now rather than queue it without bound.
    #[error("The server is busy. Try again in {retry_after_secs} s.")]
    Busy { retry_after_secs: u64 },
    /// The server gave up on the request after its time limit.
    #[error("The server took longer than {after_secs} s to answer. Try again.")]
    TimedOut { after_secs: u64 },
    /// Server-side failure; the details are in the server log under this request id.
    #[error("Something went wrong on our side. Reference: {request_id}.")]
    Internal { request_id: String },
    /// The request never got a proper answer (network down, server unreachable).
    #[error("Could not reach SmartCRM: {0}")]
    Transport(String),
}

impl AppError {
    /// A correctable input error. A message that quotes the input keeps only the first few
    /// dozen characters of it, so a 1 MB value is never sent back.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.chars().take(MAX_QUOTE_CHARS * 2).collect(),
            message: clip_quotes(&message.into()),
        }
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        AppError::Forbidden {
            reason: reason.into(),
        }
    }

    /// The HTTP status a server function answers with for this error.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            AppError::Validation { .. } | AppError::Fields { .. } => S::UNPROCESSABLE_ENTITY,
            AppError::NotFound => S::NOT_FOUND,
            AppError::Unauthorized => S::UNAUTHORIZED,
            AppError::Forbidden { .. } => S::FORBIDDEN,
            AppError::Conflict { .. } => S::CONFLICT,
            AppError::TooManyAttempts { .. } | AppError::RateLimited { .. } => S::TOO_MANY_REQUESTS,
            AppError::TooLarge { .. } => S::PAYLOAD_TOO_LARGE,
            AppError::Busy { .. } | AppError::TimedOut { .. } => S::SERVICE_UNAVAILABLE,
            AppError::Internal { .. } => S::INTERNAL_SERVER_ERROR,
            AppError::Transport(_) => S::BAD_GATEWAY,
        }
    }

    /// Seconds the client should wait before trying again, for the `Retry-After` header.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::TooManyAttempts { retry_after_secs }
            | AppError::RateLimited { retry_after_secs }
            | AppError::Busy { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The message for one form field (or an item of it, `must_include[2]`), if this error
    /// is about it.
    pub fn field_message(&self, name: &str) -> Option<String> {
        let about = |field: &str| {
            field == name
                || field
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('['))
        };
        match self {
            AppError::Validation { field, message } if about(field) => Some(message.clone()),
            AppError::Fields { errors } => errors
                .iter()
                .find(|e| about(&e.field))
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// Whether this error is about particular fields (the form marks them) rather than the
    /// whole request.
    pub fn is_about_fields(&self) -> bool {
        match self {
            AppError::Validation { field, .. } => !field.is_empty(),
            AppError::Fields { errors } => !errors.is_empty(),
            _ => false,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::MissingArg(msg) => not_understood(&msg),
            // On the server, the only thing decoded is the request, so a decode error is the
            // caller's (malformed JSON, a wrong type, `null`); in the browser it means the
            // server's answer did not arrive whole.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(msg) => not_understood(&msg),
            other => AppError::Transport(other.to_string()),
        }
    }
}

/// The one rule for a numeric page cursor (`before=`): absent, or a positive row id. Every
/// server function that pages by id checks its argument with this.
pub fn row_cursor(before: Option<i64>) -> Result<Option<i64>, AppError> {
    match before {
        Some(b) if b < 1 => Err(AppError::validation(
            "before",
            "The page cursor must be a positive entry id.",
        )),
        other => Ok(other),
    }
}

/// Longest quoted input a message repeats back; the rest becomes "…".
const MAX_QUOTE_CHARS: usize = 40;
/// Longest decode message passed on.
const MAX_DETAIL_CHARS: usize = 240;

/// A request whose arguments did not decode: 422, naming the field when the decoder did, and
/// never repeating more than a few dozen characters of what was sent.
fn not_understood(msg: &str) -> AppError {
    let detail = shorten_quotes(msg);
    let field = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|marker| {
            let rest = &detail[detail.find(marker)? + marker.len()..];
            Some(rest[..rest.find('`')?].to_owned())
        })
        .unwrap_or_default();
    AppError::validation(&field, format!("The request was not understood: {detail}"))
}

/// `msg` with every quoted run (between backticks or double quotes) cut to `MAX_QUOTE_CHARS`,
/// and the whole cut to `MAX_DETAIL_CHARS`.
pub fn shorten_quotes(msg: &str) -> String {
    let mut out = clip_quotes(msg);
    if out.chars().count() > MAX_DETAIL_CHARS {
        out = out.chars().take(MAX_DETAIL_CHARS).collect();
        out.push('…');
    }
    out
}

/// `msg` with every quoted run (between backticks or double quotes) cut to `MAX_QUOTE_CHARS`.
/// An unclosed quote runs to the end, so it is cut too.
pub fn clip_quotes(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(MAX_DETAIL_CHARS * 4));
    let mut quote: Option<(char, usize)> = None;
    for c in msg.chars() {
        match quote {
            Some((q, _)) if c == q => {
                quote = None;
                out.push(c);
            }
            Some((q, n)) => {
                if n < MAX_QUOTE_CHARS {
                    out.push(c);
                } else if n == MAX_QUOTE_CHARS {
                    out.push('…');
                }
                quote = Some((q, n + 1));
            }
            None => {
                if c == '`' || c == '"' {
                    quote = Some((c, 0));
                }
                out.push(c);
            }
        }
    }
    out
}

/// 1048576 → "1 MiB".
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

#[cfg(feature = "ssr")]
mod server {
    use super::AppError;

    /// The request id of the request being handled (set by the server's request-id layer).
    pub fn current_request_id() -> String {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts
                    .headers
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "none".to_owned())
    }

    impl AppError {
        /// An internal error: logs the full cause chain, returns only the request id.
        pub fn internal(context: &str, err: &(dyn std::error::Error + 'static)) -> Self {
            let request_id = current_request_id();
            let mut chain = err.to_string();
            let mut source = err.source();
            while let Some(cause) = source {
                chain.push_str(": ");
                chain.push_str(&cause.to_string());
                source = cause.source();
            }
            tracing::error!(%request_id, error = %chain, "{context}");
            AppError::Internal { request_id }
        }
    }

    /// Turns a violated, named database constraint into the error the user should see, as
    /// realworld-axum-sqlx's `on_constraint` does: the database enforces uniqueness and
    /// references, and this names the field. Any other error stays a logged `Internal`.
    pub trait OnConstraint<T> {
        fn on_constraint(self, map: impl FnOnce(&str) -> Option<AppError>) -> Result<T, AppError>;
    }

    impl<T> OnConstraint<T> for Result<T, sqlx::Error> {
        fn on_constraint(self, map: impl FnOnce(&str) -> Option<AppError>) -> Result<T, AppError> {
            self.map_err(|err| {
                err.as_database_error()
                    .and_then(|db| db.constraint())
                    .and_then(map)
                    .unwrap_or_else(|| AppError::from(err))
            })
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(err: sqlx::Error) -> Self {
            AppError::internal("database error", &err)
        }
    }

    impl From<tower_sessions::session::Error> for AppError {
        fn from(err: tower_sessions::session::Error) -> Self {
            AppError::internal("session store error", &err)
        }
    }
}

#[cfg(feature = "ssr")]
pub use server::{current_request_id, OnConstraint};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_through_json_so_the_browser_sees_the_same_variant() {
        let err = AppError::TooManyAttempts {
            retry_after_secs: 42,
        };
        let json = serde_json::to_string(&err).expect("serialize");
        let back: AppError = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, err);
    }

    #[test]
    fn forbidden_maps_to_403_and_validation_to_422() {
        assert_eq!(
            AppError::forbidden("x").status(),
            http::StatusCode::FORBIDDEN
        );
        assert_eq!(AppError::validation("email", "bad").status().as_u16(), 422);
    }

    #[test]
    fn bad_arguments_become_a_validation_error_not_a_transport_error() {
        let err = AppError::from_server_fn_error(ServerFnErrorErr::Args("missing field".into()));
        assert!(matches!(err, AppError::Validation { .. }), "{err:?}");
    }

    #[test]
    fn a_decode_error_names_the_field_and_quotes_little_of_the_input() {
        let huge = "x".repeat(1_000_000);
        let err = AppError::from_server_fn_error(ServerFnErrorErr::Args(format!(
            "unknown variant `{huge}`, expected `a` or `b`"
        )));
        let text = err.to_string();
        assert!(text.len() < 400, "{} bytes", text.len());
        assert!(text.contains("unknown variant `xxxx"), "{text}");
        let err = AppError::from_server_fn_error(ServerFnErrorErr::Args(
            "unknown field `colour`, expected `state`".into(),
        ));
        assert_eq!(
            err.field_message("colour")
                .map(|m| m.contains("not understood")),
            Some(true)
        );
    }

    #[test]
    fn limits_answer_with_their_own_statuses() {
        assert_eq!(
            AppError::TooLarge {
                limit_bytes: 1 << 20
            }
            .status()
            .as_u16(),
            413
        );
        assert_eq!(
            AppError::TooLarge {
                limit_bytes: 1 << 20
            }
            .to_string(),
            "The request is too large: the limit is 1 MiB."
        );
        assert_eq!(
            AppError::Busy {
                retry_after_secs: 1
            }
            .status()
            .as_u16(),
            503
        );
        assert_eq!(
            AppError::RateLimited {
                retry_after_secs: 9
            }
            .retry_after_secs(),
            Some(9)
        );
    }

    #[test]
    fn field_message_only_answers_for_its_own_field() {
        let err = AppError::validation("email", "Enter an email address.");
        assert_eq!(
            err.field_message("email").as_deref(),
            Some("Enter an email address.")
        );
        assert_eq!(err.field_message("password"), None);
    }
}
