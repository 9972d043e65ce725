//! `PypiUpdates`: the [`Changes`] port over a package index's RSS of its newest releases
//! (`<base>/rss/updates.xml?limit=200`), read once a tick. The public index answers 40
//! items by default and up to 200 when asked (`limit`); an index that ignores the parameter
//! answers what it keeps.
//!
//! The RSS carries no sequence, only the newest releases index-wide (each item names the
//! project and version in its `link`, `/project/<name>/<version>/`, and its `title`,
//! `<name> <version>`, with a `pubDate`). The position kept between reads is therefore the
//! newest `pubDate` processed, as seconds since the epoch: a read returns the items
//! published at or after it, oldest first. Items of that very second are named again on the
//! next read (detection is idempotent, and a second's releases may arrive in two reads).
//! When the oldest item in the feed is newer than the position, releases may have dropped
//! out of the feed unseen: the page says so (`missed`) and the sweep finds them.
//!
//! The XML is hostile input: the body is capped, the item count is bounded, and the parser
//! expands no DTD or custom entity (only XML's five and character references).

use crate::http::{HttpClient, HttpConfig};
use artifact_monitor_core::domain::usable_sequence;
use artifact_monitor_core::ports::{Changes, ChangesPage, RemoteError};
use artifact_monitor_core::registry::RegistryType;
use quick_xml::events::Event;

/// Items asked for: the public index's largest page.
const ASK_ITEMS: usize = 200;
/// The feed's body at most: the public feed is some 10 KB for 40 items.
const MAX_FEED_BYTES: u64 = 4 * 1024 * 1024;
/// Items read at most from one body.
const MAX_ITEMS: usize = 10_000;
/// Characters kept of one item's field; a longer one is no name, version or date.
const MAX_FIELD_CHARS: usize = 4096;
/// An item dated further ahead than this is ignored: kept as the position, a date far in
/// the future would make every later release look older than it, and the feed go quiet.
const MAX_AHEAD_SECS: i64 = 3600;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The RSS of a package index's newest releases.
#[derive(Debug, Clone)]
pub struct PypiUpdates {
    url: String,
    http: HttpClient,
}

fn invalid(e: impl std::fmt::Display) -> RemoteError {
    RemoteError::Invalid("index feed", e.to_string())
}

impl PypiUpdates {
    /// The feed of the index at `base` (`https://pypi.org`).
    pub fn new(base: &str, config: HttpConfig) -> Result<Self, RemoteError> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(invalid(format!("index URL {base:?} must be http(s)")));
        }
        Ok(Self {
            url: format!("{base}/rss/updates.xml?limit={ASK_ITEMS}"),
            http: HttpClient::new("index feed", config)?,
        })
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.http.requests_sent()
    }

    async fn read(&self) -> Result<Vec<Update>, RemoteError> {
        let accept = [("accept", "application/rss+xml, application/xml;q=0.9")];
        let response = self.http.get(&self.url, &accept, MAX_FEED_BYTES).await?;
        if response.status != 200 {
            return Err(RemoteError::Status("index feed", response.status));
        }
        Ok(not_ahead(parse_updates(&response.body)?, unix_now()))
    }
}

/// One release the feed names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The project as the index spells it.
    pub project: String,
    /// Seconds since the epoch.
    pub published_at: i64,
}

impl Changes for PypiUpdates {
    fn registry(&self) -> RegistryType {
        RegistryType::Pypi
    }

    async fn current_seq(&self) -> Result<String, RemoteError> {
        let updates = self.read().await?;
        let newest = updates.iter().map(|u| u.published_at).max().unwrap_or(0);
        Ok(newest.max(0).to_string())
    }

    async fn changes_since(&self, since: &str, limit: usize) -> Result<ChangesPage, RemoteError> {
        let since = position(since)?;
        Ok(page_since(self.read().await?, since, limit))
    }
}

