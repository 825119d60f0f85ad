//! Argon2id password hashing, always off the async threads. Checks reuse their working memory
//! (`MEMORY`): a fresh 19 MiB per check was handed back to the allocator's per-thread arenas and
//! kept, so a flood of sign-ins left the server half a gigabyte larger for good.
use argon2::{
    password_hash::{rand_core::OsRng, Output, PasswordHash, PasswordHasher, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use std::{
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many password checks run at once, and how many more may wait for a turn. Each check
/// takes about 19 MiB and a core for tens of milliseconds; unbounded, a flood of sign-ins took
/// gigabytes and every core. Past the queue, or after waiting `WAIT`, the answer is "busy"
/// without hashing.
#[derive(Clone, Debug)]
pub struct Gate {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
}

/// A turn at hashing; the next one starts when it drops.
pub struct Turn {
    _running: OwnedSemaphorePermit,
    _admitted: OwnedSemaphorePermit,
}

impl Gate {
    const WAIT: Duration = Duration::from_secs(2);

    /// `concurrency` checks at once, and up to three times as many waiting.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            running: Arc::new(Semaphore::new(concurrency)),
            admitted: Arc::new(Semaphore::new(concurrency * 4)),
        }
    }

    /// A turn, or `None` when too many are already waiting or the wait runs out.
    pub async fn enter(&self) -> Option<Turn> {
        let admitted = self.admitted.clone().try_acquire_owned().ok()?;
        let running = tokio::time::timeout(Self::WAIT, self.running.clone().acquire_owned())
            .await
            .ok()?
            .ok()?;
        Some(Turn {
            _running: running,
            _admitted: admitted,
        })
    }
}

/// Verified when the email is unknown, so both answers take the same time.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("smartcrm-dummy-password").unwrap_or_default());

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Working memory of finished checks, ready for the next ones. The gate bounds how many run at
/// once; at most `KEPT` sets stay here between floods.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
const KEPT: usize = 8;

/// Runs `f` with `blocks` blocks of argon2 memory from the pool (or new), then returns them.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    let reused = MEMORY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .pop()
        .filter(|m| m.len() == blocks);
    let mut memory = reused.unwrap_or_else(|| vec![Block::new(); blocks]);
    let out = f(&mut memory);
    let mut kept = MEMORY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if kept.len() < KEPT {
        kept.push(memory);
    }
    out
}

/// Whether `password` matches the PHC string `hash` (algorithm, version and parameters read
/// from it), compared in constant time.
fn verify_blocking(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let hashed = with_memory(params.block_count(), |memory| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
    });
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

pub async fn hash(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await?
        .map_err(PasswordError::Hash)
}

/// Checks `password` against `hash`, or against a dummy hash when there is no account.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, PasswordError> {
    let known = hash.is_some();
    let ok = tokio::task::spawn_blocking(move || {
        let target = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        verify_blocking(&password, &target)
    })
    .await?;
    Ok(known && ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hashed = hash("correct horse".into()).await.expect("hash");
        assert!(hashed.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), Some(hashed.clone()))
            .await
            .expect("verify"));
        assert!(!verify("wrong horse".into(), Some(hashed))
            .await
            .expect("verify"));
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies_even_with_the_dummy_password() {
        assert!(!verify("smartcrm-dummy-password".into(), None)
            .await
            .expect("verify"));
    }

    #[tokio::test]
    async fn a_full_gate_answers_none_without_waiting_forever() {
        let gate = Gate::new(1);
        let held = gate.enter().await;
        assert!(held.is_some());
        // 1 running + 3 waiting admitted: fill the queue, then one more is refused at once
        let g = gate.clone();
        let waiters = tokio::spawn(async move {
            futures::future::join_all((0..3).map(|_| async { g.enter().await.is_some() })).await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        assert!(gate.enter().await.is_none(), "the queue is full");
        assert!(started.elapsed() < Duration::from_millis(500));
        drop(held);
        let turns = waiters.await.expect("join");
        assert_eq!(turns, [true, true, true], "the waiters got turns in order");
    }

    #[tokio::test]
    async fn checks_reuse_their_memory_and_keep_only_a_few_sets() {
        let hashed = hash("correct horse".into()).await.expect("hash");
        for _ in 0..3 {
            assert!(verify_blocking("correct horse", &hashed));
            assert!(!verify_blocking("correct hors", &hashed));
        }
        let kept = MEMORY.lock().map(|m| m.len()).unwrap_or_default();
        assert!((1..=KEPT).contains(&kept), "{kept} sets kept");
    }

    #[tokio::test]
    async fn a_corrupt_hash_does_not_verify() {
        assert!(!verify("x".into(), Some("not a hash".into()))
            .await
            .expect("verify"));
    }
}
