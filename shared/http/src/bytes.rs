//! A process-wide budget of response bytes in flight: every HTTP client of the process
//! reserves the bytes of a body before reading it and gives them back when the body (handed
//! on as a [`Body`]) is dropped, so peak memory for bodies is bounded by one figure
//! whatever the services send and however many requests are under way.
//!
//! The budget is two pools, so that no reader ever waits while holding what another waiter
//! needs (the deadlock of growing reservations chunk by chunk from one pool):
//! - a *small* pool, from which a body of a known small length (at most [`INITIAL`]) is
//!   reserved whole, and from which a body of unknown length takes its first [`INITIAL`]
//!   bytes;
//! - a *large* pool, from which a body of a known large length is reserved whole, and from
//!   which a body of unknown length that outgrows its first bytes reserves its whole cap at
//!   once (then gives its small reservation back).
//!
//! Readers holding large reservations never wait for anything; readers holding a small one
//! wait only for the large pool; the large pool is at least as big as any one body's cap.
//! Every wait therefore ends when readers that wait for nothing finish. The semaphore is
//! tokio's (first come, first served), so a large reservation is not starved by small ones.
//!
//! Written here over `tokio::sync::Semaphore` rather than taken from a crate: a limiting
//! global allocator (such as `cap`) bounds every allocation and fails the one that crosses
//! the line instead of making a reader wait, and rate limiters (`governor`) count requests,
//! not bytes.

use artifact_monitor_core::ports::Body;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The first bytes a body of unknown length reserves (most API answers fit in it).
pub const INITIAL: u64 = 1024 * 1024;

/// Budgets are counted in KiB so that one reservation of up to 4 TiB fits a permit count.
const UNIT: u64 = 1024;

/// The default budget of bytes in flight: the figure peak memory for bodies stays under.
pub const DEFAULT_BYTES_IN_FLIGHT: u64 = 256 * 1024 * 1024;

/// The smallest budget accepted: one default-sized packument and the small pool.
pub const MIN_BYTES_IN_FLIGHT: u64 = 16 * 1024 * 1024;

/// The largest budget accepted.
pub const MAX_BYTES_IN_FLIGHT: u64 = 64 * 1024 * 1024 * 1024;

#[derive(Debug)]
pub struct ByteBudget {
    small: Arc<Semaphore>,
    large: Arc<Semaphore>,
    small_bytes: u64,
    large_bytes: u64,
}

/// Bytes held against a [`ByteBudget`]; given back on drop.
#[derive(Debug)]
pub struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
    bytes: u64,
    /// The body's length is not known: the reservation may need to grow once.
    growable: bool,
}

impl Reservation {
    /// Bytes this reservation covers.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// A reservation that counts nothing (no budget configured).
    pub fn unbounded() -> Self {
        Self {
            permit: None,
            bytes: u64::MAX,
            growable: false,
        }
    }

    /// Hands `bytes` on as a [`Body`] that keeps the reservation until it is dropped.
    pub fn into_body(self, bytes: Vec<u8>) -> Body {
        match self.permit {
            Some(permit) => Body::held(bytes, Box::new(permit)),
            None => Body::from(bytes),
        }
    }
}

fn units(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX)
}

impl ByteBudget {
    /// A budget of `total` bytes (clamped to the accepted range): an eighth of it, at most
    /// 32 MiB, is the small pool; the rest the large one.
    pub fn new(total: u64) -> Self {
        let total = total.clamp(MIN_BYTES_IN_FLIGHT, MAX_BYTES_IN_FLIGHT);
        let small_bytes = (total / 8).clamp(INITIAL, 32 * 1024 * 1024);
        let large_bytes = total - small_bytes;
        Self {
            small: Arc::new(Semaphore::new(units(small_bytes) as usize)),
            large: Arc::new(Semaphore::new(units(large_bytes) as usize)),
            small_bytes,
            large_bytes,
        }
    }

    /// The largest body one reservation can cover: a larger cap is lowered to it.
    pub fn largest_body(&self) -> u64 {
        self.large_bytes
    }

    /// The whole budget.
    pub fn total(&self) -> u64 {
        self.small_bytes + self.large_bytes
    }

