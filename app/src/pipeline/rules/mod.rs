//! Decision rules: JSON Logic conditions over {task, customer, quality, attempt, deliverable},
//! evaluated in priority order. The first matching rule of each category speaks for it; the
//! categories then decide in the order escalation, retry, approval, selection, routing. With no
//! match at all, a person reviews the draft. Every evaluation leaves a trace: which rules ran,
//! which matched, and the values their conditions read.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleCategory {
    Escalation,
    Retry,
    Approval,
    Selection,
    Routing,
}

impl RuleCategory {
    /// Also the order in which categories decide.
    pub const ALL: [RuleCategory; 5] = [
        RuleCategory::Escalation,
        RuleCategory::Retry,
        RuleCategory::Approval,
        RuleCategory::Selection,
        RuleCategory::Routing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleCategory::Escalation => "escalation",
            RuleCategory::Retry => "retry",
            RuleCategory::Approval => "approval",
            RuleCategory::Selection => "selection",
            RuleCategory::Routing => "routing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What a matching rule does with the draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleAction {
    Approve,
    /// A person reviews it (awaiting_review).
    Review {
        #[serde(default)]
        reason: String,
    },
    Reject {
        reason: String,
    },
    /// Another attempt, with this guidance appended to the prompt.
    Retry {
        guidance: String,
    },
    Escalate {
        reason: String,
    },
}

impl RuleAction {
    pub fn verb(&self) -> &'static str {
        match self {
            RuleAction::Approve => "approve",
            RuleAction::Review { .. } => "send for review",
            RuleAction::Reject { .. } => "reject",
            RuleAction::Retry { .. } => "retry",
            RuleAction::Escalate { .. } => "escalate",
        }
    }

