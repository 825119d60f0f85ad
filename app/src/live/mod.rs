//! Live updates (issue 15): the pipeline board, a task's page, the escalation queue, the
//! dashboard and the alerts badge change without a reload.
//!
//! A change in the database (a task moves, an alert opens, the dashboard's figures are
//! rebuilt) is announced by a trigger on the `smartcrm_live` channel at commit. Every instance
//! listens ([`hub`]), and passes the announcements of a workspace to that workspace's browsers
//! as server-sent events on `/events`. An announcement says *what* changed, never the data:
//! the page fetches that through its own server function, with its own checks.
//!
//! In the browser ([`client`]) one `EventSource` per tab feeds a [`Batch`] of changes, at
//! most every [`THROTTLE`], to the pages that watch it ([`on_change`]). A dropped connection
//! is retried with backoff while the header says "Reconnecting…"; once back, every page
//! refetches (it may have missed something).
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

#[cfg(feature = "hydrate")]
mod client;
#[cfg(feature = "ssr")]
pub mod hub;

/// The route of the event stream.
pub const EVENTS_PATH: &str = "/events";
/// The least time between two deliveries of changes to the pages (a burst of 200 task moves
/// is one refetch, not 200).
pub const THROTTLE_MS: u32 = 300;

/// What a page may watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Any task created, moved or deleted.
    Tasks,
    /// A task entering or leaving the escalation queue.
    Queue,
    /// An alert opened, acknowledged or resolved.
    Alerts,
    /// The dashboard's figures rebuilt.
    Dashboard,
}

/// One announcement, as a browser receives it (the `data` of a `change` event).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub topics: Vec<Topic>,
    /// The tasks or alerts concerned; empty when there were many.
    pub ids: Vec<Uuid>,
}

/// The changes a page is told about at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// Counts deliveries (0: nothing delivered yet).
    pub seq: u64,
    /// Anything may have changed: the connection was down, or the server lost track.
    pub everything: bool,
    topics: BTreeSet<Topic>,
    /// Topics announced without naming their rows.
    unnamed: BTreeSet<Topic>,
    ids: BTreeSet<Uuid>,
}

impl Batch {
    pub fn everything() -> Self {
        Self {
            everything: true,
            ..Self::default()
        }
    }

    pub fn add(&mut self, change: &Change) {
        self.topics.extend(change.topics.iter().copied());
        if change.ids.is_empty() {
            self.unnamed.extend(change.topics.iter().copied());
        } else {
            self.ids.extend(change.ids.iter().copied());
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.everything && self.topics.is_empty()
    }

    /// Whether something under `topic` changed.
    pub fn touches(&self, topic: Topic) -> bool {
        self.everything || self.topics.contains(&topic)
    }

    /// Whether the row `id` under `topic` may have changed.
    pub fn touches_row(&self, topic: Topic, id: Uuid) -> bool {
        self.everything
            || self.unnamed.contains(&topic)
            || (self.topics.contains(&topic) && self.ids.contains(&id))
    }
}

/// The connection as the header shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not connected yet (and on the server).
    Connecting,
    Live,
    /// The connection dropped; the next try is under way or waiting.
    Reconnecting,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Live => "live",
            Status::Reconnecting => "reconnecting",
        }
    }
}

/// The live updates of the signed-in pages, provided by the shell.
#[derive(Clone, Copy)]
pub struct Live {
    pub batch: RwSignal<Batch>,
    pub status: RwSignal<Status>,
}

/// Provides [`Live`] to the pages under the caller; in the browser it also opens the stream,
/// closed again when the caller goes.
pub fn provide_live() {
    let live = Live {
        batch: RwSignal::new(Batch::default()),
        status: RwSignal::new(Status::Connecting),
    };
    provide_context(live);
    #[cfg(feature = "hydrate")]
    client::connect(live);
}

/// Calls `f` in the browser with each batch of changes (never on the server, nor before the
/// first change). Without live updates around (a page outside the shell) it does nothing.
pub fn on_change(f: impl Fn(&Batch) + 'static) {
    let Some(live) = use_context::<Live>() else {
        return;
    };
    Effect::new(move |_| {
        live.batch.with(|b| {
            if b.seq > 0 && !b.is_empty() {
                untrack(|| f(b));
            }
        });
    });
}

/// The connection's state, for the header: nothing while live, "Reconnecting…" while not.
/// `data-state` always says which (tests wait for `live`).
#[component]
pub fn LiveStatus() -> impl IntoView {
    let status = use_context::<Live>()
        .map(|l| l.status)
        .unwrap_or_else(|| RwSignal::new(Status::Connecting));
    view! {
        <span data-testid="live-status" data-state=move || status.get().as_str() role="status" aria-live="polite">
            <Show when=move || status.get() == Status::Reconnecting>
                <span class="inline-flex items-center gap-1 whitespace-nowrap rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-inset ring-amber-200" title="Live updates paused: the connection to the server dropped. The page catches up once it is back.">
                    <span class="h-1.5 w-1.5 animate-pulse rounded-full bg-amber-500" aria-hidden="true"></span>
                    "Reconnecting…"
                </span>
            </Show>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn a_batch_knows_which_rows_and_topics_it_touches() {
        let mut b = Batch::default();
        assert!(b.is_empty());
        b.add(&Change {
            topics: vec![Topic::Tasks, Topic::Queue],
            ids: vec![id(1)],
        });
        assert!(b.touches(Topic::Tasks) && b.touches(Topic::Queue));
        assert!(!b.touches(Topic::Alerts));
        assert!(b.touches_row(Topic::Tasks, id(1)));
        assert!(!b.touches_row(Topic::Tasks, id(2)));
        // Many tasks at once: not named, so every task may have changed.
        b.add(&Change {
            topics: vec![Topic::Tasks],
            ids: vec![],
        });
        assert!(b.touches_row(Topic::Tasks, id(2)));
        assert!(!b.touches_row(Topic::Alerts, id(2)));
    }

    #[test]
    fn after_a_reconnect_everything_is_touched() {
        let b = Batch::everything();
        assert!(!b.is_empty());
        assert!(b.touches(Topic::Dashboard));
        assert!(b.touches_row(Topic::Tasks, id(7)));
    }

    #[test]
    fn a_change_reads_as_the_browser_receives_it() {
        let c: Change = serde_json::from_str(
            r#"{"topics":["tasks","queue"],"ids":["00000000-0000-0000-0000-000000000001"]}"#,
        )
        .expect("change");
        assert_eq!(c.topics, vec![Topic::Tasks, Topic::Queue]);
        assert_eq!(c.ids, vec![id(1)]);
    }
}
