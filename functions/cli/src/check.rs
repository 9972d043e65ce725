//! `artifact-monitor check`: judge every existing version of one artifact (an npm package,
//! or with `--type pypi` a PyPI project, each release file by file) once and print a table
//! (or, with `--json`, one object). Exit 0 when every version is compliant, 1 when any
//! is not (non-compliant or pending) or the package has no version at all, 2 on a usage
//! error, a package the registry does not have, or one that could not be read.

use crate::policy_args::PolicyArgs;
use crate::remote_args::{RemoteArgs, Remotes};
use artifact_monitor_core::SystemClock;
use artifact_monitor_core::domain::format_time as rfc3339;
use artifact_monitor_core::domain::{
    Artifact, Compliance, Confidence, FileVerdict, JudgedVersion, Reason, printable,
};
use artifact_monitor_core::monitor::{Monitor, PollOutcome, PollReport};
use artifact_monitor_core::registry::RegistryType;
use artifact_monitor_core::store::MemoryStore;
use artifact_monitor_verify::ProvenanceVerifier;
use clap::Args;
use serde::Serialize;
use std::io::IsTerminal as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The artifact: an npm package (sigstore, @scope/name) or a PyPI project.
    name: String,
    /// Its registry type: npm or pypi.
    #[arg(long = "type", id = "type", value_name = "TYPE", default_value = "npm")]
    registry_type: String,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    remote: RemoteArgs,
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("artifact-monitor check: {message}");
    ExitCode::from(2)
}

pub fn run(args: &CheckArgs) -> ExitCode {
    let Some(spec) = args.policy.spec() else {
        return usage("--repository and --workflow are required");
    };
    let Some(registry) = RegistryType::parse_known(&args.registry_type) else {
        let known: Vec<&str> = RegistryType::KNOWN.iter().map(|t| t.as_str()).collect();
        return usage(format!(
            "--type {:?} is not one of {}",
            printable(&args.registry_type),
            known.join(", ")
        ));
    };
    let artifact = match Artifact::new(registry, &args.name, spec) {
        Ok(artifact) => artifact,
        Err(e) => return usage(e),
    };
    // `--registry` is the base URL of the artifact's own registry.
    let mut remote = args.remote.clone();
    let index = match registry {
        RegistryType::Npm => None,
        RegistryType::Pypi => remote.registry.take(),
    };
    let mut remotes = Remotes::defaults();
    if let Err(e) = remotes.apply(&remote) {
        return usage(e);
    }
    if let Some(index) = index {
        remotes.index = index;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return usage(format!("cannot start: {e}")),
    };
    runtime.block_on(check(args, artifact, remotes))
}

async fn check(args: &CheckArgs, artifact: Artifact, remotes: Remotes) -> ExitCode {
    let (registry, runs) = match (remotes.registries(), remotes.github()) {
        (Ok(registry), Ok(runs)) => (registry, runs),
        (Err(e), _) | (_, Err(e)) => return usage(e),
    };
    let verifier = match ProvenanceVerifier::embedded() {
        Ok(verifier) => Arc::new(verifier),
        Err(e) => return usage(format!("cannot load trust material: {e}")),
    };
    let store = MemoryStore::new();
    let monitor = Monitor::new(registry, runs, store.clone(), SystemClock, verifier);
    let spinner = (!args.json && std::io::stderr().is_terminal()).then(|| spinner(&args.name));
    let result = monitor.judge_all_now(&artifact).await;
    if let Some(spinner) = spinner {
        spinner.abort();
        eprint!("\r\x1b[2K");
    }
    let report = match result {
        Ok(report) => report,
        Err(e) => return usage(format!("could not check {}: {e}", artifact.name)),
    };
    // A typo must not pass a CI gate: a package the registry does not have is an error.
    if report.outcome == PollOutcome::Missing {
        return usage(format!(
            "the registry has no package named {} (404)",
            artifact.name
        ));
    }
    // Every version of the package was judged in this poll (the store started empty).
    let mut versions: Vec<&JudgedVersion> = report.judged.iter().collect();
    versions.sort_by(|a, b| {
        (a.published_at.unwrap_or(i64::MAX), &a.version)
            .cmp(&(b.published_at.unwrap_or(i64::MAX), &b.version))
    });
    if args.json {
        print_json(&artifact, &versions, &report);
    } else {
        print_table(&artifact, &versions, &report);
    }
    if versions.is_empty() && report.failed.is_empty() {
        // Nothing vouches for a package without versions: not compliant (exit 1).
        eprintln!(
            "artifact-monitor check: {} has no versions (all unpublished, or none yet)",
            artifact.name
        );
        return ExitCode::from(1);
    }
    let all_compliant = report.failed.is_empty()
        && versions
            .iter()
            .all(|v| v.compliance == Compliance::Compliant);
    // The process ends here: freeing hundreds of thousands of records one by one would
    // only delay the exit (a large package's records take longer to free than to print).
    drop(versions);
    std::mem::forget(report);
    std::mem::forget(monitor);
    std::mem::forget(store);
    if all_compliant {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A progress indicator on the terminal while versions are judged.
fn spinner(name: &str) -> tokio::task::JoinHandle<()> {
    let name = name.to_owned();
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let frames = ['|', '/', '-', '\\'];
        for i in 0usize.. {
            eprint!(
                "\r{} checking {name} ({} s)",
                frames[i % frames.len()],
                started.elapsed().as_secs()
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
}

/// One version as `--json` prints it (the README's `check --json` object).
#[derive(Serialize)]
struct Row<'a> {
    version: &'a str,
    published_at: Option<String>,
    compliance: Compliance,
    confidence: Confidence,
    reasons: &'a [Reason],
    logs_url: Option<&'a str>,
    /// What failed, for a version that is pending or could not be judged (bounded,
    /// printable).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// For a version that is a set of files (a PyPI release): each file's verdict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<FileRow<'a>>,
}

/// One file of a release as `--json` prints it.
#[derive(Serialize)]
struct FileRow<'a> {
    filename: &'a str,
    sha256: Option<String>,
    uploaded_at: Option<String>,
    compliance: Compliance,
    reasons: &'a [Reason],
}

impl<'a> FileRow<'a> {
    fn of(file: &'a FileVerdict) -> Self {
        Self {
            filename: &file.name,
            sha256: file
                .integrity
                .as_deref()
                .and_then(artifact_monitor_core::registry::pypi::sha256_hex),
            uploaded_at: file.uploaded_at.map(rfc3339),
            compliance: file.compliance,
            reasons: &file.reasons,
        }
    }
}

/// The cause of a failed judgement as a row shows it: printable and at most 200 characters.
fn cause(error: &str) -> String {
    let text = printable(error);
    let mut cut: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        cut.push('…');
    }
    cut
}

#[derive(Serialize)]
struct ArtifactRow<'a> {
    #[serde(rename = "type")]
    registry: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct Output<'a> {
    artifact: ArtifactRow<'a>,
    versions: Vec<Row<'a>>,
}

