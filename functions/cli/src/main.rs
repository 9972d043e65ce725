//! `artifact-monitor`: the monitor's engine on the command line, with embedded adapters.
//!
//! This file only parses arguments and dispatches; each subcommand lives in its own module
//! and turns library results into exit codes and output.

mod api_token;
mod check;
mod config;
mod input;
mod logging;
mod policy_args;
mod remote_args;
mod serve;
mod serve_settings;
mod shutdown;
mod verify;
mod verify_bundle;

use clap::{Parser, Subcommand};

/// mimalloc rather than the system allocator: judging a package allocates and frees many
/// small records, and glibc's allocator spent a third of a large `check` on that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// Catches unauthorised npm releases: proves, or fails to prove, that a version came out
/// of its owner's authorised GitHub Actions workflow.
#[derive(Debug, Parser)]
#[command(name = "artifact-monitor", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Watch the artifacts of a config file: poll, judge new versions, store, alert.
    Serve(serve_settings::ServeArgs),
    /// Judge every existing version of one npm package once and print a table.
    Check(check::CheckArgs),
    /// Verify one Sigstore bundle or one npm attestations response, offline.
    Verify(verify::VerifyArgs),
    /// Verify a Sigstore bundle for a named signer (the Sigstore conformance suite's protocol).
    VerifyBundle(verify_bundle::VerifyBundleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::VerifyBundle(args) => verify_bundle::run(&args),
    }
}
