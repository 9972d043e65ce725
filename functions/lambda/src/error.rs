//! What can fail in the poller and the verifier beyond a single version (those failures are
//! data or redeliveries, never an invocation error), typed, and mapped once to what Lambda
//! records for a failed invocation: `errorType` says whether the same invocation can succeed
//! later (`Retryable.*`: a service was down, the next schedule or redelivery may work) or
//! not (`Permanent.*`: the deployment must change: a setting, the trust material).

use crate::settings::SettingError;

/// Why a cold start or an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    /// A setting is missing or not valid.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// Settings that are valid one by one do not fit together (or a client refuses one).
    #[error("{setting}: {message}")]
    Settings {
        setting: &'static str,
        message: String,
    },
    /// The GitHub token's secret could not be read (Secrets Manager refused or was down).
    #[error("GITHUB_TOKEN_SECRET_ARN: {0}")]
    Secret(String),
    /// The verifier's trust material does not load.
    #[error("cannot load the trust material: {0}")]
    Trust(String),
    /// Steps of the poller's ticks failed; the lease was released and the work stays due.
    #[error("tick failed: {}", .0.join("; "))]
    Tick(Vec<String>),
}

impl FunctionError {
    /// Whether the same invocation can succeed later without a change to the deployment.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Setting(_) | Self::Settings { .. } | Self::Trust(_) => false,
            Self::Secret(_) | Self::Tick(_) => true,
        }
    }

    /// The error's kind as `errorType` spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Setting(_) | Self::Settings { .. } => "Settings",
            Self::Secret(_) => "Secret",
            Self::Trust(_) => "TrustMaterial",
            Self::Tick(_) => "Tick",
        }
    }
}

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(error: FunctionError) -> Self {
        let class = if error.retryable() {
            "Retryable"
        } else {
            "Permanent"
        };
        lambda_runtime::Diagnostic {
            error_type: format!("{class}.{}", error.kind()),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_type_says_whether_waiting_helps() {
        let tick: lambda_runtime::Diagnostic =
            FunctionError::Tick(vec!["sweep: the table is throttled".into()]).into();
        assert_eq!(tick.error_type, "Retryable.Tick");
        assert_eq!(
            tick.error_message,
            "tick failed: sweep: the table is throttled"
        );
        let settings: lambda_runtime::Diagnostic = FunctionError::Settings {
            setting: "REGISTRY_URL",
            message: "not an http(s) URL".into(),
        }
        .into();
        assert_eq!(settings.error_type, "Permanent.Settings");
        assert_eq!(settings.error_message, "REGISTRY_URL: not an http(s) URL");
        let trust: lambda_runtime::Diagnostic = FunctionError::Trust("no Rekor key".into()).into();
        assert_eq!(trust.error_type, "Permanent.TrustMaterial");
        let secret: lambda_runtime::Diagnostic = FunctionError::Secret("throttled".into()).into();
        assert_eq!(secret.error_type, "Retryable.Secret");
    }
}
