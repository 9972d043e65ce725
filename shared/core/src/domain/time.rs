//! Times as registries and GitHub write them (RFC 3339) and as the store keeps them
//! (seconds since the Unix epoch).

/// Reads an RFC 3339 time into seconds since the epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// Writes seconds since the epoch as RFC 3339 (`2026-11-28T06:00:00Z`).
pub fn format_time(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
