//! The one error envelope of the API: `{"error":{"code","message"}}` with its status.

use artifact_monitor_core::monitor::MonitorError;
use artifact_monitor_core::ports::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// What went wrong, as every API route reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code: `invalid_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `misdirected`, `payload_too_large`, `unavailable`, `internal`.
    pub code: String,
    /// What failed, in words (names the field for an invalid input).
    pub message: String,
}

/// An API failure: a status, a code and a message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "credentials missing or not valid: send Authorization: Bearer <token>, or sign in at /login",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// A failure behind the API (the store, a remote service): its text may name tables,
    /// keys or hosts, so it is logged with a request id and the client is told only the
    /// id, to quote when asking the operator.
    fn behind(
        status: StatusCode,
        code: &'static str,
        what: &str,
        error: &dyn std::fmt::Display,
    ) -> Self {
        let mut bytes = [0u8; 8];
        let id = match getrandom::fill(&mut bytes) {
            Ok(()) => bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            Err(_) => "unknown".to_owned(),
        };
        tracing::error!(request_id = %id, status = status.as_u16(), error = %error, "API request failed: {error}");
        Self::new(
            status,
            code,
            format!("{what} (request {id}; the operator's log has the details)"),
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.retryable() {
            Self::behind(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store is unavailable; try again shortly",
                &error,
            )
        } else {
            Self::behind(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the store could not complete the request",
                &error,
            )
        }
    }
}

impl From<MonitorError> for ApiError {
    fn from(error: MonitorError) -> Self {
        match error {
            MonitorError::Store(e) => e.into(),
            e @ (MonitorError::BadArtifact { .. }
            | MonitorError::BadDocument { .. }
            | MonitorError::NotWatched(_)) => Self::invalid(e.to_string()),
            e @ (MonitorError::Owned { .. } | MonitorError::Exists(_)) => {
                Self::conflict(e.to_string())
            }
            other => Self::behind(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "a service the request needs is unavailable; try again shortly",
                &other,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_error_is_logged_not_told() {
        let error = ApiError::from(StoreError::Unavailable(
            "table monitor-prod in eu-west-1: throttled".into(),
        ));
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!error.message.contains("monitor-prod"), "{}", error.message);
        assert!(error.message.contains("(request "), "{}", error.message);
        let other = ApiError::from(StoreError::Corrupt("npm/x: bad bytes".into()));
        assert_eq!(other.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!other.message.contains("npm/x"), "{}", other.message);
    }
}
