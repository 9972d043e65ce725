//! When `serve` is asked to stop: Ctrl-C, or SIGTERM on Unix (what a service manager or
//! `docker stop` sends).

/// Resolves when the process is asked to stop (Ctrl-C, or SIGTERM on Unix).
pub async fn requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