/// The stored position as seconds; anything else was not issued by this feed.
fn position(since: &str) -> Result<i64, RemoteError> {
    if !usable_sequence(since) {
        return Err(invalid(format!(
            "position {since:?} is not one the feed issued"
        )));
    }
    since
        .parse::<i64>()
        .ok()
        .filter(|s| *s >= 0)
        .ok_or_else(|| invalid(format!("position {since:?} is not a time in seconds")))
}

/// The items not dated more than [`MAX_AHEAD_SECS`] after `now`.
pub fn not_ahead(mut updates: Vec<Update>, now: i64) -> Vec<Update> {
    updates.retain(|u| u.published_at <= now.saturating_add(MAX_AHEAD_SECS));
    updates
}

/// The items published at or after `since`, oldest first, at most `limit` of them.
pub fn page_since(mut updates: Vec<Update>, since: i64, limit: usize) -> ChangesPage {
    updates.sort_by_key(|u| u.published_at);
    let missed = since > 0 && updates.first().is_some_and(|u| u.published_at > since);
    let taken: Vec<Update> = updates
        .into_iter()
        .filter(|u| u.published_at >= since)
        .take(limit.max(1))
        .collect();
    let last = taken.last().map_or(since, |u| u.published_at.max(since));
    ChangesPage {
        results: taken.len(),
        names: taken.into_iter().map(|u| u.project).collect(),
        last_seq: last.to_string(),
        missed,
    }
}

#[derive(Default)]
struct Item {
    title: String,
    link: String,
    pub_date: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Title,
    Link,
    PubDate,
}

/// The feed's items as hostile bytes: each item with a project name (from its link,
/// else its title) and a `pubDate` in RFC 2822 form. An item missing either is skipped;
/// a body that is not RSS is an error.
pub fn parse_updates(body: &[u8]) -> Result<Vec<Update>, RemoteError> {
    let text = std::str::from_utf8(body).map_err(|_| invalid("the feed is not UTF-8"))?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut updates = Vec::new();
    let mut saw_channel = false;
    let mut item: Option<Item> = None;
    let mut field: Option<Field> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| invalid(format!("the feed is not well-formed XML: {e}")))?;
        match event {
            Event::Start(start) => {
                field = None;
                match start.local_name().as_ref() {
                    "channel" => saw_channel = true,
                    "item" => item = Some(Item::default()),
                    "title" if item.is_some() => field = Some(Field::Title),
                    "link" if item.is_some() => field = Some(Field::Link),
                    "pubDate" if item.is_some() => field = Some(Field::PubDate),
                    _ => {}
                }
            }
            Event::End(end) => {
                field = None;
                if end.local_name().as_ref() == "item"
                    && let Some(done) = item.take()
                {
                    if updates.len() == MAX_ITEMS {
                        return Err(invalid(format!(
                            "the feed holds more than {MAX_ITEMS} items"
                        )));
                    }
                    updates.extend(update(&done));
                }
            }
            Event::Text(t) => push(&mut item, field, &t.xml10_content()),
            Event::CData(t) => push(&mut item, field, &t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r).map(str::to_owned),
                    Err(_) => None,
                };
                let Some(resolved) = resolved else {
                    return Err(invalid(format!(
                        "the feed refers to an entity it may not define (&{};)",
                        artifact_monitor_core::domain::printable(&r)
                    )));
                };
                push(&mut item, field, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_channel {
        return Err(invalid("the feed is not RSS (no channel)"));
    }
    Ok(updates)
}

fn push(item: &mut Option<Item>, field: Option<Field>, text: &str) {
    let (Some(item), Some(field)) = (item.as_mut(), field) else {
        return;
    };
    let target = match field {
        Field::Title => &mut item.title,
        Field::Link => &mut item.link,
        Field::PubDate => &mut item.pub_date,
    };
    if target.len() + text.len() <= MAX_FIELD_CHARS {
        target.push_str(text);
    }
}

