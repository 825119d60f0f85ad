//! Settings from the environment. A bad value stops start-up with a message naming the variable.
use secrecy::SecretString;
use std::{net::SocketAddr, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: Option<SocketAddr>,
    pub database_url: SecretString,
    pub db_max_connections: u32,
    pub log_format: LogFormat,
    pub session_idle_minutes: i64,
    pub secure_cookie: bool,
    pub signin_max_failures: i32,
    pub signin_window_secs: i64,
    pub signin_lockout_secs: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

/// Where settings come from; the process environment in production, a map in tests.
pub trait Source {
    fn get(&self, key: &str) -> Option<String>;
}

pub struct Env;

impl Source for Env {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<const N: usize> Source for [(&str, &str); N] {
    fn get(&self, key: &str) -> Option<String> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned())
    }
}

fn parse<T: FromStr>(src: &impl Source, var: &'static str, default: T, what: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match src.get(var) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| ConfigError { var, message: format!("expected {what}, got {raw:?} ({e})") }),
    }
}

fn ranged<T: PartialOrd + std::fmt::Display + Copy>(var: &'static str, value: T, min: T, max: T) -> Result<T, ConfigError> {
    if value < min || value > max {
        return Err(ConfigError { var, message: format!("must be between {min} and {max}, got {value}") });
    }
    Ok(value)
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let database_url = src.get("DATABASE_URL").ok_or(ConfigError {
            var: "DATABASE_URL",
            message: "is not set; use postgres://user@host:port/database (scripts/run.sh sets it for the embedded database)".into(),
        })?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(ConfigError { var: "DATABASE_URL", message: "must start with postgres:// or postgresql://".into() });
        }
        let addr = match src.get("SMARTCRM_ADDR") {
            None => None,
            Some(raw) => Some(raw.trim().parse().map_err(|e| ConfigError {
                var: "SMARTCRM_ADDR",
                message: format!("expected an address like 127.0.0.1:3000, got {raw:?} ({e})"),
            })?),
        };
        let log_format = match src.get("SMARTCRM_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError { var: "SMARTCRM_LOG_FORMAT", message: format!("expected pretty or json, got {other:?}") })
            }
        };
        Ok(Settings {
            addr,
            database_url: SecretString::from(database_url),
            db_max_connections: ranged(
                "SMARTCRM_DB_MAX_CONNECTIONS",
                parse(src, "SMARTCRM_DB_MAX_CONNECTIONS", 20, "a whole number")?,
                1,
                1000,
            )?,
            log_format,
            session_idle_minutes: ranged(
                "SMARTCRM_SESSION_IDLE_MINUTES",
                parse(src, "SMARTCRM_SESSION_IDLE_MINUTES", 480, "a whole number of minutes")?,
                1,
                60 * 24 * 30,
            )?,
            secure_cookie: parse(src, "SMARTCRM_SECURE_COOKIE", false, "true or false")?,
            signin_max_failures: ranged(
                "SMARTCRM_SIGNIN_MAX_FAILURES",
                parse(src, "SMARTCRM_SIGNIN_MAX_FAILURES", 5, "a whole number")?,
                1,
                1000,
            )?,
            signin_window_secs: ranged(
                "SMARTCRM_SIGNIN_WINDOW_SECS",
                parse(src, "SMARTCRM_SIGNIN_WINDOW_SECS", 900, "a whole number of seconds")?,
                1,
                86_400,
            )?,
            signin_lockout_secs: ranged(
                "SMARTCRM_SIGNIN_LOCKOUT_SECS",
                parse(src, "SMARTCRM_SIGNIN_LOCKOUT_SECS", 300, "a whole number of seconds")?,
                1,
                86_400,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const URL: (&str, &str) = ("DATABASE_URL", "postgres://u@127.0.0.1:5432/db");

    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let s = Settings::from_source(&[URL]).expect("valid");
        assert_eq!(s.database_url.expose_secret(), URL.1);
        assert_eq!(s.session_idle_minutes, 480);
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert!(!s.secure_cookie);
        assert_eq!(s.addr, None);
    }

    #[test]
    fn a_missing_database_url_names_the_variable() {
        let err = Settings::from_source(&[("SMARTCRM_LOG_FORMAT", "json")]).expect_err("must fail");
        assert_eq!(err.var, "DATABASE_URL");
    }

    #[test]
    fn a_bad_address_names_the_variable_and_the_value() {
        let err = Settings::from_source(&[URL, ("SMARTCRM_ADDR", "localhost")]).expect_err("must fail");
        assert_eq!(err.var, "SMARTCRM_ADDR");
        assert!(err.to_string().contains("\"localhost\""), "{err}");
    }

    #[test]
    fn a_non_numeric_idle_timeout_is_refused() {
        let err = Settings::from_source(&[URL, ("SMARTCRM_SESSION_IDLE_MINUTES", "soon")]).expect_err("must fail");
        assert_eq!(err.var, "SMARTCRM_SESSION_IDLE_MINUTES");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let err = Settings::from_source(&[URL, ("SMARTCRM_DB_MAX_CONNECTIONS", "0")]).expect_err("must fail");
        assert_eq!(err.var, "SMARTCRM_DB_MAX_CONNECTIONS");
    }

    #[test]
    fn unknown_log_format_is_refused() {
        let err = Settings::from_source(&[URL, ("SMARTCRM_LOG_FORMAT", "xml")]).expect_err("must fail");
        assert_eq!(err.var, "SMARTCRM_LOG_FORMAT");
    }

    #[test]
    fn a_non_postgres_url_is_refused() {
        let err = Settings::from_source(&[("DATABASE_URL", "mysql://x")]).expect_err("must fail");
        assert_eq!(err.var, "DATABASE_URL");
    }
}