    /// Bytes reserved now (for tests and reports).
    pub fn in_use(&self) -> u64 {
        let small_free = self.small.available_permits() as u64 * UNIT;
        let large_free = self.large.available_permits() as u64 * UNIT;
        (self.small_bytes.div_ceil(UNIT) * UNIT - small_free)
            + (self.large_bytes.div_ceil(UNIT) * UNIT - large_free)
    }

    /// Reserves the bytes of a body before it is read: the declared length when there is
    /// one (the HTTP stack refuses a body longer than it declared), else the first
    /// [`INITIAL`] bytes, to be grown with [`ByteBudget::grow`].
    pub async fn reserve(&self, declared: Option<u64>, cap: u64) -> Reservation {
        let cap = cap.min(self.large_bytes);
        match declared {
            Some(length) => {
                let length = length.min(cap);
                let pool = if length <= INITIAL {
                    &self.small
                } else {
                    &self.large
                };
                Reservation {
                    permit: acquire(pool, length).await,
                    bytes: length,
                    growable: false,
                }
            }
            None => {
                let first = INITIAL.min(cap);
                Reservation {
                    permit: acquire(&self.small, first).await,
                    bytes: first,
                    growable: first < cap,
                }
            }
        }
    }

    /// Grows a reservation of unknown length to the whole `cap` (once); `false` when it
    /// cannot grow (its length was declared, or it already covers the cap).
    pub async fn grow(&self, reservation: &mut Reservation, cap: u64) -> bool {
        let cap = cap.min(self.large_bytes);
        if !reservation.growable || reservation.bytes >= cap {
            return false;
        }
        let large = acquire(&self.large, cap).await;
        // The small reservation goes back only once the large one covers the body.
        reservation.permit = large;
        reservation.bytes = cap;
        reservation.growable = false;
        true
    }
}

async fn acquire(pool: &Arc<Semaphore>, bytes: u64) -> Option<OwnedSemaphorePermit> {
    if bytes == 0 {
        return None;
    }
    // The pools are never closed, so acquiring fails only if that changes; counting
    // nothing then is the safe degradation (the per-request caps still hold).
    pool.clone().acquire_many_owned(units(bytes)).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_known_length_is_reserved_whole_and_given_back_with_the_body() {
        let budget = ByteBudget::new(64 * 1024 * 1024);
        let reservation = budget.reserve(Some(10 * 1024 * 1024), u64::MAX).await;
        assert_eq!(budget.in_use(), 10 * 1024 * 1024);
        let body = reservation.into_body(vec![1; 10]);
        assert_eq!(budget.in_use(), 10 * 1024 * 1024);
        drop(body);
        assert_eq!(budget.in_use(), 0);
    }

    #[tokio::test]
    async fn an_unknown_length_grows_once_to_its_cap() {
        let budget = ByteBudget::new(64 * 1024 * 1024);
        let cap = 20 * 1024 * 1024;
        let mut reservation = budget.reserve(None, cap).await;
        assert_eq!(reservation.bytes(), INITIAL);
        assert!(budget.grow(&mut reservation, cap).await);
        assert_eq!(reservation.bytes(), cap);
        assert_eq!(budget.in_use(), cap, "the first bytes were given back");
        assert!(!budget.grow(&mut reservation, cap).await);
    }

    #[tokio::test]
    async fn a_cap_above_the_large_pool_is_lowered_to_it() {
        let budget = ByteBudget::new(32 * 1024 * 1024);
        let reservation = budget.reserve(Some(u64::MAX), u64::MAX).await;
        assert_eq!(reservation.bytes(), budget.largest_body());
        assert!(budget.in_use() <= budget.total());
    }

    #[tokio::test]
    async fn growing_readers_never_deadlock_with_small_ones() {
        // Every small slot taken by a reader of unknown length that then needs to grow:
        // they grow one after another as each finishes, never all stuck.
        let budget = Arc::new(ByteBudget::new(16 * 1024 * 1024));
        let cap = budget.largest_body();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let budget = budget.clone();
            tasks.push(tokio::spawn(async move {
                let mut reservation = budget.reserve(None, cap).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
                budget.grow(&mut reservation, cap).await;
                assert!(budget.in_use() <= budget.total());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }));
        }
        let all = futures_util::future::join_all(tasks);
        let done = tokio::time::timeout(Duration::from_secs(10), all).await;
        assert!(done.is_ok(), "readers deadlocked");
        assert_eq!(budget.in_use(), 0);
    }
}
