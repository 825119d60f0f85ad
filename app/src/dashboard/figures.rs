//! The dashboard's figures from rollup rows: sums, shares, percentiles from log-scale
//! histograms, and the day-by-day series the charts draw. Pure, so every number is tested here.
use super::{AiFigures, ModelFigures, Period, PipelineFigures, Rate};
use crate::domain::TaskState;
use serde_json::Value;
use std::collections::BTreeMap;
use time::{Date, Duration, OffsetDateTime};

/// The growth from one histogram bucket to the next (as `dashboard_bucket` in SQL).
const GROWTH: f64 = 1.1;
const LAST_BUCKET: u16 = 199;

/// Counts per log-scale bucket: bucket `b` holds values from `1.1^b - 1` to `1.1^(b+1) - 1`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram(BTreeMap<u16, u64>);

impl Histogram {
    /// The bucket of `x`, as the database's `dashboard_bucket(x)` computes it.
    pub fn bucket_of(x: f64) -> u16 {
        let b = ((1.0 + x.max(0.0)).ln() / GROWTH.ln()).floor();
        (b.max(0.0) as u16).min(LAST_BUCKET)
    }

    /// Adds a rollup's `{"bucket": count}` (anything else in it is ignored).
    pub fn add_json(&mut self, v: &Value) {
        if let Some(map) = v.as_object() {
            for (k, n) in map {
                if let (Ok(b), Some(n)) = (k.parse::<u16>(), n.as_u64()) {
                    *self.0.entry(b.min(LAST_BUCKET)).or_default() += n;
                }
            }
        }
    }

