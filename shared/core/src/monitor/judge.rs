//! *Judge*: one `VersionPublished` event in, one verdict recorded (with its alert) out.
//!
//! Idempotent: a version already decided under the artifact's current policy costs one read
//! and changes nothing, so a redelivered, duplicated or replayed event is harmless; the event
//! carries every fact of the registry's document the verdict needs, so events judged out of
//! order give the same verdicts. A registry failure is an error (the event stays due and comes back); GitHub
//! trouble is part of the verdict (`pending`, due again later).

use super::config::MonitorConfig;
use super::error::MonitorError;
use crate::domain::format_time as rfc3339;
use crate::domain::{
    Alert, ArtifactError, Compliance, DueItem, EmitReason, Evidence, Facts, FileVerdict,
    JudgedVersion, PUBLISH_SLACK_SECS, Provenance, ReleasePolicy, RunContext, RunFacts, RunLookup,
    RunSearch, Signal, Verdict, VersionPublished, VersionRecord, builds_version, decide, judge_id,
    lookups, run_misses,
};
use crate::ports::{
    ArtifactStore, AttestationVerifier, Clock, Registry, RemoteError, Runs, Subject, VerdictStore,
    VerdictWrite, WatchStore,
};
use crate::registry::MAX_RECENT_ATTESTED;
use std::sync::Arc;

/// Whether `record` judged every file `event` lists (a file added to a release since is
/// judged, with the release, again).
fn judged_every_file(record: &VersionRecord, event: &VersionPublished) -> bool {
    event
        .files
        .iter()
        .all(|file| record.verdict.files.iter().any(|f| f.name == file.name))
}

/// What one judgement is about: a version that is one file, or one file of a version.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    file: Option<&'a str>,
    integrity: Option<&'a str>,
    published_at: Option<i64>,
    has_attestations: bool,
}

/// Versions read, newest first, to find the last compliant release before a new one.
pub const LAST_RELEASE_LOOKBACK: usize = 50;

/// The commit and workflow file a verdict's evidence says the version was built from.
fn built_from(verdict: &Verdict) -> Option<(String, String)> {
    let evidence = &verdict.evidence;
    if let Some(p) = &evidence.provenance
        && let (Some(commit), Some(path)) = (&p.commit, &p.workflow_path)
    {
        return Some((commit.to_ascii_lowercase(), path.clone()));
    }
    evidence
        .run
        .as_ref()
        .map(|r| (r.head_sha.to_ascii_lowercase(), r.workflow_path.clone()))
        .filter(|(sha, _)| !sha.is_empty())
}

/// `https://github.com` (or the GitHub Enterprise host) from the run links in a verdict.
fn web_base(verdict: &Verdict) -> String {
    let link = verdict.logs_url.as_deref().or(verdict
        .evidence
        .provenance
        .as_ref()
        .and_then(|p| p.run_url.as_deref()));
    link.and_then(|url| {
        let rest = url.strip_prefix("https://")?;
        let host = rest.split('/').next()?;
        Some(format!("https://{host}"))
    })
    .unwrap_or_else(|| "https://github.com".to_owned())
}

/// Runs that could vouch for one version whose jobs (refs, deployments) are looked up, at most.
pub const MAX_RUNS_CHECKED: usize = 20;

/// The judging use-case over its ports. `runs` is `None` when GitHub lookups are off.
#[derive(Debug, Clone)]
pub struct Judge<R, G, S, C> {
    pub registry: R,
    pub runs: Option<G>,
    pub store: S,
    pub clock: C,
    pub verifier: Arc<dyn AttestationVerifier>,
    pub config: MonitorConfig,
}

