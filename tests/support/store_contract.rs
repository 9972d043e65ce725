//! The store contract: every implementation of `Store` must pass these checks. Each check
//! takes a fresh, empty store.

// Test support: a failed store call is a failed check.
#![allow(clippy::unwrap_used)]

use artifact_monitor_core::domain::{
    Alert, AlertArtifact, Artifact, ArtifactRef, ArtifactSource, Compliance, Confidence, DueCounts,
    DueItem, DueWork, EmitReason, FeedPosition, FeedState, PolicySpec, PollState, Recorded,
    VERSION_PUBLISHED_SCHEMA, Validators, Verdict, VerdictEvidence, VersionPublished,
    VersionRecord, WatchedArtifact,
};
use artifact_monitor_core::ports::{PollCommit, Store, StoreError, VerdictWrite};
use artifact_monitor_core::registry::{RegistryType, Snapshot};

pub fn artifact(name: &str) -> Artifact {
    Artifact::npm(
        name,
        PolicySpec::new("octo-org/octo-repo", &[".github/workflows/release.yml"]),
    )
    .expect("valid artifact")
}

/// `artifact(name)` as the watched set keeps it.
pub fn watched(name: &str) -> WatchedArtifact {
    WatchedArtifact::new(artifact(name), ArtifactSource::Api, 1)
}

/// The event detection would emit for `version` of `name`.
pub fn event(name: &str, version: &str, reason: EmitReason) -> VersionPublished {
    VersionPublished {
        schema_version: VERSION_PUBLISHED_SCHEMA,
        artifact: ArtifactRef {
            registry: artifact_monitor_core::registry::RegistryType::Npm,
            name: name.to_owned(),
        },
        version: version.to_owned(),
        integrity: Some("sha512-x".to_owned()),
        tarball: None,
        git_head: None,
        published_at: Some(1),
        publisher: None,
        has_attestations: false,
        earlier_had_provenance: false,
        signals: Vec::new(),
        recent_attested: Vec::new(),
        reason,
        backfill: reason == EmitReason::Backfill,
        policy_rev: 1,
        detected_at: 1,
        files: Vec::new(),
    }
}

/// Records a verdict with an optional alert, settling its due judgement.
pub async fn record_with(
    store: &impl Store,
    key: &str,
    record: &VersionRecord,
    alert: Option<&Alert>,
    now: i64,
) -> Recorded {
    store
        .record(
            key,
            VerdictWrite {
                record,
                alert,
                notices: &[],
                retry: None,
            },
            now,
        )
        .await
        .unwrap()
        .recorded
}

async fn all_artifacts(store: &impl Store) -> Vec<String> {
    store
        .artifacts_after(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.artifact.name)
        .collect()
}

pub fn verdict(compliance: Compliance, reasons: &[&str]) -> Verdict {
    Verdict {
        compliance,
        confidence: Confidence::High,
        reasons: reasons.iter().map(|r| r.parse().unwrap()).collect(),
        details: reasons.iter().map(|r| format!("because {r}")).collect(),
        evidence: VerdictEvidence::default(),
        logs_url: None,
        files: Vec::new(),
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
        policy_rev: 1,
        history: Vec::new(),
    }
}

pub fn alert_for(name: &str, version: &str, verdict: &Verdict) -> Alert {
    Alert::for_verdict(
        AlertArtifact {
            registry: artifact_monitor_core::registry::RegistryType::Npm,
            name: name.to_owned(),
        },
        version,
        verdict,
        None,
        "2026-11-28T00:00:00Z".to_owned(),
    )
}

