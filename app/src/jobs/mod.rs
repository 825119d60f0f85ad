//! Scheduled jobs (issue 15). Every server and worker process runs a `scheduler`; each due run
//! of a job is taken by exactly one of them (a `FOR UPDATE SKIP LOCKED` claim that moves the
//! job's next run in the same statement), and every run is recorded: start, end, outcome, rows
//! affected, error. The jobs themselves are the features' and shared services' functions; the
//! server registers them by name. Admins see the Jobs page; those of the operator's workspace
//! may ask for a run now.
pub mod pages;
#[cfg(feature = "ssr")]
pub mod scheduler;
pub mod server_fns;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    pub id: i64,
    pub job: String,
    pub trigger: String,
    pub instance: String,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub outcome: String,
    pub rows_affected: Option<i64>,
    pub error: Option<String>,
}

impl JobRun {
    /// "1.2 s", or "running".
    pub fn took(&self) -> String {
        match self.finished_at {
            Some(end) => {
                let ms = (end - self.started_at).whole_milliseconds();
                if ms < 1000 {
                    format!("{ms} ms")
                } else {
                    format!("{:.1} s", ms as f64 / 1000.0)
                }
            }
            None => "running".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub name: String,
    pub description: String,
    pub every_seconds: i32,
    pub enabled: bool,
    pub next_run_at: OffsetDateTime,
    /// A run was asked for and no process has taken it yet.
    pub requested: bool,
    pub last: Option<JobRun>,
    pub failures_24h: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobsPage {
    pub jobs: Vec<Job>,
    /// The latest runs of every job, newest first.
    pub runs: Vec<JobRun>,
    /// Whether this admin may ask for a run (the operator's workspace).
    pub can_run: bool,
}

/// "every 15 s", "every 5 min", "every 2 h".
pub fn every_label(secs: i32) -> String {
    match secs {
        s if s % 3600 == 0 => format!("every {} h", s / 3600),
        s if s % 60 == 0 => format!("every {} min", s / 60),
        s => format!("every {s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_and_durations_read_naturally() {
        assert_eq!(every_label(15), "every 15 s");
        assert_eq!(every_label(300), "every 5 min");
        assert_eq!(every_label(7200), "every 2 h");
        let at = OffsetDateTime::UNIX_EPOCH;
        let mut run = JobRun {
            id: 1,
            job: "x".into(),
            trigger: "schedule".into(),
            instance: "h".into(),
            started_at: at,
            finished_at: None,
            outcome: "running".into(),
            rows_affected: None,
            error: None,
        };
        assert_eq!(run.took(), "running");
        run.finished_at = Some(at + time::Duration::milliseconds(1250));
        assert_eq!(run.took(), "1.2 s");
        run.finished_at = Some(at + time::Duration::milliseconds(40));
        assert_eq!(run.took(), "40 ms");
    }
}
