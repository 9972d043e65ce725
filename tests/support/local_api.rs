//! Talking to a running `serve`'s HTTP side from a test or a harness: where its start-up
//! line says it listens, and a GET over a plain TCP connection (no HTTP client needed).

#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};

/// The `host:port` a `serve` log line announces the dashboard at, if it is that line.
pub fn listening_address(line: &str) -> Option<String> {
    let rest = line.split("dashboard and API at http://").nth(1)?;
    Some(rest.split('/').next()?.to_owned())
}

/// GET `path` with an optional bearer token: the status and the body.
pub fn get(address: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let authorization = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {address}\r\n{authorization}connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}
