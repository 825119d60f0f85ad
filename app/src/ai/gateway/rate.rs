//! The per-workspace request rate (`ai_workspace_settings.requests_per_minute`): a GCRA bucket
//! per workspace (governor), rebuilt when the workspace changes its rate. A request past the
//! rate waits for its turn up to `RATE_WAIT`; one that would wait longer is refused with the
//! wait, which the server function answers as 429 "Rate limited: try again in N s".
use super::*;
use governor::{clock::Clock, DefaultDirectRateLimiter, Quota};
use std::num::NonZeroU32;

/// How long a request may queue for its turn.
pub const RATE_WAIT: Duration = Duration::from_secs(3);

/// Workspaces kept at most; past it the map starts again (a fresh bucket is a full one).
const MAX_WORKSPACES: usize = 10_000;

pub(super) type Buckets = std::sync::Mutex<HashMap<Uuid, (u32, Arc<DefaultDirectRateLimiter>)>>;

impl Gateway {
    fn bucket(&self, tenant: Uuid, per_minute: u32) -> Arc<DefaultDirectRateLimiter> {
        let per_minute = per_minute.max(1);
        let fresh = || {
            let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
            Arc::new(DefaultDirectRateLimiter::direct(Quota::per_minute(n)))
        };
        let Ok(mut map) = self.rates.lock() else {
            return fresh();
        };
        if map.len() > MAX_WORKSPACES {
            map.clear();
        }
        match map.get(&tenant) {
            Some((rate, bucket)) if *rate == per_minute => bucket.clone(),
            _ => {
                let bucket = fresh();
                map.insert(tenant, (per_minute, bucket.clone()));
                bucket
            }
        }
    }

    /// Takes one request from the workspace's allowance, waiting up to `RATE_WAIT` for it;
    /// `Err(seconds)` when it would have to wait longer.
    pub async fn admit(&self, tenant: Uuid, per_minute: u32) -> Result<(), u64> {
        let bucket = self.bucket(tenant, per_minute);
        let deadline = Instant::now() + RATE_WAIT;
        loop {
            let Err(not_until) = bucket.check() else {
                return Ok(());
            };
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            if Instant::now() + wait > deadline {
                return Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
            }
            tokio::time::sleep(wait).await;
        }
    }
}
