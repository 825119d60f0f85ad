//! Per-user limits on analyses: how many a member may ask for in a minute, and how many of
//! those may force a new answer past the cache. Each is a GCRA bucket per user (governor): the
//! full allowance may be spent at once, and it refills evenly over the minute.
use crate::error::AppError;
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use uuid::Uuid;

/// Analyses and forced refreshes per user per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalysisQuota {
    pub per_minute: NonZeroU32,
    pub refreshes_per_minute: NonZeroU32,
}

impl Default for AnalysisQuota {
    /// A member working through contacts opens three analyses per contact: 60 a minute is
    /// twenty contacts; a forced refresh regenerates on purpose, so fewer of those.
    fn default() -> Self {
        Self {
            per_minute: NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN),
            refreshes_per_minute: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
        }
    }
}

pub struct UserLimits {
    analyses: DefaultKeyedRateLimiter<Uuid>,
    refreshes: DefaultKeyedRateLimiter<Uuid>,
}

impl UserLimits {
    pub fn new(quota: AnalysisQuota) -> Self {
        Self {
            analyses: DefaultKeyedRateLimiter::keyed(Quota::per_minute(quota.per_minute)),
            refreshes: DefaultKeyedRateLimiter::keyed(Quota::per_minute(
                quota.refreshes_per_minute,
            )),
        }
    }

    /// Counts one analysis (and, with `refresh`, one forced refresh) for `user`, or says how
    /// long to wait. A refresh refused by its own limit does not use up an analysis.
    pub fn admit(&self, user: Uuid, refresh: bool) -> Result<(), AppError> {
        if refresh {
            check(&self.refreshes, user)?;
        }
        check(&self.analyses, user)
    }

    /// Forgets users whose allowance is full again (called by the periodic clean-up).
    pub fn forget_idle(&self) {
        self.analyses.retain_recent();
        self.refreshes.retain_recent();
    }
}

fn check(limiter: &DefaultKeyedRateLimiter<Uuid>, user: Uuid) -> Result<(), AppError> {
    limiter.check_key(&user).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
        AppError::RateLimited {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_minute: u32, refreshes: u32) -> UserLimits {
        UserLimits::new(AnalysisQuota {
            per_minute: NonZeroU32::new(per_minute).expect("nonzero"),
            refreshes_per_minute: NonZeroU32::new(refreshes).expect("nonzero"),
        })
    }

    #[test]
    fn a_user_gets_the_allowance_then_a_wait_in_whole_seconds() {
        let l = limits(3, 1);
        let me = Uuid::from_u128(1);
        for _ in 0..3 {
            l.admit(me, false).expect("within the allowance");
        }
        let Err(AppError::RateLimited { retry_after_secs }) = l.admit(me, false) else {
            panic!("the fourth in a minute must wait");
        };
        assert!((1..=20).contains(&retry_after_secs), "{retry_after_secs}");
        // another user is not affected
        l.admit(Uuid::from_u128(2), false).expect("other user");
    }

    #[test]
    fn refreshes_have_their_own_smaller_limit() {
        let l = limits(10, 2);
        let me = Uuid::from_u128(1);
        l.admit(me, true).expect("first refresh");
        l.admit(me, true).expect("second refresh");
        let Err(AppError::RateLimited { retry_after_secs }) = l.admit(me, true) else {
            panic!("the third refresh must wait");
        };
        assert!(retry_after_secs >= 1);
        // plain analyses still go through: the refused refresh spent none of them
        for _ in 0..8 {
            l.admit(me, false).expect("analyses left");
        }
        assert!(l.admit(me, false).is_err(), "ten analyses in all");
    }
}
