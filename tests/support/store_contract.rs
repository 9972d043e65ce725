//! The store contract: every implementation of `Store` must pass these checks. Each check
//! takes a fresh, empty store.

// Test support: a failed store call is a failed check.
#![allow(clippy::unwrap_used)]

use artifact_monitor::domain::{
    Alert, AlertArtifact, Artifact, Compliance, Confidence, FeedState, PolicySpec, PollState,
    Recorded, Snapshot, Validators, Verdict, VerdictEvidence, VersionRecord,
};
use artifact_monitor::ports::Store;

pub fn artifact(name: &str) -> Artifact {
    Artifact::npm(
        name,
        PolicySpec::new("octo-org/octo-repo", &[".github/workflows/release.yml"]),
    )
    .expect("valid artifact")
}

pub fn verdict(compliance: Compliance, reasons: &[&str]) -> Verdict {
    Verdict {
        compliance,
        confidence: Confidence::High,
        reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
        details: reasons.iter().map(|r| format!("because {r}")).collect(),
        evidence: VerdictEvidence::default(),
        logs_url: None,
    }
}

pub fn record(version: &str, verdict: Verdict, at: i64) -> VersionRecord {
    VersionRecord {
        version: version.to_owned(),
        published_at: Some(at - 10),
        integrity: Some("sha512-x".to_owned()),
        tarball: None,
        publisher: None,
        detected_at: at,
        pending_since: None,
        backfill: false,
        verdict,
        history: Vec::new(),
    }
}

pub fn alert_for(name: &str, version: &str, verdict: &Verdict) -> Alert {
    Alert::for_verdict(
        AlertArtifact {
            registry: "npm".to_owned(),
            name: name.to_owned(),
        },
        version,
        verdict,
        None,
        "2026-11-28T00:00:00Z".to_owned(),
    )
}

pub async fn artifacts_are_kept_listed_replaced_and_deleted(store: &impl Store) {
    let a = artifact("alpha");
    assert_eq!(store.put_artifact(&a).await.unwrap(), None);
    store.put_artifact(&artifact("@scope/beta")).await.unwrap();
    let mut changed = a.clone();
    changed.policy.allowed_events = Some(vec!["release".to_owned()]);
    assert_eq!(store.put_artifact(&changed).await.unwrap(), Some(a.clone()));
    assert_eq!(store.artifact("npm/alpha").await.unwrap(), Some(changed));
    let names: Vec<_> = store
        .artifacts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["@scope/beta", "alpha"]);

    let ok = verdict(Compliance::Compliant, &["provenance_verified"]);
    store
        .record("npm/alpha", &record("1.0.0", ok, 100), None, 100)
        .await
        .unwrap();
    store
        .put_poll_state("npm/alpha", &PollState::default())
        .await
        .unwrap();
    assert!(store.delete_artifact("npm/alpha").await.unwrap());
    assert!(!store.delete_artifact("npm/alpha").await.unwrap());
    assert_eq!(store.artifact("npm/alpha").await.unwrap(), None);
    assert!(store.versions("npm/alpha").await.unwrap().is_empty());
    assert_eq!(store.poll_state("npm/alpha").await.unwrap(), None);
    assert_eq!(store.artifacts().await.unwrap().len(), 1);
}

pub async fn poll_state_round_trips(store: &impl Store) {
    assert_eq!(store.poll_state("npm/alpha").await.unwrap(), None);
    let state = PollState {
        validators: Validators {
            etag: Some("W/\"abc\"".to_owned()),
            last_modified: Some("Sat, 28 Nov 2026 00:00:00 GMT".to_owned()),
        },
        snapshot: Some(Snapshot::default()),
        last_changed_at: Some(5),
        watching_since: Some(4),
        backfill_retry: ["1.0.0".to_owned()].into(),
        retry: ["1.0.0".to_owned()].into(),
    };
    store.put_poll_state("npm/alpha", &state).await.unwrap();
    assert_eq!(store.poll_state("npm/alpha").await.unwrap(), Some(state));
}

pub async fn recording_is_idempotent_and_alerts_once(store: &impl Store) {
    let bad = verdict(Compliance::NonCompliant, &["no_provenance", "no_run"]);
    let alert = alert_for("alpha", "1.0.1", &bad);
    let first = record("1.0.1", bad.clone(), 100);
    assert_eq!(
        store
            .record("npm/alpha", &first, Some(&alert), 100)
            .await
            .unwrap(),
        Recorded::New
    );
    // The same decision again, later, by another writer: nothing changes, nothing alerts.
    let again = record("1.0.1", bad.clone(), 200);
    assert_eq!(
        store
            .record("npm/alpha", &again, Some(&alert), 200)
            .await
            .unwrap(),
        Recorded::Unchanged
    );
    assert_eq!(
        store.version("npm/alpha", "1.0.1").await.unwrap(),
        Some(first)
    );
    let outbox = store.outbox(10).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].alert, alert);
    assert_eq!(outbox[0].enqueued_at, 100);
}