    /// The action's own words problems: a reason or guidance must say something.
    pub fn validate(&self) -> Result<(), String> {
        let (field, text) = match self {
            RuleAction::Approve | RuleAction::Review { .. } => return Ok(()),
            RuleAction::Reject { reason } | RuleAction::Escalate { reason } => ("reason", reason),
            RuleAction::Retry { guidance } => ("guidance", guidance),
        };
        match text.trim().chars().count() {
            0 => Err(format!("the {} action needs a {field}", self.verb())),
            n if n > 1_000 => Err(format!("the {field} must be at most 1,000 characters")),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRule {
    pub id: Uuid,
    pub name: String,
    pub category: RuleCategory,
    /// Lower runs first.
    pub priority: i32,
    pub condition: Value,
    pub action: RuleAction,
    pub enabled: bool,
    /// The version of the rule this is; 0 for an unsaved draft (compiled for one run, not kept).
    pub version: i32,
}

/// One rule's part in a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub rule_id: Uuid,
    pub rule: String,
    pub version: i32,
    pub category: RuleCategory,
    pub priority: i32,
    pub outcome: TraceOutcome,
    /// The variables the condition reads, with the values it saw (null when missing).
    pub values: Vec<(String, Value)>,
    /// The condition in words with the values filled in ("quality.overall 84 >= 80").
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceOutcome {
    Matched,
    NotMatched,
    /// An earlier rule of the same category had matched.
    Skipped,
    /// The rule could not be evaluated; it counts as not matched.
    Error {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub action: RuleAction,
    /// The rule that decided; none when no rule matched and the default (review) applies.
    pub rule: Option<String>,
    pub trace: Vec<TraceEntry>,
}

/// The default when no rule matches: a person looks at it.
pub const NO_RULE_MATCHED: &str = "No rule matched, so a person reviews the draft";

impl Decision {
    /// A one-line summary: "Rule 'Quality gate' matched: quality.overall 84 >= 80 → approve".
    pub fn summary(&self) -> String {
        match &self.rule {
            Some(name) => {
                let why = self
                    .trace
                    .iter()
                    .find(|t| &t.rule == name && t.outcome == TraceOutcome::Matched)
                    .map(|t| t.explanation.as_str())
                    .unwrap_or("");
                format!("Rule '{name}' matched: {why} → {}", self.action.verb())
            }
            None => NO_RULE_MATCHED.to_owned(),
        }
    }
}

impl TraceEntry {
    /// The trace line in plain words, naming the rule's version ("Rule 'Quality gate' v2
    /// matched: ...").
    pub fn sentence(&self) -> String {
        let rule = if self.version > 0 {
            format!("Rule '{}' v{}", self.rule, self.version)
        } else {
            format!("Rule '{}' (unsaved draft)", self.rule)
        };
        match &self.outcome {
            TraceOutcome::Matched => format!("{rule} matched: {}", self.explanation),
            TraceOutcome::NotMatched => format!("{rule} did not match: {}", self.explanation),
            TraceOutcome::Skipped => format!(
                "{rule} was not run: an earlier {} rule had matched",
                self.category.as_str()
            ),
            TraceOutcome::Error { message } => format!("{rule} could not run: {message}"),
        }
    }
}

/// A context of the shape the worker builds, with typical values: conditions are checked
/// against it before they are saved, and the rule-testing bench starts from it.
pub fn sample_context() -> Value {
    serde_json::json!({
        "task": {
            "title": "Spring offer email", "output_type": "email", "max_attempts": 3,
            "min_overall": 75, "min_brand_alignment": 60, "age_hours": 2
        },
        "customer": {"name": "Bright Homes Cleaning", "industry": "home_services", "is_vip": false},
        "quality": {
            "overall": 84, "readability": 90, "sentiment": 100, "brand": 70,
            "compliance": {"passed": true, "failure_count": 0, "failures": []},
            "flesch_reading_ease": 68.2, "sentiment_label": "positive"
        },
        "attempt": 1,
        "deliverable": {"words": 142, "model": "gpt-5.2"}
    })
}

/// Every `{"var": ...}` path a condition reads, in order of appearance, without duplicates.
pub fn variables(condition: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (op, arg) in map {
                    if op == "var" {
                        let path = match arg {
                            Value::String(s) => Some(s.clone()),
                            Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_owned),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        };
                        if let Some(p) = path.filter(|p| !p.is_empty() && !out.contains(p)) {
                            out.push(p);
                        }
                    } else {
                        walk(arg, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(condition, &mut out);
    out
}

/// Looks up a dotted path ("quality.compliance.passed", "items.0") in a JSON value.
pub fn lookup<'a>(data: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(data, |v, key| match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Null => "missing".to_owned(),
        other => other.to_string(),
    }
}

/// The condition in words, with the values seen filled in.
pub fn explain(condition: &Value, data: &Value) -> String {
    fn operand(v: &Value, data: &Value) -> String {
        match v {
            Value::Object(m) if m.len() == 1 && m.contains_key("var") => {
                let path = variables(v).into_iter().next().unwrap_or_default();
                let seen = lookup(data, &path).cloned().unwrap_or(Value::Null);
                format!("{path} {}", show(&seen))
            }
            Value::Object(_) => explain_inner(v, data),
            other => show(other),
        }
    }
    fn explain_inner(v: &Value, data: &Value) -> String {
        let Value::Object(m) = v else { return show(v) };
        let Some((op, args)) = m.iter().next().filter(|_| m.len() == 1) else {
            return v.to_string();
        };
        let args: Vec<&Value> = match args {
            Value::Array(a) => a.iter().collect(),
            single => vec![single],
        };
        match (op.as_str(), args.as_slice()) {
            ("and" | "or", items) => {
                let joined: Vec<String> = items.iter().map(|a| explain_inner(a, data)).collect();
                joined.join(if op == "and" { " and " } else { " or " })
            }
            // Negating a variable: say what it is ("quality.compliance.passed is false").
            ("!", [Value::Object(m)]) if m.len() == 1 && m.contains_key("var") => {
                let path = variables(args[0]).into_iter().next().unwrap_or_default();
                let seen = lookup(data, &path).cloned().unwrap_or(Value::Null);
                format!("{path} is {}", show(&seen))
            }
            ("!", [a]) => format!("not ({})", explain_inner(a, data)),
            ("!!", [a]) => operand(a, data),
            ("var", _) => operand(v, data),
            ("==" | "===" | "!=" | "!==" | ">" | ">=" | "<" | "<=" | "in", [a, b]) => {
                format!("{} {op} {}", operand(a, data), operand(b, data))
            }
            ("<" | "<=", [a, b, c]) => format!(
                "{} {op} {} {op} {}",
                operand(a, data),
                operand(b, data),
                operand(c, data)
            ),
            _ => {
                let vars: Vec<String> = variables(v)
                    .into_iter()
                    .map(|p| {
                        let seen = lookup(data, &p).cloned().unwrap_or(Value::Null);
                        format!("{p} {}", show(&seen))
                    })
                    .collect();
                if vars.is_empty() {
                    format!("{op} rule")
                } else {
                    format!("{op} over {}", vars.join(", "))
                }
            }
        }
    }
    if condition.is_boolean() {
        return format!("always {condition}");
    }
    explain_inner(condition, data)
}

#[cfg(feature = "ssr")]
pub use engine::{validate_condition, RuleEngine};

#[cfg(feature = "ssr")]
mod engine {
    use super::*;
    use datalogic_rs::{bumpalo::Bump, Engine, EvalInput, Logic};
    use std::{
        collections::HashMap,
        sync::{Arc, LazyLock, RwLock},
    };

    static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::new);

    thread_local! {
        /// Scratch space for `decide`: the context and the rules' results, reset after each use.
        static ARENA: std::cell::RefCell<Bump> = std::cell::RefCell::new(Bump::with_capacity(8192));
    }

    /// Whether a condition is usable: it compiles, and it evaluates on a sample context (the
    /// engine reports unknown operators only when it meets them). The message says what is wrong.
    pub fn validate_condition(condition: &Value) -> Result<(), String> {
        if !(condition.is_object() || condition.is_boolean()) {
            return Err("the condition must be a JSON Logic object such as {\">=\": [{\"var\": \"quality.overall\"}, 80]}".into());
        }
        let logic = ENGINE
            .compile(condition)
            .map_err(|e| format!("invalid JSON Logic: {e}"))?;
        let sample = sample_context().to_string();
        let mut session = ENGINE.session();
        session
            .eval_borrowed(&logic, sample.as_str())
            .map(|_| ())
            .map_err(|e| format!("invalid JSON Logic: {e}"))
    }

    /// A rule version ready to run: its compiled condition and the variables it reads.
    struct CompiledRule {
        logic: Logic,
        variables: Vec<String>,
    }

    type Compiled = Result<Arc<CompiledRule>, String>;

    /// Rule versions kept compiled at most.
    const MAX_CACHED: usize = 10_000;

    /// Compiles each rule version once and keeps it (shared by every worker in the process).
    #[derive(Default)]
    pub struct RuleEngine {
        compiled: RwLock<HashMap<(Uuid, i32), Compiled>>,
    }

    impl RuleEngine {
        pub fn new() -> Self {
            Self::default()
        }

        fn compiled(&self, rule: &DecisionRule) -> Compiled {
            let key = (rule.id, rule.version);
            if let Some(hit) = self.compiled.read().ok().and_then(|m| m.get(&key).cloned()) {
                return hit;
            }
            let made = validate_condition(&rule.condition).and_then(|()| {
                ENGINE
                    .compile(&rule.condition)
                    .map(|logic| {
                        Arc::new(CompiledRule {
                            logic,
                            variables: variables(&rule.condition),
                        })
                    })
                    .map_err(|e| format!("invalid JSON Logic: {e}"))
            });
            // An unsaved draft (version 0) is compiled for its one run and not kept; saved
            // versions never change, so one compilation serves them for good. The cache is
            // bounded: past MAX_CACHED it starts again.
            if rule.version > 0 {
                if let Ok(mut m) = self.compiled.write() {
                    if m.len() >= MAX_CACHED {
                        m.clear();
                    }
                    m.insert(key, made.clone());
                }
            }
            made
        }

        /// How many rule versions are compiled (for tests and the benchmark).
        pub fn cached(&self) -> usize {
            self.compiled.read().map(|m| m.len()).unwrap_or(0)
        }

        /// Decides and puts each traced condition into words (what the worker stores).
        pub fn decide_explained(&self, rules: &[DecisionRule], context: &Value) -> Decision {
            let mut decision = self.decide(rules, context);
            for entry in &mut decision.trace {
                if entry.outcome != TraceOutcome::Skipped {
                    if let Some(rule) = rules.iter().find(|r| r.id == entry.rule_id) {
                        entry.explanation = explain(&rule.condition, context);
                    }
                }
            }
            decision
        }

        /// Decides with the enabled rules, in priority order, over `context`. Never panics on a
        /// bad rule: it is traced as an error and counts as not matched. The trace carries the
        /// values seen; `decide_explained` also words each condition.
        pub fn decide(&self, rules: &[DecisionRule], context: &Value) -> Decision {
            let mut order: Vec<&DecisionRule> = rules.iter().filter(|r| r.enabled).collect();
            order.sort_by_key(|r| (r.priority, r.name.as_str()));
            // One look at the cache for the whole rule set; only a version not seen yet compiles.
            let cached: Vec<Option<Compiled>> = match self.compiled.read() {
                Ok(m) => order
                    .iter()
                    .map(|r| m.get(&(r.id, r.version)).cloned())
                    .collect(),
                Err(_) => vec![None; order.len()],
            };
            let compiled: Vec<Compiled> = order
                .iter()
                .zip(cached)
                .map(|(r, hit)| hit.unwrap_or_else(|| self.compiled(r)))
                .collect();
            let run = |arena: &Bump| -> Decision {
                // The context goes into the arena once, straight from its JSON tree (no text
                // in between), and every rule reads it there. Results are a few bytes per rule.
                // The arena is the thread's own, emptied after each decision, so deciding
                // allocates no chunk.
                let data = context.into_arena_value(arena);
                // The first match of each category, indexed as RuleCategory::ALL.
                let mut decided: [Option<&DecisionRule>; 5] = [None; 5];
                let slot =
                    |c: RuleCategory| RuleCategory::ALL.iter().position(|x| *x == c).unwrap_or(0);
                let mut trace = Vec::with_capacity(order.len());
                for (rule, compiled) in order.into_iter().zip(&compiled) {
                    let outcome = if decided[slot(rule.category)].is_some() {
                        TraceOutcome::Skipped
                    } else {
                        match (&data, compiled) {
                            (Err(e), _) => TraceOutcome::Error {
                                message: format!("the context could not be read: {e}"),
                            },
                            (_, Err(message)) => TraceOutcome::Error {
                                message: message.clone(),
                            },
                            (Ok(data), Ok(rule)) => {
                                match ENGINE.evaluate(&rule.logic, *data, arena) {
                                    Ok(v) if ENGINE.truthy(v) => TraceOutcome::Matched,
                                    Ok(_) => TraceOutcome::NotMatched,
                                    Err(e) => TraceOutcome::Error {
                                        message: e.to_string(),
                                    },
                                }
                            }
                        }
                    };
                    if outcome == TraceOutcome::Matched {
                        decided[slot(rule.category)] = Some(rule);
                    }
                    let values = match (&outcome, compiled) {
                        (TraceOutcome::Skipped, _) | (_, Err(_)) => Vec::new(),
                        (_, Ok(c)) => c
                            .variables
                            .iter()
                            .map(|p| {
                                (
                                    p.clone(),
                                    lookup(context, p).cloned().unwrap_or(Value::Null),
                                )
                            })
                            .collect(),
                    };
                    trace.push(TraceEntry {
                        rule_id: rule.id,
                        rule: rule.name.clone(),
                        version: rule.version,
                        category: rule.category,
                        priority: rule.priority,
                        explanation: String::new(),
                        outcome,
                        values,
                    });
                }
                match decided.into_iter().flatten().next() {
                    Some(rule) => Decision {
                        action: rule.action.clone(),
                        rule: Some(rule.name.clone()),
                        trace,
                    },
                    None => Decision {
                        action: RuleAction::Review {
                            reason: NO_RULE_MATCHED.into(),
                        },
                        rule: None,
                        trace,
                    },
                }
            };
            ARENA.with(|cell| match cell.try_borrow_mut() {
                Ok(mut arena) => {
                    let decision = run(&arena);
                    arena.reset();
                    decision
                }
                Err(_) => run(&Bump::new()),
            })
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
pub(crate) mod tests;