    pub fn add(&mut self, x: f64) {
        *self.0.entry(Self::bucket_of(x)).or_default() += 1;
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The `p` quantile (0 to 1) by nearest rank, as its bucket's geometric middle (within 5%
    /// of the true value); `None` when empty.
    pub fn quantile(&self, p: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((p.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, n) in &self.0 {
            seen += n;
            if seen >= rank {
                return Some((GROWTH.powf(f64::from(*b) + 0.5) - 1.0).max(0.0));
            }
        }
        None
    }
}

/// One day of one model's calls (a `dashboard_ai_daily` row).
#[derive(Debug, Clone)]
pub struct AiDay {
    pub day: Date,
    pub model: String,
    pub provider: String,
    pub calls: i32,
    pub errors: i32,
    pub cache_hits: i32,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
    pub latency_hist: Value,
}

/// One day of the pipeline (a `dashboard_pipeline_daily` row).
#[derive(Debug, Clone, Default)]
pub struct PipelineDay {
    pub day: Option<Date>,
    pub delivered: i32,
    pub scored: i32,
    pub approved: i32,
    pub reviewed: i32,
    pub retried: i32,
    pub rejected: i32,
    pub escalated: i32,
    pub quality_sum: i64,
    pub readability_sum: i64,
    pub sentiment_sum: i64,
    pub brand_sum: i64,
    pub compliance_sum: i64,
    pub delivery_hist: Value,
}

/// The tasks-by-state snapshot (a `dashboard_snapshots` row).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub tasks_by_state: Value,
    pub backlog: i32,
    pub backlog_oldest_at: Option<OffsetDateTime>,
}

/// The days of `period` ending `today`, oldest first.
pub fn days(period: Period, today: Date) -> Vec<Date> {
    (0..period.days())
        .rev()
        .map(|back| today - Duration::days(back))
        .collect()
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn mean(sum: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

pub fn pipeline(
    rows: &[PipelineDay],
    snap: Option<&Snapshot>,
    now: OffsetDateTime,
) -> PipelineFigures {
    let sum = |f: fn(&PipelineDay) -> i64| rows.iter().map(f).sum::<i64>();
    let scored = sum(|d| i64::from(d.scored));
    let mut delivery = Histogram::default();
    rows.iter()
        .for_each(|d| delivery.add_json(&d.delivery_hist));
    let rates = [
        ("Auto-approved", sum(|d| i64::from(d.approved))),
        ("Sent to review", sum(|d| i64::from(d.reviewed))),
        ("Retried", sum(|d| i64::from(d.retried))),
        ("Escalated", sum(|d| i64::from(d.escalated))),
        ("Rejected", sum(|d| i64::from(d.rejected))),
    ]
    .into_iter()
    .map(|(label, count)| Rate {
        label: label.into(),
        count,
        share: share(count, scored),
    })
    .collect();
    let parts = [
        ("Readability", sum(|d| d.readability_sum)),
        ("Sentiment", sum(|d| d.sentiment_sum)),
        ("Brand alignment", sum(|d| d.brand_sum)),
        ("Compliance", sum(|d| d.compliance_sum)),
    ]
    .into_iter()
    .map(|(label, s)| (label.to_owned(), mean(s, scored)))
    .collect();
    let tasks_by_state = snap
        .map(|s| {
            TaskState::ALL
                .into_iter()
                .filter_map(|state| {
                    let n = s.tasks_by_state.get(state.as_str())?.as_i64()?;
                    (n > 0).then(|| (state.as_str().to_owned(), state.label().to_owned(), n))
                })
                .collect()
        })
        .unwrap_or_default();
    PipelineFigures {
        tasks_by_state,
        delivered: sum(|d| i64::from(d.delivered)),
        delivery_p50_secs: delivery.quantile(0.5),
        delivery_p90_secs: delivery.quantile(0.9),
        scored,
        rates,
        quality: mean(sum(|d| d.quality_sum), scored),
        parts,
        backlog: snap.map_or(0, |s| i64::from(s.backlog)),
        backlog_oldest_secs: snap
            .and_then(|s| s.backlog_oldest_at)
            .map(|at| (now - at).whole_seconds().max(0)),
    }
}

/// Each model's figures over `rows`, busiest first.
pub fn models(rows: &[AiDay]) -> Vec<ModelFigures> {
    let mut by: BTreeMap<(&str, &str), (ModelFigures, Histogram, i64, i64)> = BTreeMap::new();
    for r in rows {
        let (m, hist, errors, hits) = by
            .entry((r.model.as_str(), r.provider.as_str()))
            .or_insert_with(|| {
                let m = ModelFigures {
                    model: r.model.clone(),
                    provider: r.provider.clone(),
                    calls: 0,
                    latency_p50_ms: None,
                    latency_p95_ms: None,
                    error_rate: 0.0,
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    cost_usd: 0.0,
                    cache_hit_rate: 0.0,
                };
                (m, Histogram::default(), 0, 0)
            });
        m.calls += i64::from(r.calls);
        m.prompt_tokens += r.prompt_tokens;
        m.completion_tokens += r.completion_tokens;
        m.cost_usd += r.cost_usd;
        *errors += i64::from(r.errors);
        *hits += i64::from(r.cache_hits);
        hist.add_json(&r.latency_hist);
    }
    let mut out: Vec<ModelFigures> = by
        .into_values()
        .map(|(mut m, hist, errors, hits)| {
            m.latency_p50_ms = hist.quantile(0.5);
            m.latency_p95_ms = hist.quantile(0.95);
            m.error_rate = share(errors, m.calls).unwrap_or(0.0);
            m.cache_hit_rate = share(hits, m.calls).unwrap_or(0.0);
            m
        })
        .collect();
    out.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.model.cmp(&b.model)));
    out
}

pub fn ai(rows: &[AiDay], month_spend_usd: f64, budget: Option<(f64, Option<f64>)>) -> AiFigures {
    AiFigures {
        models: models(rows),
        month_spend_usd,
        budget_usd: budget.map(|b| b.0),
        soft_limit_usd: budget.and_then(|b| b.1),
    }
}

/// What a chart shows per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Bars,
    Line,
}

