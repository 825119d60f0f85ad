//! An experiment's arms side by side, and whether a difference is more than noise: a
//! two-proportion z-test for rates (errors, approval, cache hits) and Welch's z for means
//! (latency, cost, quality), at the 5% level, judged only once each arm has enough samples.
use serde::{Deserialize, Serialize};

/// The fewest samples per arm before a difference is judged.
pub const MIN_ARM_SAMPLE: i64 = 30;
/// Two-sided 5%.
const Z_CRITICAL: f64 = 1.96;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    NotEnoughData,
    NoClearDifference,
    Significant,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::NotEnoughData => "not enough data yet",
            Verdict::NoClearDifference => "no clear difference",
            Verdict::Significant => "difference is significant",
        }
    }
}

/// `x1` of `n1` against `x2` of `n2`.
pub fn proportions(x1: i64, n1: i64, x2: i64, n2: i64) -> Verdict {
    if n1 < MIN_ARM_SAMPLE || n2 < MIN_ARM_SAMPLE {
        return Verdict::NotEnoughData;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    let diff = x1 as f64 / n1f - x2 as f64 / n2f;
    judge(diff, se)
}

/// Means with their sample standard deviations.
pub fn means(m1: f64, sd1: f64, n1: i64, m2: f64, sd2: f64, n2: i64) -> Verdict {
    if n1 < MIN_ARM_SAMPLE || n2 < MIN_ARM_SAMPLE {
        return Verdict::NotEnoughData;
    }
    let se = (sd1 * sd1 / n1 as f64 + sd2 * sd2 / n2 as f64).sqrt();
    judge(m1 - m2, se)
}

fn judge(diff: f64, se: f64) -> Verdict {
    if !diff.is_finite() || !se.is_finite() {
        return Verdict::NoClearDifference;
    }
    if se == 0.0 {
        return if diff == 0.0 {
            Verdict::NoClearDifference
        } else {
            Verdict::Significant
        };
    }
    if (diff / se).abs() > Z_CRITICAL {
        Verdict::Significant
    } else {
        Verdict::NoClearDifference
    }
}

/// One arm's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// Calls that reached a model (cache hits left out).
    pub calls: i64,
    /// Every request, cache hits included.
    pub requests: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub sd_ms: Option<f64>,
    pub errors: i64,
    pub cost_per_call: Option<f64>,
    pub sd_cost: Option<f64>,
    pub cache_hits: i64,
    pub drafts: i64,
    pub quality: Option<f64>,
    pub sd_quality: Option<f64>,
    pub reviewed: i64,
    pub approved: i64,
}

/// One row of the side-by-side table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub metric: String,
    pub control: String,
    pub candidate: String,
    /// Samples behind each side.
    pub samples: (i64, i64),
    pub verdict: Verdict,
}

fn pct(x: i64, n: i64) -> String {
    if n == 0 {
        "–".into()
    } else {
        format!("{:.1}%", x as f64 / n as f64 * 100.0)
    }
}

fn num(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "–".into())
}

fn mean_verdict(a: (Option<f64>, Option<f64>, i64), b: (Option<f64>, Option<f64>, i64)) -> Verdict {
    match (a, b) {
        ((Some(m1), sd1, n1), (Some(m2), sd2, n2)) => {
            means(m1, sd1.unwrap_or(0.0), n1, m2, sd2.unwrap_or(0.0), n2)
        }
        _ => Verdict::NotEnoughData,
    }
}

