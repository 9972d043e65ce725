//! CloudWatch metrics in the embedded metric format (EMF): one JSON object on a log line of
//! its own, which CloudWatch Logs turns into metric values. In Lambda a function writes it
//! to standard output; no `cloudwatch:PutMetricData` call and no permission beyond its logs.
//!
//! Written by hand rather than with `metrics_cloudwatch_embedded`: that crate installs a
//! global recorder behind the `metrics` facade and flushes through its own Lambda layer,
//! for what is one value a tick here; a `serde_json` object of the format's fixed shape
//! is smaller and keeps the format in view.

use serde_json::{Map, Value, json};

/// CloudWatch's units this project reports in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Count,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "Seconds",
            Unit::Count => "Count",
        }
    }
}

/// Why a namespace is refused (CloudWatch's own rules).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamespaceError {
    #[error("a namespace has 1 to 255 characters")]
    Length,
    #[error("a namespace has letters, digits and . - _ / # : and spaces only")]
    Character,
    #[error("namespaces beginning with AWS/ are AWS's own")]
    Reserved,
}

/// Checks `namespace` as CloudWatch's PutMetricData would.
pub fn check_namespace(namespace: &str) -> Result<(), NamespaceError> {
    if namespace.is_empty() || namespace.len() > 255 {
        return Err(NamespaceError::Length);
    }
    if !namespace
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c))
    {
        return Err(NamespaceError::Character);
    }
    if namespace.starts_with("AWS/") {
        return Err(NamespaceError::Reserved);
    }
    Ok(())
}

/// One EMF record: `metrics` (name, unit, value) in `namespace` under one dimension set
/// made of `dimensions`, at `timestamp_ms` (milliseconds since the epoch). Names must not
/// clash between metrics and dimensions (they share the object's top level).
pub fn record(
    namespace: &str,
    dimensions: &[(&str, &str)],
    metrics: &[(&str, Unit, f64)],
    timestamp_ms: i64,
) -> String {
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>()],
                "Metrics": metrics
                    .iter()
                    .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.name()}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions {
        root.insert((*name).into(), json!(value));
    }
    for (name, _, value) in metrics {
        root.insert((*name).into(), json!(value));
    }
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_follows_the_specification() {
        let line = record(
            "ArtifactMonitor",
            &[("FunctionName", "stack-Poller-1")],
            &[("OldestUndeliveredAlertAge", Unit::Seconds, 42.0)],
            1_764_590_400_000,
        );
        assert!(!line.contains('\n'), "one line");
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            json!({
                "_aws": {
                    "Timestamp": 1_764_590_400_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "ArtifactMonitor",
                        "Dimensions": [["FunctionName"]],
                        "Metrics": [{"Name": "OldestUndeliveredAlertAge", "Unit": "Seconds"}],
                    }],
                },
                "FunctionName": "stack-Poller-1",
                "OldestUndeliveredAlertAge": 42.0,
            })
        );
    }

    #[test]
    fn namespaces_follow_cloudwatch() {
        assert_eq!(check_namespace("ArtifactMonitor/prod"), Ok(()));
        assert_eq!(check_namespace(""), Err(NamespaceError::Length));
        assert_eq!(
            check_namespace(&"a".repeat(256)),
            Err(NamespaceError::Length)
        );
        assert_eq!(check_namespace("a\"b"), Err(NamespaceError::Character));
        assert_eq!(check_namespace("AWS/Lambda"), Err(NamespaceError::Reserved));
    }
}