/// The project a feed item names: the segment after `/project/` in its link, else the
/// title's first word.
fn project_of(item: &Item) -> Option<String> {
    let from_link = item
        .link
        .trim()
        .split('/')
        .skip_while(|s| *s != "project")
        .nth(1)
        .filter(|s| !s.is_empty());
    let name = from_link.or_else(|| item.title.split_whitespace().next())?;
    Some(name.to_owned())
}

fn update(item: &Item) -> Option<Update> {
    let project = project_of(item)?;
    let published_at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(item.pub_date.trim())
        .ok()?
        .as_second();
    Some(Update {
        project,
        published_at,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>PyPI recent updates</title>
    <link>https://pypi.org/</link>
    <description>Recent updates to the Python Package Index</description>
    <language>en</language>
    <item>
      <title>Sample_Project 4.0.1</title>
      <link>https://pypi.org/project/Sample_Project/4.0.1/</link>
      <description>A sample &amp; more</description>
      <author>someone@example.com</author>
      <pubDate>Mon, 07 Dec 2026 10:00:05 GMT</pubDate>
    </item>
    <item>
      <title>other 1.0</title>
      <link>https://pypi.org/project/other/1.0/</link>
      <description>None</description>
      <pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate>
    </item>
    <item>
      <title>no-date 1.0</title>
      <link>https://pypi.org/project/no-date/1.0/</link>
    </item>
  </channel>
</rss>"#;

    #[test]
    fn items_name_their_project_and_time() {
        let updates = parse_updates(FEED.as_bytes()).unwrap();
        assert_eq!(
            updates,
            [
                Update {
                    project: "Sample_Project".into(),
                    published_at: 1_796_637_605,
                },
                Update {
                    project: "other".into(),
                    published_at: 1_796_637_600,
                },
            ]
        );
    }

    #[test]
    fn a_page_holds_what_is_at_or_after_the_position_oldest_first() {
        let updates = parse_updates(FEED.as_bytes()).unwrap();
        let page = page_since(updates.clone(), 1_796_637_600, 100);
        assert_eq!(page.names, ["other", "Sample_Project"]);
        assert_eq!(page.last_seq, "1796637605");
        assert!(!page.missed);
        let page = page_since(updates.clone(), 1_796_637_605, 100);
        assert_eq!(page.names, ["Sample_Project"], "that second is read again");
        let page = page_since(updates.clone(), 1_796_637_700, 100);
        assert!(page.names.is_empty());
        assert_eq!(page.last_seq, "1796637700", "the position never goes back");
        let page = page_since(updates.clone(), 1_796_637_000, 1);
        assert_eq!(
            (page.names.len(), page.last_seq.as_str()),
            (1, "1796637600")
        );
        assert!(
            page.missed,
            "the feed's oldest item is newer than the position"
        );
    }

    #[test]
    fn an_item_dated_far_ahead_cannot_become_the_position() {
        let updates = parse_updates(FEED.as_bytes()).unwrap();
        let mut forged = updates.clone();
        forged.push(Update {
            project: "x".into(),
            published_at: 253_402_300_799,
        });
        let kept = not_ahead(forged, 1_796_637_700);
        assert_eq!(kept, updates);
    }

    #[test]
    fn hostile_feeds_are_refused_or_inert() {
        assert!(parse_updates(b"{\"not\": \"xml\"}").is_err());
        assert!(parse_updates(b"<rss><channel><item>").is_ok_and(|u| u.is_empty()));
        assert!(parse_updates(b"<html><body>maintenance</body></html>").is_err());
        let entity = r#"<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY big "xxxxxxxxxxxxxxxx">]>
<rss><channel><item><title>&big; 1</title><pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate></item></channel></rss>"#;
        let e = parse_updates(entity.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("&big;"), "{e}");
        let many = format!(
            "<rss><channel>{}</channel></rss>",
            "<item><title>a 1</title><pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate></item>"
                .repeat(MAX_ITEMS + 1)
        );
        assert!(parse_updates(many.as_bytes()).is_err());
        assert!(position("12-ab").is_err() && position("../x").is_err());
        assert_eq!(position("1796637600").unwrap(), 1_796_637_600);
    }
}
