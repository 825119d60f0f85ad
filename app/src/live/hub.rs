//! The server's half of live updates: one `LISTEN smartcrm_live` connection per process, and
//! the `/events` stream of each signed-in browser, fed from it.
use super::{Change, Topic};
use crate::{auth::guard::member, error::AppError};
use axum::{
    extract::State,
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use serde::Deserialize;
use sqlx::PgPool;
use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::{broadcast, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower_sessions::Session;
use uuid::Uuid;

/// The channel the triggers notify (migration `live_updates`).
pub const CHANNEL: &str = "smartcrm_live";

/// How many announcements may wait for a slow stream before it is told to refetch everything.
const BACKLOG: usize = 1024;

/// A database announcement: `{"t": tenant, "k": kind, "ids": [...], "q": bool}`, or, from
/// the hub itself after its listener reconnected, "anything may have changed, everywhere".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Notice {
    #[serde(rename = "t")]
    pub tenant: Option<Uuid>,
    #[serde(rename = "k", default)]
    pub kind: String,
    #[serde(default)]
    pub ids: Vec<Uuid>,
    #[serde(rename = "q", default)]
    pub queue: bool,
}

impl Notice {
    /// Everything, in every workspace (what was missed while the listener was away).
    pub fn resync() -> Self {
        Self {
            tenant: None,
            kind: String::new(),
            ids: Vec::new(),
            queue: false,
        }
    }

    pub fn parse(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }

    fn concerns(&self, tenant: Uuid) -> bool {
        self.tenant.is_none_or(|t| t == tenant)
    }

    /// What the browser is told; `None` for a resync (or a kind this build does not know).
    pub fn change(&self) -> Option<Change> {
        let topics = match self.kind.as_str() {
            "tasks" if self.queue => vec![Topic::Tasks, Topic::Queue],
            "tasks" => vec![Topic::Tasks],
            "alerts" => vec![Topic::Alerts],
            "dashboard" => vec![Topic::Dashboard],
            _ => return None,
        };
        Some(Change {
            topics,
            ids: self.ids.clone(),
        })
    }
}

/// Bounds on the open streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Open streams in this process.
    pub per_process: usize,
    /// Open streams of one member (their tabs).
    pub per_member: usize,
    /// A stream ends after this (with a `bye` event; the browser reconnects at once), so a
    /// member removed or signed out elsewhere stops receiving within it.
    pub max_age: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            per_process: 5_000,
            per_member: 12,
            max_age: Duration::from_secs(600),
        }
    }
}

/// This process's announcements and the streams listening to them.
pub struct LiveHub {
    tx: broadcast::Sender<Arc<Notice>>,
    slots: Arc<Semaphore>,
    members: Arc<Mutex<HashMap<Uuid, usize>>>,
    limits: StreamLimits,
    stopping: CancellationToken,
}

impl LiveHub {
    pub fn new(limits: StreamLimits, stopping: CancellationToken) -> Arc<Self> {
        let (tx, _) = broadcast::channel(BACKLOG);
        Arc::new(Self {
            tx,
            slots: Arc::new(Semaphore::new(limits.per_process)),
            members: Arc::default(),
            limits,
            stopping,
        })
    }

    /// Passes a notice to every stream of its workspace (the listener's job; tests too).
    pub fn publish(&self, notice: Notice) {
        // No stream open: nobody to tell.
        let _ = self.tx.send(Arc::new(notice));
    }

    /// Open streams in this process.
    pub fn open_streams(&self) -> usize {
        self.limits.per_process - self.slots.available_permits()
    }

    /// Listens on [`CHANNEL`] on a connection of its own until the process stops. After a
    /// lost connection it reconnects and tells every stream to refetch (a notice may have
    /// come meanwhile).
    pub fn listen(self: &Arc<Self>, pool: &PgPool) {
        let this = Arc::downgrade(self);
        let stop = self.stopping.clone();
        let options = (*pool.connect_options()).clone();
        tokio::spawn(async move {
            let own = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect_lazy_with(options);
            let mut lost = false;
            loop {
                let listening = async {
                    let mut l = sqlx::postgres::PgListener::connect_with(&own).await?;
                    l.listen(CHANNEL).await?;
                    Ok::<_, sqlx::Error>(l)
                };
                let mut listener = tokio::select! {
                    _ = stop.cancelled() => break,
                    l = listening => match l {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot listen for live updates; retrying in 2 s");
                            tokio::select! {
                                _ = stop.cancelled() => break,
                                _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                            }
                        }
                    },
                };
                if std::mem::take(&mut lost) {
                    match this.upgrade() {
                        Some(hub) => hub.publish(Notice::resync()),
                        None => break,
                    }
                }
                loop {
                    let next = tokio::select! {
                        _ = stop.cancelled() => None,
                        n = listener.try_recv() => Some(n),
                    };
                    let Some(hub) = this.upgrade() else { break };
                    match next {
                        None => break,
                        Some(Ok(Some(n))) => match Notice::parse(n.payload()) {
                            Some(notice) => hub.publish(notice),
                            None => tracing::warn!(payload = n.payload(), "unreadable live notice"),
                        },
                        // The connection dropped; the next receive would reconnect, but
                        // without telling us, so reconnect here and resync.
                        Some(Ok(None)) | Some(Err(_)) => {
                            tracing::warn!("lost the live-updates listener; reconnecting");
                            lost = true;
                            break;
                        }
                    }
                }
                if !lost {
                    break;
                }
            }
            own.close().await;
        });
    }

    /// A place for one more stream of `member`, or why not.
    fn admit(&self, member: Uuid) -> Result<Admission, AppError> {
        let busy = AppError::Busy {
            retry_after_secs: 30,
        };
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy.clone())?;
        let mut members = self.members.lock().map_err(|_| busy)?;
        let open = members.entry(member).or_default();
        if *open >= self.limits.per_member {
            return Err(AppError::RateLimited {
                retry_after_secs: 30,
            });
        }
        *open += 1;
        Ok(Admission {
            _permit: permit,
            members: self.members.clone(),
            member,
        })
    }
}

