//! A generation's snapshots as the newline-delimited `AnalysisEvent`s a listener receives: a
//! late joiner first gets the text so far, then the rest as it streams; a voided attempt is a
//! `Restarted` line, after which the text starts over.
use super::{
    cache::{Phase, Snapshot},
    AnalysisEvent,
};
use crate::ai::AiFailure;
use futures::Stream;
use tokio::sync::watch;

/// What a listener has already been sent.
struct Cursor {
    rx: watch::Receiver<Snapshot>,
    sent: Sent,
}

#[derive(Default)]
struct Sent {
    sent: usize,
    announced: Option<(String, u32)>,
    waiting_sent: bool,
    queued_sent: Option<u64>,
    restarts: u32,
    finished: bool,
}

/// The events of a generation as newline-delimited JSON, from wherever it has got to: a late
/// joiner first receives the text so far, then the rest as it streams.
pub fn ndjson(rx: watch::Receiver<Snapshot>) -> impl Stream<Item = String> + Send {
    let cursor = Cursor {
        rx,
        sent: Sent::default(),
    };
    futures::stream::unfold(cursor, |mut c| async move {
        loop {
            if c.sent.finished {
                return None;
            }
            let out = {
                let snap = c.rx.borrow_and_update();
                lines_for(&snap, &mut c.sent)
            };
            if !out.is_empty() {
                return Some((out, c));
            }
            if c.rx.changed().await.is_err() {
                // The sender is gone; its last state is final. One more look, then stop.
                let out = {
                    let snap = c.rx.borrow();
                    lines_for(&snap, &mut c.sent)
                };
                c.sent.finished = true;
                if out.is_empty() {
                    let line = AnalysisEvent::Failed {
                        failure: AiFailure {
                            provider: "-".into(),
                            model: "-".into(),
                            message: "the analysis stopped without an answer".into(),
                            after_ms: 0,
                            attempts: 0,
                        },
                        kept: None,
                    }
                    .to_line();
                    return Some((line, c));
                }
                return Some((out, c));
            }
        }
    })
}

fn lines_for(snap: &Snapshot, c: &mut Sent) -> String {
    let mut out = String::new();
    match &snap.phase {
        Phase::Starting => {}
        Phase::Waiting => {
            if !c.waiting_sent {
                c.waiting_sent = true;
                out.push_str(
                    &AnalysisEvent::Waiting {
                        message:
                            "Another request is already generating this analysis; waiting for it."
                                .into(),
                    }
                    .to_line(),
                );
            }
        }
        Phase::FromCache { age_secs } => {
            out.push_str(
                &AnalysisEvent::Cached {
                    text: snap.text.clone(),
                    model: snap.model.clone(),
                    provider: snap.provider.clone(),
                    age_secs: *age_secs,
                }
                .to_line(),
            );
            c.finished = true;
            return out;
        }
        Phase::Queued { .. } | Phase::Streaming | Phase::Done { .. } | Phase::Failed(_) => {}
    }
    if matches!(
        snap.phase,
        Phase::Queued { .. } | Phase::Streaming | Phase::Done { .. } | Phase::Failed(_)
    ) && !snap.model.is_empty()
    {
        let current = (snap.model.clone(), snap.attempt);
        if c.announced.as_ref() != Some(&current) {
            out.push_str(
                &AnalysisEvent::Started {
                    model: snap.model.clone(),
                    provider: snap.provider.clone(),
                }
                .to_line(),
            );
            c.announced = Some(current);
        }
    }
    if let Phase::Queued { ahead } = snap.phase {
        if c.queued_sent != Some(ahead) {
            c.queued_sent = Some(ahead);
            out.push_str(&AnalysisEvent::Queued { ahead }.to_line());
        }
    }
    if snap.restarts > c.restarts {
        c.restarts = snap.restarts;
        c.sent = 0;
        out.push_str(
            &AnalysisEvent::Restarted {
                message: snap.restart_reason.clone(),
            }
            .to_line(),
        );
    }
    if snap.text.len() > c.sent {
        out.push_str(
            &AnalysisEvent::Delta {
                text: snap.text[c.sent..].to_owned(),
            }
            .to_line(),
        );
        c.sent = snap.text.len();
    }
    match &snap.phase {
        Phase::Done {
            latency_ms,
            fallback_used,
            truncated,
        } => {
            out.push_str(
                &AnalysisEvent::Done {
                    model: snap.model.clone(),
                    provider: snap.provider.clone(),
                    latency_ms: *latency_ms,
                    fallback_used: *fallback_used,
                    truncated: *truncated,
                }
                .to_line(),
            );
            c.finished = true;
        }
        Phase::Failed(failure) => {
            out.push_str(
                &AnalysisEvent::Failed {
                    failure: failure.clone(),
                    kept: snap.kept.as_ref().map(|k| super::KeptAnswer {
                        text: k.text.clone(),
                        model: k.model.clone(),
                        provider: k.provider.clone(),
                        age_secs: k.age_secs,
                    }),
                }
                .to_line(),
            );
            c.finished = true;
        }
        _ => {}
    }
    out
}
