//! `Webhook`: delivers an alert by POSTing its JSON to a URL; any 2xx is a delivery.

use super::http::{HttpClient, HttpConfig};
use artifact_monitor_core::domain::Alert;
use artifact_monitor_core::ports::{Alerts, RemoteError};

#[derive(Clone)]
pub struct Webhook {
    url: String,
    http: HttpClient,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may embed a secret (many chat webhooks do): show only its origin.
        let origin: String = self.url.split('/').take(3).collect::<Vec<_>>().join("/");
        write!(f, "Webhook({origin}/…)")
    }
}

impl Webhook {
    pub fn new(url: &str, config: HttpConfig) -> Result<Self, RemoteError> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(RemoteError::Invalid(
                "webhook",
                "URL must be http(s)".to_owned(),
            ));
        }
        Ok(Self {
            url: url.to_owned(),
            http: HttpClient::new("webhook", config)?,
        })
    }
}

impl Alerts for Webhook {
    async fn deliver(&self, alert: &Alert) -> Result<(), RemoteError> {
        let body = serde_json::to_vec(alert)
            .map_err(|e| RemoteError::Invalid("webhook", e.to_string()))?;
        let response = self.http.post_json(&self.url, body, 64 * 1024).await?;
        if (200..300).contains(&response.status) {
            Ok(())
        } else {
            Err(RemoteError::Status("webhook", response.status))
        }
    }
}