/// A stream's place, given back when the stream ends.
struct Admission {
    _permit: OwnedSemaphorePermit,
    members: Arc<Mutex<HashMap<Uuid, usize>>>,
    member: Uuid,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Ok(mut members) = self.members.lock() {
            if let Some(n) = members.get_mut(&self.member) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    members.remove(&self.member);
                }
            }
        }
    }
}

/// `GET /events`: the signed-in member's stream of their workspace's changes.
///
/// Events: `ready` first; `change` with a [`Change`]; `resync` when the stream fell behind or
/// the server may have missed something (refetch everything); `bye` before the stream ends at
/// its maximum age (reconnect now). A comment every 15 s keeps proxies from closing it.
pub async fn events(
    State(hub): State<Arc<LiveHub>>,
    State(pool): State<PgPool>,
    session: Session,
) -> Response {
    let user = match member(&pool, &session).await {
        Ok((user, tx)) => {
            drop(tx);
            user
        }
        Err(err) => return crate::ssr::error_response(err),
    };
    let admission = match hub.admit(user.user_id) {
        Ok(a) => a,
        Err(err) => {
            tracing::info!(user_id = %user.user_id, "live stream refused: too many open");
            return crate::ssr::error_response(err);
        }
    };
    tracing::debug!(user_id = %user.user_id, tenant_id = %user.tenant_id, "live stream opened");
    let stream = Stream {
        rx: hub.tx.subscribe(),
        tenant: user.tenant_id,
        deadline: tokio::time::Instant::now() + hub.limits.max_age,
        stop: hub.stopping.clone(),
        step: Step::Ready,
        _admission: admission,
    };
    let events = futures::stream::unfold(stream, |mut s| async move {
        let event = s.next().await?;
        Some((Ok::<_, Infallible>(event), s))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

enum Step {
    Ready,
    Open,
    Done,
}

struct Stream {
    rx: broadcast::Receiver<Arc<Notice>>,
    tenant: Uuid,
    deadline: tokio::time::Instant,
    stop: CancellationToken,
    step: Step,
    _admission: Admission,
}

impl Stream {
    async fn next(&mut self) -> Option<Event> {
        match self.step {
            Step::Ready => {
                self.step = Step::Open;
                return Some(Event::default().event("ready").data("{}"));
            }
            Step::Done => return None,
            Step::Open => {}
        }
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return None,
                _ = tokio::time::sleep_until(self.deadline) => {
                    self.step = Step::Done;
                    return Some(Event::default().event("bye").data("{}"));
                }
                received = self.rx.recv() => match received {
                    Ok(n) if !n.concerns(self.tenant) => continue,
                    Ok(n) => match n.change() {
                        Some(change) => match Event::default().event("change").json_data(&change) {
                            Ok(e) => return Some(e),
                            Err(_) => continue,
                        },
                        None => return Some(Event::default().event("resync").data("{}")),
                    },
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some(Event::default().event("resync").data("{}"))
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_notice_becomes_the_change_a_browser_is_told() {
        let n = Notice::parse(
            r#"{"t":"00000000-0000-0000-0000-000000000001","k":"tasks","ids":["00000000-0000-0000-0000-000000000002"],"q":true}"#,
        )
        .expect("notice");
        let c = n.change().expect("change");
        assert_eq!(c.topics, vec![Topic::Tasks, Topic::Queue]);
        assert_eq!(c.ids, vec![Uuid::from_u128(2)]);
        assert!(n.concerns(Uuid::from_u128(1)));
        assert!(!n.concerns(Uuid::from_u128(3)));
        assert!(Notice::resync().concerns(Uuid::from_u128(3)));
        assert!(Notice::resync().change().is_none());
        assert!(Notice::parse("not json").is_none());
    }

    #[tokio::test]
    async fn a_member_may_hold_only_so_many_streams() {
        let hub = LiveHub::new(
            StreamLimits {
                per_process: 3,
                per_member: 2,
                max_age: Duration::from_secs(1),
            },
            CancellationToken::new(),
        );
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let first = hub.admit(a).expect("first");
        let _second = hub.admit(a).expect("second");
        assert!(hub.admit(a).is_err(), "a third tab of the same member");
        let _other = hub.admit(b).expect("another member");
        assert!(hub.admit(b).is_err(), "the process is full");
        assert_eq!(hub.open_streams(), 3);
        drop(first);
        assert!(hub.admit(b).is_ok(), "a closed stream gives its place back");
    }
}
