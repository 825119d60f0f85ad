//! The browser's half of live updates: one `EventSource` on `/events`, reopened with backoff
//! when it drops, feeding [`Live`]'s batch at most every [`THROTTLE_MS`].
use super::{Batch, Change, Live, Status, EVENTS_PATH, THROTTLE_MS};
use leptos::prelude::*;
use std::time::Duration;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{js_sys, EventSource, MessageEvent};

/// The first retry's delay; each failure doubles it, up to [`MAX_RETRY_MS`], with jitter so a
/// restarted server is not met by every browser at once.
const FIRST_RETRY_MS: f64 = 1_000.0;
const MAX_RETRY_MS: f64 = 30_000.0;

type Handler = Closure<dyn FnMut(web_sys::Event)>;

struct Conn {
    source: EventSource,
    _handlers: Vec<Handler>,
}

#[derive(Default)]
struct Inner {
    conn: Option<Conn>,
    /// Failed tries since the stream was last ready.
    failures: u32,
    /// Whether a stream was ever ready: a later one must catch up.
    ever_ready: bool,
    pending: Batch,
    flush_due: bool,
    last_flush: f64,
    seq: u64,
}

type Shared = StoredValue<Inner, LocalStorage>;

/// Opens the stream for the life of the calling component.
pub(super) fn connect(live: Live) {
    let inner: Shared = StoredValue::new_local(Inner::default());
    // After hydration: the server rendered without it.
    request_animation_frame(move || open(live, inner));
    on_cleanup(move || {
        if let Some(Some(conn)) = inner.try_update_value(|i| i.conn.take()) {
            conn.source.close();
        }
    });
}

fn open(live: Live, inner: Shared) {
    if inner.is_disposed() {
        return;
    }
    let source = match EventSource::new(EVENTS_PATH) {
        Ok(s) => s,
        Err(_) => return failed(live, inner),
    };
    let mut handlers = Vec::new();
    let mut listen = |name: &str, f: Box<dyn FnMut(web_sys::Event)>| {
        let handler: Handler = Closure::wrap(f);
        if source
            .add_event_listener_with_callback(name, handler.as_ref().unchecked_ref())
            .is_ok()
        {
            handlers.push(handler);
        }
    };
    listen("ready", Box::new(move |_| ready(live, inner)));
    listen(
        "change",
        Box::new(move |ev| {
            let change = ev
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
                .and_then(|d| serde_json::from_str::<Change>(&d).ok());
            // One this build cannot read: refetch everything rather than miss it.
            inner.update_value(|i| match &change {
                Some(c) => i.pending.add(c),
                None => i.pending.everything = true,
            });
            schedule(live, inner);
        }),
    );
    listen(
        "resync",
        Box::new(move |_| {
            inner.update_value(|i| i.pending.everything = true);
            schedule(live, inner);
        }),
    );
    // The server ends the stream at its maximum age: reopen now (the new one catches up).
    listen("bye", Box::new(move |_| reopen(live, inner, 0.0)));
    listen("error", Box::new(move |_| failed(live, inner)));
    let old = inner.try_update_value(|i| {
        i.conn.replace(Conn {
            source,
            _handlers: handlers,
        })
    });
    if let Some(Some(old)) = old {
        retire(old);
    }
}

fn ready(live: Live, inner: Shared) {
    let caught_up = inner.try_update_value(|i| {
        i.failures = 0;
        let again = i.ever_ready;
        i.ever_ready = true;
        if again {
            i.pending.everything = true;
        }
        again
    });
    live.status.try_set(Status::Live);
    if caught_up == Some(true) {
        schedule(live, inner);
    }
}

/// The stream dropped or could not open: retry after a growing delay.
fn failed(live: Live, inner: Shared) {
    let Some(failures) = inner.try_update_value(|i| {
        i.failures = i.failures.saturating_add(1);
        i.failures
    }) else {
        return;
    };
    live.status.try_set(Status::Reconnecting);
    let base = (FIRST_RETRY_MS * 2f64.powi(failures.min(16) as i32 - 1)).min(MAX_RETRY_MS);
    reopen(live, inner, base * (0.5 + js_sys::Math::random() / 2.0));
}

fn reopen(live: Live, inner: Shared, after_ms: f64) {
    if let Some(Some(conn)) = inner.try_update_value(|i| i.conn.take()) {
        conn.source.close();
        retire(conn);
    }
    set_timeout(
        move || open(live, inner),
        Duration::from_millis(after_ms as u64),
    );
}

/// Drops a closed connection's handlers later: one of them may be running now.
fn retire(conn: Conn) {
    conn.source.close();
    set_timeout(move || drop(conn), Duration::from_millis(0));
}

/// Delivers the pending changes now, or at the end of the throttle window.
fn schedule(live: Live, inner: Shared) {
    let now = js_sys::Date::now();
    let wait = inner.try_update_value(|i| {
        if i.flush_due {
            return None;
        }
        let wait = i.last_flush + f64::from(THROTTLE_MS) - now;
        if wait > 0.0 {
            i.flush_due = true;
        }
        Some(wait)
    });
    match wait.flatten() {
        Some(w) if w > 0.0 => {
            set_timeout(move || flush(live, inner), Duration::from_millis(w as u64))
        }
        Some(_) => flush(live, inner),
        None => {}
    }
}

fn flush(live: Live, inner: Shared) {
    let batch = inner.try_update_value(|i| {
        i.flush_due = false;
        i.last_flush = js_sys::Date::now();
        let mut batch = std::mem::take(&mut i.pending);
        if batch.is_empty() {
            return None;
        }
        i.seq += 1;
        batch.seq = i.seq;
        Some(batch)
    });
    if let Some(Some(batch)) = batch {
        live.batch.try_set(batch);
    }
}