/// One chart's figures: a value (or a gap) per day of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub id: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
    pub shape: Shape,
    pub days: Vec<Date>,
    pub values: Vec<Option<f64>>,
    /// Decimals shown in labels and the table.
    pub decimals: usize,
}

fn per_day<T>(
    days: &[Date],
    rows: &[T],
    day_of: impl Fn(&T) -> Option<Date>,
    f: impl Fn(&[&T]) -> Option<f64>,
) -> Vec<Option<f64>> {
    days.iter()
        .map(|d| {
            let on: Vec<&T> = rows.iter().filter(|r| day_of(r) == Some(*d)).collect();
            f(&on)
        })
        .collect()
}

/// The charts: throughput and quality for everyone; spend and latency with the AI's figures.
pub fn trends(
    period: Period,
    today: Date,
    pipe: &[PipelineDay],
    ai: Option<&[AiDay]>,
) -> Vec<Trend> {
    let days = days(period, today);
    let mut out = vec![
        Trend {
            id: "throughput",
            title: "Tasks delivered per day",
            unit: "Tasks",
            shape: Shape::Bars,
            values: per_day(
                &days,
                pipe,
                |r| r.day,
                |on| Some(on.iter().map(|r| f64::from(r.delivered)).sum()),
            ),
            days: days.clone(),
            decimals: 0,
        },
        Trend {
            id: "quality",
            title: "Mean quality score per day",
            unit: "Score (0–100)",
            shape: Shape::Line,
            values: per_day(
                &days,
                pipe,
                |r| r.day,
                |on| {
                    let n: i64 = on.iter().map(|r| i64::from(r.scored)).sum();
                    mean(on.iter().map(|r| r.quality_sum).sum(), n)
                },
            ),
            days: days.clone(),
            decimals: 1,
        },
    ];
    if let Some(ai) = ai {
        out.push(Trend {
            id: "spend",
            title: "AI spend per day",
            unit: "USD",
            shape: Shape::Bars,
            values: per_day(
                &days,
                ai,
                |r| Some(r.day),
                |on| Some(on.iter().map(|r| r.cost_usd).sum()),
            ),
            days: days.clone(),
            decimals: 2,
        });
        out.push(Trend {
            id: "latency",
            title: "AI latency per day (p95, every model)",
            unit: "Milliseconds",
            shape: Shape::Line,
            values: per_day(
                &days,
                ai,
                |r| Some(r.day),
                |on| {
                    let mut h = Histogram::default();
                    on.iter().for_each(|r| h.add_json(&r.latency_hist));
                    h.quantile(0.95)
                },
            ),
            days,
            decimals: 0,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::{date, datetime};

    #[test]
    fn buckets_match_the_database_function_and_quantiles_stay_within_five_percent() {
        assert_eq!(Histogram::bucket_of(0.0), 0);
        assert_eq!(Histogram::bucket_of(-5.0), 0);
        assert_eq!(Histogram::bucket_of(1e12), LAST_BUCKET);
        let mut h = Histogram::default();
        (1..=1000).for_each(|ms| h.add(f64::from(ms)));
        for (p, truth) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = h.quantile(p).expect("values");
            assert!((got - truth).abs() / truth < 0.05, "p{p}: {got} vs {truth}");
        }
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn histograms_from_several_days_add_up() {
        let mut h = Histogram::default();
        h.add_json(&json!({"10": 3, "20": 1}));
        h.add_json(&json!({"10": 2, "junk": 4, "30": "x"}));
        assert_eq!(h.total(), 6);
        assert!(h.quantile(0.5).expect("values") < h.quantile(1.0).expect("values"));
    }

    #[test]
    fn pipeline_shares_means_and_backlog_come_from_the_rows() {
        let day = |d, delivered, scored, approved, quality| PipelineDay {
            day: Some(d),
            delivered,
            scored,
            approved,
            escalated: scored - approved,
            quality_sum: quality,
            readability_sum: i64::from(scored) * 70,
            delivery_hist: json!({"50": delivered}),
            ..PipelineDay::default()
        };
        let rows = [
            day(date!(2026 - 11 - 23), 3, 4, 3, 320),
            day(date!(2026 - 11 - 24), 1, 6, 3, 420),
        ];
        let snap = Snapshot {
            tasks_by_state: json!({"delivered": 4, "escalated": 2, "pending": 0}),
            backlog: 2,
            backlog_oldest_at: Some(datetime!(2026-11-24 10:00 UTC)),
        };
        let f = pipeline(&rows, Some(&snap), datetime!(2026-11-24 12:30 UTC));
        assert_eq!(f.delivered, 4);
        assert_eq!(f.scored, 10);
        assert_eq!(f.rates[0].count, 6);
        assert_eq!(f.rates[0].share, Some(0.6));
        assert_eq!(f.rates[3].share, Some(0.4));
        assert_eq!(f.quality, Some(74.0));
        assert_eq!(f.parts[0].1, Some(70.0));
        assert_eq!(f.backlog_oldest_secs, Some(9000));
        // States in the machine's order, empty ones left out.
        assert_eq!(
            f.tasks_by_state
                .iter()
                .map(|s| s.0.as_str())
                .collect::<Vec<_>>(),
            ["escalated", "delivered"]
        );
        let p50 = f.delivery_p50_secs.expect("deliveries");
        assert!((110.0..125.0).contains(&p50), "{p50}");
        let empty = pipeline(&[], None, datetime!(2026-11-24 12:30 UTC));
        assert_eq!(
            (empty.quality, empty.rates[0].share, empty.backlog),
            (None, None, 0)
        );
    }

    #[test]
    fn models_sum_their_days_and_sort_busiest_first() {
        let row = |model: &str, day, calls, errors, hits| AiDay {
            day,
            model: model.into(),
            provider: "openai".into(),
            calls,
            errors,
            cache_hits: hits,
            prompt_tokens: 100,
            completion_tokens: 10,
            cost_usd: 0.5,
            latency_hist: json!({(Histogram::bucket_of(800.0)).to_string(): calls - hits}),
        };
        let rows = [
            row("small", date!(2026 - 11 - 23), 10, 1, 0),
            row("big", date!(2026 - 11 - 23), 30, 0, 10),
            row("big", date!(2026 - 11 - 24), 10, 4, 0),
        ];
        let m = models(&rows);
        assert_eq!(m[0].model, "big");
        assert_eq!(
            (m[0].calls, m[0].prompt_tokens, m[0].cost_usd),
            (40, 200, 1.0)
        );
        assert_eq!((m[0].error_rate, m[0].cache_hit_rate), (0.1, 0.25));
        let p95 = m[0].latency_p95_ms.expect("latency");
        assert!((760.0..840.0).contains(&p95), "{p95}");
    }

    #[test]
    fn trends_have_a_value_or_a_gap_for_every_day() {
        let today = date!(2026 - 11 - 24);
        let rows = [PipelineDay {
            day: Some(today),
            delivered: 5,
            scored: 2,
            quality_sum: 150,
            ..PipelineDay::default()
        }];
        let t = trends(Period::Week, today, &rows, None);
        assert_eq!(t.len(), 2, "no AI charts without the AI's figures");
        assert_eq!(t[0].days.len(), 7);
        assert_eq!(t[0].days[0], date!(2026 - 11 - 18));
        assert_eq!(t[0].values[6], Some(5.0));
        assert_eq!(t[0].values[0], Some(0.0));
        assert_eq!(t[1].values[6], Some(75.0));
        assert_eq!(
            t[1].values[0], None,
            "a day with no drafts is a gap, not zero"
        );
        assert_eq!(trends(Period::Month, today, &rows, Some(&[])).len(), 4);
    }
}