impl<R, G, S, C> Judge<R, G, S, C>
where
    R: Registry,
    G: Runs,
    S: ArtifactStore + VerdictStore + WatchStore,
    C: Clock,
{
    /// [`Self::judge`] within the configured judgement timeout: a judgement stuck behind
    /// slow or rate-limited services gives up (a retryable error: the version stays due), so
    /// one version cannot hold a tick or a Lambda invocation for its whole life.
    pub async fn judge_bounded(
        &self,
        event: &VersionPublished,
    ) -> Result<Option<JudgedVersion>, MonitorError> {
        let limit = std::time::Duration::from_secs(self.config.judge_timeout_secs.max(1));
        match tokio::time::timeout(limit, self.judge(event)).await {
            Ok(result) => result,
            Err(_) => Err(MonitorError::Remote(RemoteError::Unreachable(
                "judgement",
                format!("took longer than {} s; judged again later", limit.as_secs()),
            ))),
        }
    }

    /// Judges one event and records the verdict with its alert. `Ok(None)`: nothing to do
    /// (already decided under this policy, or the artifact is no longer watched).
    pub async fn judge(
        &self,
        event: &VersionPublished,
    ) -> Result<Option<JudgedVersion>, MonitorError> {
        let key = event.key();
        let existing = self.store.version(&key, &event.version).await?;
        if let Some(record) = &existing
            && record.verdict.compliance != Compliance::Pending
            && record.policy_rev >= event.policy_rev
            && judged_every_file(record, event)
        {
            if event.reason == EmitReason::Retry {
                // A due item outlived its verdict (a crash between hand-out and record).
                self.store.settle(&judge_id(&key, &event.version)).await?;
            }
            return Ok(None);
        }
        let Some(watched) = self.store.artifact(&key).await? else {
            self.store.settle(&judge_id(&key, &event.version)).await?;
            return Ok(None);
        };
        let bad = |source: ArtifactError| MonitorError::BadArtifact {
            key: key.clone(),
            source,
        };
        let registry = event.artifact.registry;
        registry
            .check_name(&event.artifact.name)
            .map_err(|e| bad(e.into()))?;
        let policy = watched
            .artifact
            .policy
            .to_policy()
            .map_err(|e| bad(e.into()))?;
        let verdict = self.decide(&policy, event).await?;
        let now = self.clock.now();
        let pending = verdict.compliance == Compliance::Pending;
        let pending_since = existing
            .as_ref()
            .and_then(|r| r.pending_since)
            .or(Some(now))
            .filter(|_| pending);
        // The first verdicts of the backfill are summarised once, not alerted one by one.
        let quiet = event.backfill && existing.is_none();
        let published = event.published_at.map(rfc3339);
        let alert = (verdict.alerts() && !quiet).then(|| {
            Alert::for_verdict(
                event.artifact.clone(),
                &event.version,
                &verdict,
                published.clone(),
                rfc3339(now),
            )
        });
        let notices: Vec<Alert> = pending_since
            .filter(|since| now - since >= self.config.unverifiable_after_secs)
            .map(|_| {
                Alert::unverifiable(
                    event.artifact.clone(),
                    &event.version,
                    &verdict,
                    published.clone(),
                    rfc3339(now),
                )
            })
            .into_iter()
            .collect();
        let record = VersionRecord {
            version: event.version.clone(),
            published_at: event.published_at,
            integrity: event.integrity.clone(),
            tarball: event.tarball.clone(),
            publisher: event.publisher.clone(),
            detected_at: event.detected_at,
            pending_since,
            backfill: event.backfill,
            verdict: verdict.clone(),
            policy_rev: watched.policy_rev,
            history: Vec::new(),
        };
        let retry = pending.then(|| {
            let reason = match event.reason {
                EmitReason::New => EmitReason::Retry,
                other => other,
            };
            DueItem::judge(event.again(reason), now + self.config.retry_pending_secs)
        });
        let outcome = self
            .store
            .record(
                &key,
                VerdictWrite {
                    record: &record,
                    alert: alert.as_ref(),
                    notices: &notices,
                    retry: retry.as_ref(),
                },
                now,
            )
            .await?;
        Ok(Some(JudgedVersion {
            artifact: key,
            version: event.version.clone(),
            compliance: verdict.compliance,
            confidence: verdict.confidence,
            reasons: verdict.reasons.clone(),
            recorded: outcome.recorded,
            alerts: outcome.alerts,
            alert_id: alert.map(|a| a.id),
            published_at: event.published_at,
            pending_because: (verdict.compliance == Compliance::Pending)
                .then(|| verdict.details.join("; ")),
            logs_url: verdict.logs_url,
            files: verdict.files,
        }))
    }

    /// Gathers the facts for the event's version and lets the pure engine decide: the
    /// version as one file, or each of its files on its own evidence and the version as the
    /// worst of them. An `Err` means the registry could not be asked.
    async fn decide(
        &self,
        policy: &ReleasePolicy,
        event: &VersionPublished,
    ) -> Result<Verdict, MonitorError> {
        let mut verdict = if event.files.is_empty() {
            let whole = Target {
                file: None,
                integrity: event.integrity.as_deref(),
                published_at: event.published_at,
                has_attestations: event.has_attestations,
            };
            self.decide_target(policy, event, whole).await?
        } else {
            let mut judged = Vec::with_capacity(event.files.len());
            for file in &event.files {
                let target = Target {
                    file: Some(&file.name),
                    integrity: file.integrity.as_deref(),
                    published_at: file.uploaded_at,
                    has_attestations: file.has_attestations,
                };
                let verdict = self.decide_target(policy, event, target).await?;
                let listed = FileVerdict {
                    name: file.name.clone(),
                    integrity: file.integrity.clone(),
                    uploaded_at: file.uploaded_at,
                    compliance: verdict.compliance,
                    reasons: Vec::new(),
                };
                judged.push((listed, verdict));
            }
            Verdict::worst_of(judged)
        };
        // A compliant release built from another commit than the last compliant one: did
        // the authorised workflow file change in between? (Not for the backfill or a policy
        // change's re-judging: asking for every historical release would spend the rate
        // limit on the past.) A signal adds its reason and changes no compliance.
        if verdict.compliance == Compliance::Compliant
            && !event.backfill
            && event.reason != EmitReason::Rejudge
            && let Some(signal) = self.workflow_change(policy, event, &verdict).await?
        {
            verdict.reasons.push(signal.code());
            verdict.details.push(signal.describe());
        }
        Ok(verdict)
    }

    /// The verdict on one target: the version's one file, or one file of a version that is
    /// a set of files.
    async fn decide_target(
        &self,
        policy: &ReleasePolicy,
        event: &VersionPublished,
        target: Target<'_>,
    ) -> Result<Verdict, MonitorError> {
        let artifact = &event.artifact;
        let version = event.version.as_str();
        let subject = Subject {
            artifact,
            version,
            file: target.file,
            integrity: target.integrity,
        };
        // What the registry lists is what it has: npm lists `dist.attestations` with the
        // version, the package index a file's provenance with the file (PEP 740 takes the
        // attestations in the upload request itself). Listed evidence that is not served
        // (yet: a replica behind) leaves the version undecided and asked again, never "no
        // provenance".
        let provenance = if target.has_attestations {
            match self.registry.attestations(&subject).await {
                Ok(Some(document)) => self.verify(&subject, &document, policy),
                // Advertised but not served: the registry is inconsistent right now (or has
                // not made a fresh upload's evidence available yet).
                Ok(None) => Provenance::Unavailable(format!(
                    "{} lists attestations that the registry does not serve (or not yet)",
                    subject.describe()
                )),
                // Down, overloaded or answering nonsense: a pending verdict is recorded (and
                // judged again when due; alerted as unverifiable if it stays so), so the
                // version is visible and nothing waits on a redelivery.
                Err(e) => Provenance::Unavailable(e.to_string()),
            }
        } else {
            Provenance::Absent
        };
        let run = match &provenance {
            Provenance::Verified {
                evidence,
                violations,
            } if violations.is_empty() => self.named_run(policy, evidence).await,
            _ => RunLookup::NotChecked,
        };
        let nearby_runs = match (&provenance, target.published_at) {
            (Provenance::Absent, Some(at)) if !event.earlier_had_provenance => {
                self.nearby_runs(policy, event, at).await
            }
            // GitHub could be asked, but without a publish time there is no moment to ask
            // about: the engine says so (`publish_time_unknown`), not "no GitHub access".
            (Provenance::Absent, None) if !event.earlier_had_provenance && self.runs.is_some() => {
                RunSearch::Runs(Vec::new())
            }
            _ => RunSearch::NotChecked,
        };
        let mut signals = event.signals.clone();
        if let Provenance::Verified { evidence, .. } = &provenance
            && let Some(signal) = self.same_run(event, evidence, policy).await?
        {
            signals.push(signal);
        }
        let facts = Facts {
            version,
            published_at: target.published_at,
            git_head: event.git_head.as_deref(),
            provenance,
            run,
            nearby_runs,
            earlier_had_provenance: event.earlier_had_provenance,
            signals,
            now: self.clock.now(),
        };
        Ok(decide(policy, facts))
    }

    /// The latest earlier version (of those published within a day before) whose verified
    /// provenance names the same run and attempt as this version's. Recorded verdicts are
    /// read first; a version not judged yet is verified here, so the signal does not depend
    /// on the order the events arrive in.
    async fn same_run(
        &self,
        event: &VersionPublished,
        evidence: &Evidence,
        policy: &ReleasePolicy,
    ) -> Result<Option<Signal>, MonitorError> {
        let Some(run_id) = evidence.run_id else {
            return Ok(None);
        };
        let key = event.key();
        for earlier in event.recent_attested.iter().take(MAX_RECENT_ATTESTED) {
            if earlier.version == event.version {
                continue;
            }
            let recorded = self
                .store
                .version(&key, &earlier.version)
                .await?
                .and_then(|r| r.verdict.evidence.provenance);
            let theirs = match recorded {
                Some(theirs) => Some(theirs),
                None => match self
                    .registry
                    .attestations(&Subject {
                        artifact: &event.artifact,
                        version: &earlier.version,
                        file: None,
                        integrity: earlier.integrity.as_deref(),
                    })
                    .await?
                {
                    Some(document) => match self.verify(
                        &Subject {
                            artifact: &event.artifact,
                            version: &earlier.version,
                            file: None,
                            integrity: earlier.integrity.as_deref(),
                        },
                        &document,
                        policy,
                    ) {
                        Provenance::Verified { evidence, .. } => Some(*evidence),
                        _ => None,
                    },
                    None => None,
                },
            };
            if let Some(theirs) = theirs
                && theirs.run_id == Some(run_id)
                && theirs.run_attempt == evidence.run_attempt
            {
                return Ok(Some(Signal::SameRunAsEarlier {
                    version: earlier.version.clone(),
                    run_id,
                    attempt: evidence.run_attempt,
                }));
            }
        }
        Ok(None)
    }

    /// Whether the workflow file that built this compliant version changed since the last
    /// compliant release (when that was built from another commit): two commit lookups
    /// filtered by path, ETag-cached. `None`: nothing to compare.
    async fn workflow_change(
        &self,
        policy: &ReleasePolicy,
        event: &VersionPublished,
        verdict: &Verdict,
    ) -> Result<Option<Signal>, MonitorError> {
        let Some((head, path)) = built_from(verdict) else {
            return Ok(None);
        };
        let Some(published_at) = event.published_at else {
            return Ok(None);
        };
        let key = event.key();
        let page = self
            .store
            .versions_page(&key, None, LAST_RELEASE_LOOKBACK)
            .await?;
        let base = page.items.iter().find_map(|r| {
            let earlier = r.version != event.version
                && r.published_at.is_some_and(|t| t < published_at)
                && r.verdict.compliance == Compliance::Compliant;
            earlier.then(|| built_from(&r.verdict)).flatten()
        });
        let Some((base, _)) = base else {
            return Ok(None);
        };
        if base.eq_ignore_ascii_case(&head) {
            return Ok(None);
        }
        let Some(runs) = &self.runs else {
            return Ok(Some(Signal::WorkflowChangeNotChecked(
                "no GitHub access configured".to_owned(),
            )));
        };
        let repository = &policy.repository;
        let changed = async {
            let now = runs.last_change(repository, &head, &path).await?;
            let then = runs.last_change(repository, &base, &path).await?;
            Ok::<_, RemoteError>((now, then))
        };
        Ok(Some(match changed.await {
            Err(e) => Signal::WorkflowChangeNotChecked(format!("GitHub could not be asked: {e}")),
            Ok((None, _)) => Signal::WorkflowChangeNotChecked(format!(
                "GitHub knows no change of {path} as of commit {head}"
            )),
            Ok((Some(now), then)) if then.as_deref() == Some(now.as_str()) => return Ok(None),
            Ok((Some(_), _)) => Signal::WorkflowChanged {
                compare_url: format!("{}/{repository}/compare/{base}...{head}", web_base(verdict)),
                path,
                base,
                head,
            },
        }))
    }

    /// Verifies the attestations document offline against the subject's registry type's
    /// rule (the subject must name this version and the digest the registry lists).
    fn verify(&self, subject: &Subject<'_>, document: &[u8], policy: &ReleasePolicy) -> Provenance {
        match self.verifier.verify(subject, document) {
            Err(rejection) => Provenance::Invalid {
                kind: rejection.kind,
                message: rejection.message,
            },
            Ok(provenance) => match provenance {
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

    async fn named_run(&self, policy: &ReleasePolicy, evidence: &Evidence) -> RunLookup {
        let (Some(runs), Some(id)) = (&self.runs, evidence.run_id) else {
            return RunLookup::NotChecked;
        };
        match runs.run(&policy.repository, id).await {
            Ok(Some(run)) => {
                let mut context = RunContext::bare(run);
                // A certificate without the runner claim: the jobs may confirm the runner.
                // Without them the verdict says it could not (medium), so a failed lookup
                // is not worth a pending verdict.
                if policy.require_github_hosted_runner && evidence.runner_environment.is_none() {
                    context.jobs = runs.jobs(&policy.repository, id).await.ok();
                }
                RunLookup::Found(Box::new(context))
            }
            Ok(None) => RunLookup::NotFound,
            Err(e) => RunLookup::Unavailable(e.to_string()),
        }
    }

    /// The runs of the authorised workflows around the publish time, and for each run that
    /// built the version and passes what the run object shows, what [`lookups`] asks: its
    /// jobs, which of its possible refs exist, its environment's deployments.
    async fn nearby_runs(
        &self,
        policy: &ReleasePolicy,
        event: &VersionPublished,
        published_at: i64,
    ) -> RunSearch {
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
        let could_vouch = |run: &RunFacts| {
            builds_version(
                run,
                &event.version,
                event.git_head.as_deref(),
                published_at,
                PUBLISH_SLACK_SECS,
            ) && run_misses(policy, run).is_empty()
        };
        // The runs that could vouch are looked into, for a bounded number of runs: a
        // workflow with more runs building one commit at one moment than that is not
        // something to spend hundreds of requests on, nor to guess about.
        let vouching: Vec<bool> = found.iter().map(could_vouch).collect();
        let candidates = vouching.iter().filter(|v| **v).count();
        if candidates > MAX_RUNS_CHECKED {
            return RunSearch::Unavailable(format!(
                "{candidates} runs of the authorised workflows built this commit at the publish time; at most {MAX_RUNS_CHECKED} are checked"
            ));
        }
        let mut contexts = Vec::with_capacity(found.len());
        for (run, vouches) in found.into_iter().zip(vouching) {
            let mut context = RunContext::bare(run);
            if vouches && let Err(e) = self.look_into(runs, policy, &mut context).await {
                return RunSearch::Unavailable(e.to_string());
            }
            contexts.push(context);
        }
        RunSearch::Runs(contexts)
    }

    async fn look_into(
        &self,
        runs: &G,
        policy: &ReleasePolicy,
        context: &mut RunContext,
    ) -> Result<(), RemoteError> {
        let asks = lookups(policy, &context.run);
        let repository = &policy.repository;
        if asks.jobs {
            context.jobs = Some(runs.jobs(repository, context.run.id).await?);
        }
        if !asks.refs.is_empty() {
            let mut existing = Vec::new();
            for full_ref in asks.refs {
                if runs.ref_exists(repository, &full_ref).await? {
                    existing.push(full_ref);
                }
            }
            context.existing_refs = Some(existing);
        }
        if let Some(environment) = &asks.environment {
            context.deployments = Some(
                runs.deployments(repository, &context.run.head_sha, environment)
                    .await?,
            );
        }
        Ok(())
    }
}
