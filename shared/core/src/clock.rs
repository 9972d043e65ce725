//! The system clock, the one [`crate::ports::Clock`] every entry point uses (tests use fixed
//! clocks). It reads the time and nothing else.

/// The system clock, in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl crate::ports::Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}
