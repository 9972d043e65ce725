//! Judging one version: gather the facts, then let the pure engine decide.

use super::{Monitor, MonitorError};
use crate::domain::{
    Facts, PackageName, Packument, Provenance, ReleasePolicy, RunLookup, RunSearch, Signal,
    Verdict, decide, sri_sha512,
};
use crate::ports::{Clock, Registry, RemoteError, Runs, Store};
use crate::provenance::{ArtifactInput, Expectation};

/// What the caller knows about the version's history.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// An earlier version of the artifact had verified provenance.
    pub earlier_had_provenance: bool,
    pub signals: Vec<Signal>,
}

impl<R: Registry, G: Runs, S: Store, C: Clock> Monitor<R, G, S, C> {
    /// Judges `version` of `packument` against `policy`. An `Err` means the registry could
    /// not be asked; GitHub trouble is part of the verdict (pending), not an error.
    pub async fn judge(
        &self,
        name: &PackageName,
        policy: &ReleasePolicy,
        packument: &Packument,
        version: &str,
        history: History,
    ) -> Result<Verdict, MonitorError> {
        let manifest = packument.versions.get(version).ok_or_else(|| {
            MonitorError::Invalid(format!("{name}@{version} is not in the packument"))
        })?;
        let published_at = packument.published_at(version);
        let provenance = if manifest.dist.attestations.is_some() {
            match self.registry.attestations(name, version).await? {
                Some(document) => self.verify(
                    name,
                    version,
                    manifest.dist.integrity.as_deref(),
                    &document,
                    policy,
                ),
                // Advertised but not served: the registry is inconsistent right now.
                None => {
                    return Err(MonitorError::Remote(RemoteError::Invalid(
                        "registry",
                        format!(
                            "{name}@{version} lists attestations that the registry does not serve"
                        ),
                    )));
                }
            }
        } else {
            Provenance::Absent
        };
        let run = match &provenance {
            Provenance::Verified {
                evidence,
                violations,
            } if violations.is_empty() => self.named_run(policy, evidence.run_id).await,
            _ => RunLookup::NotChecked,
        };
        let nearby_runs = match (&provenance, published_at) {
            (Provenance::Absent, Some(at)) if !history.earlier_had_provenance => {
                self.nearby_runs(policy, at).await
            }
            _ => RunSearch::NotChecked,
        };
        Ok(decide(
            policy,
            Facts {
                version,
                published_at,
                git_head: manifest.git_head.as_deref(),
                provenance,
                run,
                nearby_runs,
                earlier_had_provenance: history.earlier_had_provenance,
                signals: history.signals,
                now: self.clock.now(),
            },
        ))
    }

    /// Verifies the attestations document offline: the subject must name this package and
    /// version with the registry's sha512 integrity.
    fn verify(
        &self,
        name: &PackageName,
        version: &str,
        integrity: Option<&str>,
        document: &[u8],
        policy: &ReleasePolicy,
    ) -> Provenance {
        let Some(digest) = integrity.and_then(sri_sha512) else {
            return Provenance::Invalid {
                kind: "subject".to_owned(),
                message: "the registry gives no sha512 integrity to check the subject against"
                    .to_owned(),
            };
        };
        let expectation = Expectation {
            package: Some((name.clone(), version.to_owned())),
            artifact: ArtifactInput::Sha512(digest),
        };
        match self.verifier.verify_document(document, &expectation) {
            Err(error) => Provenance::Invalid {
                kind: error.kind.as_str().to_owned(),
                message: error.message,
            },
            Ok(verified) => match verified.provenance {
                Some(evidence) => {
                    let violations = policy.evaluate(&evidence);
                    Provenance::Verified {
                        evidence: Box::new(evidence),
                        violations,
                    }
                }
                // Only a publish attestation: nothing says where the version was built.
                None => Provenance::Absent,
            },
        }
    }

    async fn named_run(&self, policy: &ReleasePolicy, run_id: Option<u64>) -> RunLookup {
        let (Some(runs), Some(id)) = (&self.runs, run_id) else {
            return RunLookup::NotChecked;
        };
        match runs.run(&policy.repository, id).await {
            Ok(Some(run)) => RunLookup::Found(run),
            Ok(None) => RunLookup::NotFound,
            Err(e) => RunLookup::Unavailable(e.to_string()),
        }
    }

    async fn nearby_runs(&self, policy: &ReleasePolicy, published_at: i64) -> RunSearch {
        let Some(runs) = &self.runs else {
            return RunSearch::NotChecked;
        };
        let from = published_at - self.config.run_search_before_secs;
        let to = published_at + self.config.run_search_after_secs;
        let mut found = Vec::new();
        for workflow in &policy.workflows {
            match runs
                .runs_between(&policy.repository, workflow, from, to)
                .await
            {
                Ok(list) => found.extend(list),
                Err(e) => return RunSearch::Unavailable(e.to_string()),
            }
        }
        // The runner of a run that could vouch for the version is checked through its jobs.
        for run in found
            .iter_mut()
            .filter(|r| r.spans(published_at, crate::domain::PUBLISH_SLACK_SECS))
        {
            match runs.jobs(&policy.repository, run.id).await {
                Ok(jobs) => {
                    run.self_hosted_runner = Some(
                        jobs.iter()
                            .any(|j| j.labels.iter().any(|l| l == "self-hosted")),
                    );
                }
                Err(e) => return RunSearch::Unavailable(e.to_string()),
            }
        }
        RunSearch::Runs(found)
    }
}