pub async fn a_changed_decision_keeps_history(store: &impl Store) {
    let pending = verdict(
        Compliance::Pending,
        &["provenance_verified", "github_unavailable"],
    );
    let mut first = record("2.0.0", pending, 100);
    first.pending_since = Some(100);
    store.record("npm/alpha", &first, None, 100).await.unwrap();
    let ok = verdict(
        Compliance::Compliant,
        &["provenance_verified", "run_verified"],
    );
    let mut second = record("2.0.0", ok.clone(), 300);
    second.pending_since = Some(100);
    assert_eq!(
        store.record("npm/alpha", &second, None, 300).await.unwrap(),
        Recorded::Changed
    );
    let stored = store.version("npm/alpha", "2.0.0").await.unwrap().unwrap();
    assert_eq!(stored.verdict, ok);
    assert_eq!(stored.detected_at, 100, "first detection time is kept");
    assert_eq!(stored.pending_since, None, "no longer pending");
    assert_eq!(stored.history.len(), 1);
    assert_eq!(stored.history[0].from, Compliance::Pending);
    assert_eq!(stored.history[0].to, Compliance::Compliant);
    assert_eq!(stored.history[0].at, 300);
    assert!(store.outbox(10).await.unwrap().is_empty());
}

pub async fn versions_are_listed_per_artifact(store: &impl Store) {
    let ok = verdict(Compliance::Compliant, &["provenance_verified"]);
    for (key, version) in [("npm/a", "1.0.0"), ("npm/ab", "9.9.9"), ("npm/a", "0.1.0")] {
        store
            .record(key, &record(version, ok.clone(), 1), None, 1)
            .await
            .unwrap();
    }
    let versions: Vec<_> = store
        .versions("npm/a")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, ["0.1.0", "1.0.0"]);
    assert_eq!(store.version("npm/a", "9.9.9").await.unwrap(), None);
}

pub async fn the_outbox_delivers_in_order_and_never_twice(store: &impl Store) {
    let bad = verdict(Compliance::NonCompliant, &["provenance_invalid"]);
    let first = alert_for("alpha", "1.0.0", &bad);
    let second = alert_for("alpha", "1.0.1", &bad);
    assert!(store.enqueue(&first, 1).await.unwrap());
    assert!(store.enqueue(&second, 2).await.unwrap());
    assert!(!store.enqueue(&first, 3).await.unwrap());
    let ids: Vec<_> = store
        .outbox(10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.alert.id)
        .collect();
    assert_eq!(ids, [first.id.clone(), second.id.clone()]);
    assert_eq!(store.outbox(1).await.unwrap().len(), 1);

    store.mark_printed(&first.id).await.unwrap();
    store
        .mark_failed(&first.id, "webhook answered 503")
        .await
        .unwrap();
    store
        .mark_failed(&first.id, "webhook answered 502")
        .await
        .unwrap();
    let entry = &store.outbox(10).await.unwrap()[0];
    assert!(entry.printed);
    assert_eq!(entry.attempts, 2);
    assert_eq!(entry.last_error.as_deref(), Some("webhook answered 502"));

    store.mark_delivered(&first.id).await.unwrap();
    let ids: Vec<_> = store
        .outbox(10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.alert.id)
        .collect();
    assert_eq!(ids, std::slice::from_ref(&second.id));
    // Delivered ids stay known: the same alert is never enqueued again.
    assert!(!store.enqueue(&first, 4).await.unwrap());
    let again = record("1.0.0", bad.clone(), 5);
    store
        .record("npm/alpha", &again, Some(&first), 5)
        .await
        .unwrap();
    assert_eq!(store.outbox(10).await.unwrap().len(), 1);
    // Marking an unknown id is harmless.
    store.mark_delivered("npm/none@0#x").await.unwrap();
}

pub async fn feed_state_round_trips(store: &impl Store) {
    assert_eq!(store.feed_state().await.unwrap(), FeedState::default());
    let state = FeedState {
        since: Some("42".to_owned()),
        sweep_cursor: Some("npm/alpha".to_owned()),
        feed_read_at: Some(7),
        sweep_started_at: Some(3),
    };
    store.put_feed_state(&state).await.unwrap();
    assert_eq!(store.feed_state().await.unwrap(), state);
    // Artifact and outbox operations leave it alone.
    store.put_artifact(&artifact("alpha")).await.unwrap();
    store.delete_artifact("npm/alpha").await.unwrap();
    assert_eq!(store.feed_state().await.unwrap(), state);
}

/// Runs every check, each on a fresh store from `fresh`.
pub async fn run_all<S: Store, F: std::future::Future<Output = S>>(fresh: impl Fn() -> F) {
    artifacts_are_kept_listed_replaced_and_deleted(&fresh().await).await;
    poll_state_round_trips(&fresh().await).await;
    recording_is_idempotent_and_alerts_once(&fresh().await).await;
    a_changed_decision_keeps_history(&fresh().await).await;
    versions_are_listed_per_artifact(&fresh().await).await;
    the_outbox_delivers_in_order_and_never_twice(&fresh().await).await;
    feed_state_round_trips(&fresh().await).await;
}
