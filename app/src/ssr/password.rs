//! Argon2id password hashing, always off the async threads.
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use std::sync::LazyLock;

/// Verified when the email is unknown, so both answers take the same time.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("smartcrm-dummy-password").unwrap_or_default());

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
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
    async fn a_corrupt_hash_does_not_verify() {
        assert!(!verify("x".into(), Some("not a hash".into()))
            .await
            .expect("verify"));
    }
}