fn print_json(artifact: &Artifact, versions: &[&JudgedVersion], report: &PollReport) {
    let mut rows: Vec<Row<'_>> = versions
        .iter()
        .map(|v| Row {
            version: &v.version,
            published_at: v.published_at.map(rfc3339),
            compliance: v.compliance,
            confidence: v.confidence,
            reasons: &v.reasons,
            logs_url: v.logs_url.as_deref(),
            error: v.pending_because.as_deref().map(cause),
            files: v.files.iter().map(FileRow::of).collect(),
        })
        .collect();
    // Versions the registry could not serve in full stay undecided.
    rows.extend(report.failed.iter().map(|(version, error)| Row {
        version,
        published_at: None,
        compliance: Compliance::Pending,
        confidence: Confidence::Low,
        reasons: &[Reason::RegistryUnavailable],
        logs_url: None,
        error: Some(cause(error)),
        files: Vec::new(),
    }));
    let output = Output {
        artifact: ArtifactRow {
            registry: artifact.registry.as_str(),
            name: &artifact.name,
        },
        versions: rows,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if serde_json::to_writer(&mut out, &output).is_ok() {
        let _ = writeln!(out);
    }
    let _ = out.flush();
}

/// The table's last line: how many versions are compliant, non-compliant and pending, and
/// why the pending ones are (a version the registry did not serve counts as pending).
fn closing_line(name: &str, versions: &[&JudgedVersion], failed: usize) -> String {
    let count = |c: Compliance| versions.iter().filter(|v| v.compliance == c).count();
    let pending = count(Compliance::Pending) + failed;
    let mut line = format!(
        "{name}: {} version(s): {} compliant, {} non-compliant, {pending} pending",
        versions.len() + failed,
        count(Compliance::Compliant),
        count(Compliance::NonCompliant),
    );
    if pending > 0 {
        let mut why: std::collections::BTreeMap<&str, usize> = Default::default();
        for v in versions
            .iter()
            .filter(|v| v.compliance == Compliance::Pending)
        {
            let cause = v
                .reasons
                .iter()
                .find(|r| matches!(r, Reason::GithubUnavailable | Reason::RegistryUnavailable))
                .map_or("undecided", |r| r.as_str());
            *why.entry(cause).or_default() += 1;
        }
        if failed > 0 {
            *why.entry(Reason::RegistryUnavailable.as_str()).or_default() += failed;
        }
        let causes: Vec<String> = why.iter().map(|(c, n)| format!("{n} {c}")).collect();
        line.push_str(&format!(
            " ({}: not decided yet, judged again when the service answers)",
            causes.join(", ")
        ));
    }
    line
}

fn print_table(artifact: &Artifact, versions: &[&JudgedVersion], report: &PollReport) {
    let mut rows: Vec<[String; 6]> = vec![[
        "VERSION".into(),
        "RELEASED".into(),
        "COMPLIANCE".into(),
        "CONFIDENCE".into(),
        "REASONS".into(),
        "LOGS".into(),
    ]];
    for v in versions {
        // Registry-controlled strings are escaped: no forged rows, no terminal escapes.
        rows.push([
            printable(&v.version).into_owned(),
            v.published_at.map(rfc3339).unwrap_or_else(|| "-".into()),
            v.compliance.as_str().into(),
            v.confidence.as_str().into(),
            match &v.pending_because {
                Some(why) => format!("{} ({})", Reason::join(&v.reasons, ","), cause(why)),
                None => Reason::join(&v.reasons, ","),
            },
            v.logs_url
                .as_deref()
                .map_or_else(|| "-".into(), |u| printable(u).into_owned()),
        ]);
        // A release's files, each under it with its own verdict.
        for file in &v.files {
            rows.push([
                format!("  {}", printable(&file.name)),
                file.uploaded_at.map(rfc3339).unwrap_or_else(|| "-".into()),
                file.compliance.as_str().into(),
                String::new(),
                Reason::join(&file.reasons, ","),
                String::new(),
            ]);
        }
    }
    for (version, error) in &report.failed {
        rows.push([
            printable(version).into_owned(),
            "-".into(),
            "pending".into(),
            "low".into(),
            format!("registry_unavailable ({})", cause(error)),
            "-".into(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    println!(
        "\n{}",
        closing_line(&artifact.name, versions, report.failed.len())
    );
    for (version, error) in &report.failed {
        eprintln!(
            "{}: could not be judged: {}",
            printable(version),
            printable(error)
        );
    }
}
