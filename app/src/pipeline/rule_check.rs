//! What a decision rule's condition may be, checked before it is saved, each problem in words:
//! a size and a nesting depth that bound what one rule can cost, the operators rules may use
//! (no loops over data), and variables that are paths of the decision context, with near
//! matches for a misspelt one.
use super::rules::sample_context;
use serde_json::Value;

/// Largest condition, as compact JSON.
pub const MAX_CONDITION_BYTES: usize = 16 * 1024;
/// Deepest nesting of objects and arrays.
pub const MAX_DEPTH: usize = 32;
/// The JSON Logic operators a rule may use: comparisons, logic, arithmetic and text. Loops over
/// data (`map`, `filter`, `reduce`, `all`, `some`, `none`) and the engine's extensions are not
/// among them.
pub const OPERATORS: [&str; 27] = [
    "var",
    "missing",
    "missing_some",
    "if",
    "?:",
    "==",
    "===",
    "!=",
    "!==",
    "!",
    "!!",
    "or",
    "and",
    ">",
    ">=",
    "<",
    "<=",
    "max",
    "min",
    "+",
    "-",
    "*",
    "/",
    "%",
    "in",
    "cat",
    "substr",
];

/// Every path a condition may read: each object and each value of the decision context
/// ("quality", "quality.overall", "quality.compliance.failures").
pub fn known_paths() -> Vec<String> {
    fn walk(v: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Value::Object(map) = v {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                out.push(path.clone());
                walk(child, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&sample_context(), "", &mut out);
    out.sort();
    out
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Operators used, in order of appearance, each once.
fn operators(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (op, arg) in m {
                if !out.contains(op) {
                    out.push(op.clone());
                }
                operators(arg, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|i| operators(i, out)),
        _ => {}
    }
}

/// Up to three known paths closest to `path`.
fn near(path: &str, known: &[String]) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = known
        .iter()
        .map(|k| (strsim::normalized_damerau_levenshtein(path, k), k))
        .filter(|(s, _)| *s >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, k)| k.clone()).collect()
}

/// Every problem with `condition`, in words; none when it may be saved.
pub fn check(condition: &Value) -> Vec<String> {
    let bytes = condition.to_string().len();
    if bytes > MAX_CONDITION_BYTES {
        return vec![format!(
            "The condition is {bytes} bytes; a rule may have at most {} KiB.",
            MAX_CONDITION_BYTES / 1024
        )];
    }
    let nesting = depth(condition);
    if nesting > MAX_DEPTH {
        return vec![format!(
            "The condition nests {nesting} levels deep; a rule may nest at most {MAX_DEPTH}."
        )];
    }
    if !(condition.is_object() || condition.is_boolean()) {
        return vec![
            "The condition must be a JSON Logic object, such as {\">=\": [{\"var\": \"quality.overall\"}, 80]}."
                .to_owned(),
        ];
    }
    let mut problems = Vec::new();
    let mut used = Vec::new();
    operators(condition, &mut used);
    for op in used.iter().filter(|op| !OPERATORS.contains(&op.as_str())) {
        problems.push(format!(
            "\"{op}\" is not an operator rules may use. They may use: {}.",
            OPERATORS.join(" ")
        ));
    }
    let known = known_paths();
    for path in super::rules::variables(condition) {
        if known.contains(&path) {
            continue;
        }
        let close = near(&path, &known);
        problems.push(if close.is_empty() {
            format!(
                "\"{path}\" is not in the decision context. It has: {}.",
                known.join(", ")
            )
        } else {
            format!(
                "\"{path}\" is not in the decision context. Did you mean {}?",
                close
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_rules_pass() {
        for rule in super::super::rules::tests::defaults() {
            assert_eq!(
                check(&rule.condition),
                Vec::<String>::new(),
                "{}",
                rule.name
            );
        }
    }

    #[test]
    fn an_unknown_variable_names_its_near_matches() {
        let problems = check(&json!({">=": [{"var": "quality.overal"}, 80]}));
        assert_eq!(
            problems,
            ["\"quality.overall\"".to_owned()]
                .iter()
                .map(|m| format!(
                    "\"quality.overal\" is not in the decision context. Did you mean {m}?"
                ))
                .collect::<Vec<_>>()
        );
        let far = check(&json!({"==": [{"var": "weather"}, "rain"]}));
        assert!(far[0].contains("It has: attempt, customer,"), "{far:?}");
    }

    #[test]
    fn loops_and_unknown_operators_are_refused_by_name() {
        let problems = check(&json!({"and": [
            {"some": [{"var": "quality.compliance.failures"}, {"==": [{"var": ""}, "x"]}]},
            {"frobnicate": [1]}
        ]}));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("\"some\" is not an operator rules may use"));
        assert!(problems[1].starts_with("\"frobnicate\" is not"));
    }

    #[test]
    fn size_and_depth_are_bounded() {
        let mut deep = json!({"var": "attempt"});
        for _ in 0..40 {
            deep = json!({"!": [deep]});
        }
        assert!(check(&deep)[0].contains("a rule may nest at most 32"));
        let big = json!({"in": [{"var": "customer.name"}, vec!["a long customer name"; 1000]]});
        assert!(check(&big)[0].contains("a rule may have at most 16 KiB"));
        assert!(check(&json!("quality > 80"))[0].contains("must be a JSON Logic object"));
        assert!(check(&json!(true)).is_empty());
    }

    #[test]
    fn the_sample_context_has_every_path_the_worker_gives_the_rules() {
        let known = known_paths();
        for path in [
            "task.title",
            "task.output_type",
            "task.max_attempts",
            "task.min_overall",
            "task.min_brand_alignment",
            "task.age_hours",
            "customer.name",
            "customer.industry",
            "customer.is_vip",
            "quality.overall",
            "quality.readability",
            "quality.sentiment",
            "quality.brand",
            "quality.compliance.passed",
            "quality.compliance.failure_count",
            "quality.compliance.failures",
            "quality.flesch_reading_ease",
            "quality.sentiment_label",
            "attempt",
            "deliverable.words",
            "deliverable.model",
        ] {
            assert!(known.contains(&path.to_owned()), "{path}");
        }
    }
}
