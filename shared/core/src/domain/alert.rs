//! Alerts: what the monitor tells people, one per (artifact, version, verdict) and never two.

use super::{Compliance, Confidence, Reason, Severity, Verdict, VerdictEvidence};
use serde::{Deserialize, Serialize};

/// Findings a backfill summary names one by one; the rest are counted.
pub const BACKFILL_DETAILS: usize = 20;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A newly published version's verdict is non-compliant or carries an alerting signal.
    Version,
    /// A version has stayed pending past the bound: it could not be verified.
    Unverifiable,
    /// A change to the package itself (unpublish, dist-tag, maintainers).
    Package,
    /// Findings on versions published before monitoring began, reported once.
    Backfill,
}

/// One alert, as printed, posted to a webhook or published to SNS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The deduplication key: the same id is never delivered twice.
    pub id: String,
    pub kind: AlertKind,
    /// `critical` (non-compliant), `warning` (signals, unverifiable) or `info`.
    pub severity: Severity,
    /// A short human line.
    pub subject: String,
    pub artifact: AlertArtifact,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Compliance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
    pub reasons: Vec<Reason>,
    pub details: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<VerdictEvidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_url: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    pub detected_at: String,
}

/// The artifact an alert is about.
pub type AlertArtifact = super::ArtifactRef;

impl Alert {
    /// The alert for a version's verdict.
    pub fn for_verdict(
        artifact: AlertArtifact,
        version: &str,
        verdict: &Verdict,
        published_at: Option<String>,
        detected_at: String,
    ) -> Self {
        let severity = if verdict.compliance == Compliance::NonCompliant {
            Severity::Critical
        } else {
            Severity::Warning
        };
        Self {
            id: format!(
                "{}/{}@{}#{}",
                artifact.registry,
                artifact.name,
                version,
                verdict.compliance.as_str()
            ),
            kind: AlertKind::Version,
            severity,
            subject: format!(
                "{}@{} is {} ({} confidence): {}",
                artifact.name,
                version,
                verdict.compliance.as_str().replace('_', "-"),
                verdict.confidence.as_str(),
                Reason::join(&verdict.reasons, ", ")
            ),
            artifact,
            version: Some(version.to_owned()),
            compliance: Some(verdict.compliance),
            confidence: Some(verdict.confidence),
            reasons: verdict.reasons.clone(),
            details: verdict.details.clone(),
            evidence: Some(verdict.evidence.clone()),
            logs_url: verdict.logs_url.clone(),
            published_at,
            detected_at,
        }
    }

    /// The alert for a version still pending after the bound.
    pub fn unverifiable(
        artifact: AlertArtifact,
        version: &str,
        verdict: &Verdict,
        published_at: Option<String>,
        detected_at: String,
    ) -> Self {
        let mut alert = Self::for_verdict(artifact, version, verdict, published_at, detected_at);
        alert.id = format!(
            "{}/{}@{}#unverifiable",
            alert.artifact.registry, alert.artifact.name, version
        );
        alert.kind = AlertKind::Unverifiable;
        alert.severity = Severity::Warning;
        alert.subject = format!(
            "{}@{} could not be verified: {}",
            alert.artifact.name,
            version,
            Reason::join(&verdict.reasons, ", ")
        );
        alert
    }

    /// A package-level alert; `fingerprint` makes its id unique per change.
    pub fn package(
        artifact: AlertArtifact,
        code: Reason,
        fingerprint: &str,
        detail: String,
        detected_at: String,
    ) -> Self {
        Self {
            id: format!(
                "{}/{}#{code}:{fingerprint}",
                artifact.registry, artifact.name
            ),
            kind: AlertKind::Package,
            severity: Severity::Warning,
            subject: format!("{}: {detail}", artifact.name),
            artifact,
            version: None,
            compliance: None,
            confidence: None,
            reasons: vec![code],
            details: vec![detail],
            evidence: None,
            logs_url: None,
            published_at: None,
            detected_at,
        }
    }

    /// The once-only summary of findings on versions published before monitoring began.
    pub fn backfill(
        artifact: AlertArtifact,
        judged: usize,
        findings: &[(String, Verdict)],
        detected_at: String,
    ) -> Self {
        let non_compliant = findings
            .iter()
            .filter(|(_, v)| v.compliance == Compliance::NonCompliant)
            .count();
        // The first findings by name, the rest counted: an alert stays small (SNS takes
        // 256 KB, an item 400 KB) whatever the package's history.
        let mut details: Vec<String> = findings
            .iter()
            .take(BACKFILL_DETAILS)
            .map(|(version, v)| {
                format!(
                    "{version}: {} ({})",
                    v.compliance.as_str(),
                    Reason::join(&v.reasons, ", ")
                )
            })
            .collect();
        if findings.len() > BACKFILL_DETAILS {
            details.push(format!(
                "and {} more version(s): every verdict is stored with its evidence",
                findings.len() - BACKFILL_DETAILS
            ));
        }
        let mut reasons: Vec<Reason> = findings
            .iter()
            .flat_map(|(_, v)| v.reasons.iter().copied())
            .collect();
        reasons.sort();
        reasons.dedup();
        Self {
            id: format!("{}/{}#backfill", artifact.registry, artifact.name),
            kind: AlertKind::Backfill,
            severity: if non_compliant > 0 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            subject: format!(
                "{}: {} of {judged} existing versions need attention ({non_compliant} non-compliant)",
                artifact.name,
                findings.len()
            ),
            artifact,
            version: None,
            compliance: None,
            confidence: None,
            reasons,
            details,
            evidence: None,
            logs_url: None,
            published_at: None,
            detected_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::VerdictEvidence;

    #[test]
    fn a_backfill_summary_names_the_first_findings_and_counts_the_rest() {
        let verdict = Verdict {
            compliance: Compliance::NonCompliant,
            confidence: Confidence::Medium,
            reasons: vec![Reason::NoProvenance, Reason::NoRun],
            details: vec![],
            evidence: VerdictEvidence::default(),
            logs_url: None,
            files: Vec::new(),
        };
        let findings: Vec<(String, Verdict)> = (0..500)
            .map(|i| (format!("1.0.{i}"), verdict.clone()))
            .collect();
        let artifact = AlertArtifact {
            registry: crate::registry::RegistryType::Npm,
            name: "p".into(),
        };
        let alert = Alert::backfill(artifact, 600, &findings, "2026-12-01T00:00:00Z".into());
        assert_eq!(alert.details.len(), BACKFILL_DETAILS + 1);
        assert!(alert.details[BACKFILL_DETAILS].starts_with("and 480 more"));
        assert_eq!(alert.severity, Severity::Critical);
        assert!(alert.subject.contains("500 of 600"));
        assert!(serde_json::to_vec(&alert).unwrap().len() < 8 * 1024);
    }
}