/// The table: latency p50 and p95, error rate, cost per call, quality, approval, cache hits.
pub fn table(control: &Arm, candidate: &Arm) -> Vec<MetricRow> {
    let (c, k) = (control, candidate);
    let ms = |v: f64| format!("{v:.0} ms");
    let latency = mean_verdict((c.mean_ms, c.sd_ms, c.calls), (k.mean_ms, k.sd_ms, k.calls));
    vec![
        MetricRow {
            metric: "Latency p50".into(),
            control: num(c.p50_ms, ms),
            candidate: num(k.p50_ms, ms),
            samples: (c.calls, k.calls),
            verdict: latency,
        },
        MetricRow {
            metric: "Latency p95".into(),
            control: num(c.p95_ms, ms),
            candidate: num(k.p95_ms, ms),
            samples: (c.calls, k.calls),
            verdict: latency,
        },
        MetricRow {
            metric: "Error rate".into(),
            control: pct(c.errors, c.calls),
            candidate: pct(k.errors, k.calls),
            samples: (c.calls, k.calls),
            verdict: proportions(c.errors, c.calls, k.errors, k.calls),
        },
        MetricRow {
            metric: "Cost per call".into(),
            control: num(c.cost_per_call, |v| format!("${v:.5}")),
            candidate: num(k.cost_per_call, |v| format!("${v:.5}")),
            samples: (c.calls, k.calls),
            verdict: mean_verdict(
                (c.cost_per_call, c.sd_cost, c.calls),
                (k.cost_per_call, k.sd_cost, k.calls),
            ),
        },
        MetricRow {
            metric: "Quality score".into(),
            control: num(c.quality, |v| format!("{v:.1}")),
            candidate: num(k.quality, |v| format!("{v:.1}")),
            samples: (c.drafts, k.drafts),
            verdict: mean_verdict(
                (c.quality, c.sd_quality, c.drafts),
                (k.quality, k.sd_quality, k.drafts),
            ),
        },
        MetricRow {
            metric: "Human approval rate".into(),
            control: pct(c.approved, c.reviewed),
            candidate: pct(k.approved, k.reviewed),
            samples: (c.reviewed, k.reviewed),
            verdict: proportions(c.approved, c.reviewed, k.approved, k.reviewed),
        },
        MetricRow {
            metric: "Cache hit rate".into(),
            control: pct(c.cache_hits, c.requests),
            candidate: pct(k.cache_hits, k.requests),
            samples: (c.requests, k.requests),
            verdict: proportions(c.cache_hits, c.requests, k.cache_hits, k.requests),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_samples_are_not_judged_and_clear_gaps_are() {
        assert_eq!(proportions(0, 10, 10, 10), Verdict::NotEnoughData);
        // 2% against 20% errors over 100 calls each: significant.
        assert_eq!(proportions(2, 100, 20, 100), Verdict::Significant);
        // 10% against 12%: noise at this size.
        assert_eq!(proportions(10, 100, 12, 100), Verdict::NoClearDifference);
        // 900 ms ± 100 against 1000 ms ± 100, 50 each: z = 5.
        assert_eq!(
            means(900.0, 100.0, 50, 1000.0, 100.0, 50),
            Verdict::Significant
        );
        assert_eq!(
            means(990.0, 100.0, 50, 1000.0, 100.0, 50),
            Verdict::NoClearDifference
        );
        assert_eq!(
            means(1.0, 0.0, 40, 1.0, 0.0, 40),
            Verdict::NoClearDifference
        );
    }

    #[test]
    fn the_table_shows_each_metric_with_its_samples() {
        let control = Arm {
            calls: 40,
            requests: 50,
            errors: 0,
            cache_hits: 10,
            p50_ms: Some(800.0),
            ..Default::default()
        };
        let candidate = Arm {
            calls: 40,
            requests: 40,
            errors: 20,
            ..Default::default()
        };
        let rows = table(&control, &candidate);
        assert_eq!(rows.len(), 7);
        let errors = rows
            .iter()
            .find(|r| r.metric == "Error rate")
            .expect("error rate");
        assert_eq!(
            (errors.control.as_str(), errors.candidate.as_str()),
            ("0.0%", "50.0%")
        );
        assert_eq!(errors.verdict, Verdict::Significant);
        let approval = rows
            .iter()
            .find(|r| r.metric == "Human approval rate")
            .expect("approval");
        assert_eq!(
            (approval.control.as_str(), approval.verdict),
            ("–", Verdict::NotEnoughData)
        );
        assert_eq!(rows[0].control, "800 ms");
    }
}