pub async fn artifacts_are_kept_listed_replaced_and_deleted(store: &impl Store) {
    let a = watched("alpha");
    assert_eq!(store.put_artifact(&a).await.unwrap(), None);
    store.put_artifact(&watched("@scope/beta")).await.unwrap();
    store.put_artifact(&watched("gamma")).await.unwrap();
    let mut changed = a.clone();
    changed.artifact.policy.allowed_events = Some(vec!["release".to_owned()]);
    changed.policy_rev = 2;
    assert_eq!(store.put_artifact(&changed).await.unwrap(), Some(a.clone()));
    assert_eq!(store.artifact("npm/alpha").await.unwrap(), Some(changed));
    assert_eq!(
        all_artifacts(store).await,
        ["@scope/beta", "alpha", "gamma"]
    );
    // Pages in key order, after a cursor.
    let page: Vec<_> = store
        .artifacts_after(Some("npm/@scope/beta"), 1)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.key())
        .collect();
    assert_eq!(page, ["npm/alpha"]);
    assert!(
        store
            .artifacts_after(Some("npm/gamma"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A batch lookup returns the watched ones among the names asked.
    let named: Vec<_> = store
        .artifacts_named(&["npm/gamma".into(), "npm/nope".into(), "npm/alpha".into()])
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.artifact.name)
        .collect();
    assert_eq!(named, ["gamma", "alpha"]);

    // Removing an artifact removes its versions, poll state and due work.
    let ok = verdict(Compliance::Compliant, &["provenance_verified"]);
    record_with(store, "npm/alpha", &record("1.0.0", ok, 100), None, 100).await;
    store
        .commit_poll(
            "npm/alpha",
            &PollState::default(),
            &PollCommit {
                due: vec![DueItem::judge(event("alpha", "2.0.0", EmitReason::New), 5)],
                ..PollCommit::default()
            },
            100,
        )
        .await
        .unwrap();
    assert!(store.delete_artifact("npm/alpha").await.unwrap());
    assert!(!store.delete_artifact("npm/alpha").await.unwrap());
    assert_eq!(store.artifact("npm/alpha").await.unwrap(), None);
    assert!(store.versions("npm/alpha").await.unwrap().is_empty());
    assert_eq!(store.poll_state("npm/alpha").await.unwrap(), None);
    assert!(store.due_of("npm/alpha").await.unwrap().is_empty());
    assert_eq!(store.due_counts().await.unwrap(), DueCounts::default());
    assert_eq!(all_artifacts(store).await, ["@scope/beta", "gamma"]);
}

pub async fn poll_state_is_written_against_the_revision_read(store: &impl Store) {
    assert_eq!(store.poll_state("npm/alpha").await.unwrap(), None);
    store.put_artifact(&watched("alpha")).await.unwrap();
    let state = PollState {
        rev: 0,
        validators: Validators {
            etag: Some("W/\"abc\"".to_owned()),
            last_modified: Some("Sat, 28 Nov 2026 00:00:00 GMT".to_owned()),
        },
        snapshot: Some(Snapshot::default()),
        last_changed_at: Some(5),
        watching_since: Some(4),
        fresh_read_at: Some(5),
        reread: true,
    };
    let alert = alert_for(
        "alpha",
        "1.0.0",
        &verdict(Compliance::NonCompliant, &["no_run"]),
    );
    store
        .schedule(&[DueItem {
            artifact: "npm/alpha".to_owned(),
            work: DueWork::Read { rejudge: false },
            due_at: 1,
        }])
        .await
        .unwrap();
    let commit = PollCommit {
        due: vec![DueItem::judge(
            event("alpha", "1.0.0", EmitReason::Backfill),
            5,
        )],
        alerts: vec![alert.clone()],
        read_done: Some(false),
        backfill_total: Some(1),
    };
    assert_eq!(
        store
            .commit_poll("npm/alpha", &state, &commit, 5)
            .await
            .unwrap(),
        1
    );
    let stored = store.poll_state("npm/alpha").await.unwrap().unwrap();
    assert_eq!(stored.rev, 1);
    assert_eq!(
        PollState {
            rev: 0,
            ..stored.clone()
        },
        state
    );
    // The read was done, the version is due, the alert queued, the backfill counted.
    let due = store.due_of("npm/alpha").await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(matches!(&due[0].work, DueWork::Judge { event } if event.version == "1.0.0"));
    assert_eq!(store.outbox(10).await.unwrap()[0].alert, alert);
    let progress = store.artifact("npm/alpha").await.unwrap().unwrap().backfill;
    assert_eq!(
        (progress.total, progress.judged, progress.started),
        (1, 0, true)
    );

    // A second writer that read revision 0 too loses, and writes nothing.
    let late = PollCommit {
        due: vec![DueItem::judge(event("alpha", "9.9.9", EmitReason::New), 5)],
        ..PollCommit::default()
    };
    let lost = store.commit_poll("npm/alpha", &state, &late, 6).await;
    assert!(matches!(lost, Err(StoreError::Conflict(_))), "{lost:?}");
    assert_eq!(store.due_of("npm/alpha").await.unwrap().len(), 1);
    // Written against the revision it was read at, it wins.
    store
        .commit_poll("npm/alpha", &stored, &PollCommit::default(), 7)
        .await
        .unwrap();
    assert_eq!(store.poll_state("npm/alpha").await.unwrap().unwrap().rev, 2);
}

pub async fn recording_is_idempotent_and_alerts_once(store: &impl Store) {
    let bad = verdict(Compliance::NonCompliant, &["no_provenance", "no_run"]);
    let alert = alert_for("alpha", "1.0.1", &bad);
    let first = record("1.0.1", bad.clone(), 100);
    assert_eq!(
        record_with(store, "npm/alpha", &first, Some(&alert), 100).await,
        Recorded::New
    );
    // The same decision again, later, by another writer: nothing changes, nothing alerts.
    let again = record("1.0.1", bad.clone(), 200);
    assert_eq!(
        record_with(store, "npm/alpha", &again, Some(&alert), 200).await,
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
    record_with(store, "npm/alpha", &first, None, 100).await;
    let ok = verdict(
        Compliance::Compliant,
        &["provenance_verified", "run_verified"],
    );
    let mut second = record("2.0.0", ok.clone(), 300);
    second.pending_since = Some(100);
    assert_eq!(
        record_with(store, "npm/alpha", &second, None, 300).await,
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

pub async fn a_verdict_settles_or_reschedules_its_due_judgement(store: &impl Store) {
    store.put_artifact(&watched("alpha")).await.unwrap();
    let new = DueItem::judge(event("alpha", "1.0.0", EmitReason::New), 10);
    store.schedule(std::slice::from_ref(&new)).await.unwrap();
    // Pending: due again at the retry time, one item still.
    let pending = record(
        "1.0.0",
        verdict(Compliance::Pending, &["github_unavailable"]),
        20,
    );
    let retry = DueItem::judge(event("alpha", "1.0.0", EmitReason::Retry), 80);
    let notice = Alert::unverifiable(
        AlertArtifact {
            registry: artifact_monitor_core::registry::RegistryType::Npm,
            name: "alpha".into(),
        },
        "1.0.0",
        &pending.verdict,
        None,
        "2026-11-28T00:00:00Z".into(),
    );
    let outcome = store
        .record(
            "npm/alpha",
            VerdictWrite {
                record: &pending,
                alert: None,
                notices: std::slice::from_ref(&notice),
                retry: Some(&retry),
            },
            20,
        )
        .await
        .unwrap();
    assert_eq!((outcome.recorded, outcome.alerts), (Recorded::New, 1));
    assert_eq!(
        store.due_of("npm/alpha").await.unwrap(),
        std::slice::from_ref(&retry)
    );
    assert!(store.due(79, 10).await.unwrap().is_empty());
    assert_eq!(store.due(80, 10).await.unwrap(), [retry]);
    // The notice is enqueued once, even when the same pending decision is recorded again.
    let outcome = store
        .record(
            "npm/alpha",
            VerdictWrite {
                record: &pending,
                alert: None,
                notices: std::slice::from_ref(&notice),
                retry: None,
            },
            90,
        )
        .await
        .unwrap();
    assert_eq!((outcome.recorded, outcome.alerts), (Recorded::Unchanged, 0));
    // Decided: settled.
    assert!(store.due_of("npm/alpha").await.unwrap().is_empty());
    assert_eq!(store.due_counts().await.unwrap(), DueCounts::default());
}

pub async fn due_work_comes_by_priority_then_time(store: &impl Store) {
    let backfill = DueItem::judge(event("alpha", "0.1.0", EmitReason::Backfill), 1);
    let read = DueItem {
        artifact: "npm/beta".to_owned(),
        work: DueWork::Read { rejudge: false },
        due_at: 2,
    };
    let late_new = DueItem::judge(event("alpha", "2.0.0", EmitReason::New), 30);
    let new = DueItem::judge(event("alpha", "1.0.0", EmitReason::New), 3);
    store
        .schedule(&[
            backfill.clone(),
            read.clone(),
            late_new.clone(),
            new.clone(),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.due_counts().await.unwrap(),
        DueCounts {
            reads: 1,
            judgements: 3,
            summaries: 0
        }
    );
    // Due at 10: the new version first, then the read, then the backfill; not the late one.
    assert_eq!(
        store.due(10, 10).await.unwrap(),
        [new.clone(), read.clone(), backfill.clone()]
    );
    assert_eq!(store.due(10, 2).await.unwrap(), [new.clone(), read.clone()]);
    // Postponed work is not due until then.
    store.postpone(&[new.id(), read.id()], 50).await.unwrap();
    assert_eq!(
        store.due(10, 10).await.unwrap(),
        std::slice::from_ref(&backfill)
    );
    // Replacing a backfill judgement keeps it part of the backfill.
    let rejudge = DueItem::judge(event("alpha", "0.1.0", EmitReason::Rejudge), 4);
    store.schedule(&[rejudge]).await.unwrap();
    match &store.due(10, 1).await.unwrap()[0].work {
        DueWork::Judge { event } => {
            assert_eq!(event.reason, EmitReason::Rejudge);
            assert!(event.backfill);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.due_counts().await.unwrap().judgements, 3);
    store.settle(&late_new.id()).await.unwrap();
    store.settle(&read.id()).await.unwrap();
    store
        .settle(&artifact_monitor_core::domain::judge_id(
            "npm/none", "1.0.0",
        ))
        .await
        .unwrap();
    assert_eq!(
        store.due_counts().await.unwrap(),
        DueCounts {
            reads: 0,
            judgements: 2,
            summaries: 0
        }
    );
    assert_eq!(store.due_of("npm/alpha").await.unwrap().len(), 2);
    assert!(store.due_of("npm/beta").await.unwrap().is_empty());
}

pub async fn the_last_backfill_verdict_makes_the_summary_due_once(store: &impl Store) {
    store.put_artifact(&watched("alpha")).await.unwrap();
    let commit = PollCommit {
        due: vec![
            DueItem::judge(event("alpha", "1.0.0", EmitReason::Backfill), 1),
            DueItem::judge(event("alpha", "1.1.0", EmitReason::Backfill), 1),
        ],
        backfill_total: Some(2),
        read_done: Some(false),
        ..PollCommit::default()
    };
    store
        .commit_poll("npm/alpha", &PollState::default(), &commit, 1)
        .await
        .unwrap();
    let ok = verdict(Compliance::Compliant, &["provenance_verified"]);
    let mut first = record("1.0.0", ok.clone(), 2);
    first.backfill = true;
    let write = |r| VerdictWrite {
        record: r,
        alert: None,
        notices: &[],
        retry: None,
    };
    let outcome = store.record("npm/alpha", write(&first), 2).await.unwrap();
    assert!(!outcome.backfill_complete);
    let mut second = record("1.1.0", ok.clone(), 3);
    second.backfill = true;
    let outcome = store.record("npm/alpha", write(&second), 3).await.unwrap();
    assert!(outcome.backfill_complete);
    let due = store.due(3, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].work, DueWork::Summarise);
    // Recorded again (a redelivery): the backfill does not complete twice.
    let outcome = store.record("npm/alpha", write(&second), 4).await.unwrap();
    assert!(!outcome.backfill_complete);
    let progress = store.artifact("npm/alpha").await.unwrap().unwrap().backfill;
    assert_eq!((progress.total, progress.judged), (2, 2));
    assert_eq!(store.due_counts().await.unwrap().summaries, 1);
}

pub async fn a_lease_is_held_by_one_owner_until_it_expires(store: &impl Store) {
    assert!(
        store
            .take_lease("poller", "tick-a", 100, 160)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_lease("poller", "tick-b", 120, 180)
            .await
            .unwrap()
    );
    // The holder may extend it; another lease is independent.
    assert!(
        store
            .take_lease("poller", "tick-a", 150, 210)
            .await
            .unwrap()
    );
    assert!(store.take_lease("other", "tick-b", 150, 210).await.unwrap());
    assert!(
        !store
            .take_lease("poller", "tick-b", 200, 260)
            .await
            .unwrap()
    );
    // Expired: anyone may take it.
    assert!(
        store
            .take_lease("poller", "tick-b", 210, 270)
            .await
            .unwrap()
    );
    // Only the holder gives it back.
    store.release_lease("poller", "tick-a").await.unwrap();
    assert!(
        !store
            .take_lease("poller", "tick-c", 220, 280)
            .await
            .unwrap()
    );
    store.release_lease("poller", "tick-b").await.unwrap();
    assert!(
        store
            .take_lease("poller", "tick-c", 220, 280)
            .await
            .unwrap()
    );
}

pub async fn counts_and_the_summary_move_with_the_verdicts(store: &impl Store) {
    store.put_artifact(&watched("alpha")).await.unwrap();
    store.put_artifact(&watched("beta")).await.unwrap();
    let summary = store.summary().await.unwrap();
    assert_eq!(
        (summary.total, summary.pending, summary.compliant),
        (2, 2, 0),
        "an artifact with nothing judged is pending"
    );
    let ok = verdict(Compliance::Compliant, &["provenance_verified"]);
    let bad = verdict(Compliance::NonCompliant, &["no_provenance", "no_run"]);
    record_with(
        store,
        "npm/alpha",
        &record("1.0.0", ok.clone(), 100),
        None,
        100,
    )
    .await;
    let summary = store.summary().await.unwrap();
    assert_eq!((summary.compliant, summary.pending), (1, 1));
    record_with(
        store,
        "npm/alpha",
        &record("1.1.0", bad.clone(), 200),
        None,
        200,
    )
    .await;
    record_with(store, "npm/alpha", &record("1.1.0", bad, 210), None, 210).await;
    let alpha = store.artifact("npm/alpha").await.unwrap().unwrap();
    assert_eq!(
        (
            alpha.versions.total,
            alpha.versions.compliant,
            alpha.versions.non_compliant
        ),
        (2, 1, 1)
    );
    assert_eq!(alpha.last_published, Some(190));
    let summary = store.summary().await.unwrap();
    assert_eq!(
        (
            summary.total,
            summary.compliant,
            summary.non_compliant,
            summary.pending
        ),
        (2, 0, 1, 1)
    );
    // A flip back to compliant moves the counts, and the artifact's status with them.
    record_with(store, "npm/alpha", &record("1.1.0", ok, 300), None, 300).await;
    let summary = store.summary().await.unwrap();
    assert_eq!((summary.compliant, summary.non_compliant), (1, 0));
    // A new definition keeps what the store counted.
    let mut changed = watched("alpha");
    changed.artifact.policy.allowed_events = Some(vec!["release".to_owned()]);
    changed.policy_rev = 2;
    store.put_artifact(&changed).await.unwrap();
    let alpha = store.artifact("npm/alpha").await.unwrap().unwrap();
    assert_eq!(alpha.versions.compliant, 2);
    assert_eq!(alpha.policy_rev, 2);
    assert!(store.delete_artifact("npm/beta").await.unwrap());
    let summary = store.summary().await.unwrap();
    assert_eq!(
        (summary.total, summary.compliant, summary.pending),
        (1, 1, 0)
    );
}

pub async fn versions_are_paged_newest_first(store: &impl Store) {
    store.put_artifact(&watched("alpha")).await.unwrap();
    let ok = verdict(Compliance::Compliant, &["provenance_verified"]);
    for (version, published) in [
        ("1.0.0", Some(100)),
        ("0.9.0", Some(50)),
        ("2.0.0", Some(300)),
        ("1.5.0", Some(200)),
        ("0.0.1", None),
    ] {
        let mut r = record(version, ok.clone(), 400);
        r.published_at = published;
        record_with(store, "npm/alpha", &r, None, 400).await;
    }
    record_with(store, "npm/beta", &record("9.0.0", ok, 1), None, 1).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .versions_page("npm/alpha", cursor.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|r| r.version));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["2.0.0", "1.5.0", "1.0.0", "0.9.0", "0.0.1"]);
    let first = store.versions_page("npm/alpha", None, 2).await.unwrap();
    let next = first.next.unwrap();
    assert!(
        store
            .versions_page("npm/beta", Some(&next), 2)
            .await
            .is_err(),
        "a cursor is only good for its own list"
    );
}

pub async fn versions_are_listed_per_artifact(store: &impl Store) {
    let ok = verdict(Compliance::Compliant, &["provenance_verified"]);
    for (key, version) in [("npm/a", "1.0.0"), ("npm/ab", "9.9.9"), ("npm/a", "0.1.0")] {
        record_with(store, key, &record(version, ok.clone(), 1), None, 1).await;
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
    record_with(store, "npm/alpha", &again, Some(&first), 5).await;
    assert_eq!(store.outbox(10).await.unwrap().len(), 1);
    // Marking an unknown id is harmless.
    store.mark_delivered("npm/none@0#x").await.unwrap();
}

pub async fn feed_state_round_trips(store: &impl Store) {
    assert_eq!(store.feed_state().await.unwrap(), FeedState::default());
    let mut state = FeedState {
        rev: 0,
        sweep_cursor: Some("npm/alpha".to_owned()),
        sweep_started_at: Some(3),
        ..FeedState::default()
    };
    // One position per registry type's feed, in the same record.
    for (registry, since) in [
        (RegistryType::Npm, "42"),
        (RegistryType::Pypi, "1796637600"),
    ] {
        state.set_position(
            registry,
            FeedPosition {
                since: Some(since.to_owned()),
                feed_read_at: Some(7),
            },
        );
    }
    store.put_feed_state(&state).await.unwrap();
    let stored = store.feed_state().await.unwrap();
    assert_eq!(
        FeedState {
            rev: 1,
            ..state.clone()
        },
        stored
    );
    // A writer that read the older revision loses.
    assert!(matches!(
        store.put_feed_state(&state).await,
        Err(StoreError::Conflict(_))
    ));
    // Artifact and outbox operations leave it alone.
    store.put_artifact(&watched("alpha")).await.unwrap();
    store.delete_artifact("npm/alpha").await.unwrap();
    assert_eq!(store.feed_state().await.unwrap(), stored);
}

/// Runs every check, each on a fresh store from `fresh`.
pub async fn run_all<S: Store, F: std::future::Future<Output = S>>(fresh: impl Fn() -> F) {
    artifacts_are_kept_listed_replaced_and_deleted(&fresh().await).await;
    poll_state_is_written_against_the_revision_read(&fresh().await).await;
    recording_is_idempotent_and_alerts_once(&fresh().await).await;
    a_changed_decision_keeps_history(&fresh().await).await;
    a_verdict_settles_or_reschedules_its_due_judgement(&fresh().await).await;
    due_work_comes_by_priority_then_time(&fresh().await).await;
    the_last_backfill_verdict_makes_the_summary_due_once(&fresh().await).await;
    versions_are_listed_per_artifact(&fresh().await).await;
    a_lease_is_held_by_one_owner_until_it_expires(&fresh().await).await;
    counts_and_the_summary_move_with_the_verdicts(&fresh().await).await;
    versions_are_paged_newest_first(&fresh().await).await;
    the_outbox_delivers_in_order_and_never_twice(&fresh().await).await;
    feed_state_round_trips(&fresh().await).await;
}
