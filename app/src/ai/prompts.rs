//! The prompt store and the one renderer every prompt goes through.
//!
//! Prompts live in `ai_prompts`, one immutable row per version; `ai_prompt_labels` says which
//! version serves (a workspace's own label before the built-in one). Templates
//! fill `{{placeholder}}`s with minijinja; a placeholder the caller does not supply, or a
//! template that does not parse, is an error that says so, so a broken template is caught
//! instead of sent.
use crate::ssr::tenancy::Tx;
use minijinja::{Environment, UndefinedBehavior};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub name: String,
    pub version: i32,
    pub system_prompt: String,
    pub template: String,
    pub ai_model: String,
    pub max_tokens: i32,
    pub temperature: f32,
}

/// The prompt called `name` that serves: the version the workspace's `production` label points
/// at, else the one the built-in label points at.
#[tracing::instrument(skip_all, fields(%name))]
pub async fn active(
    tx: &mut Tx,
    tenant_id: Uuid,
    name: &str,
) -> Result<Option<Prompt>, sqlx::Error> {
    sqlx::query_as!(
        Prompt,
        "select p.name, p.version, p.system_prompt, p.template, p.ai_model, p.max_tokens, p.temperature
         from ai_prompt_labels l
         join ai_prompts p on p.id = l.prompt_id
         where l.name = $2 and l.label = 'production' and (l.tenant_id = $1 or l.tenant_id is null)
         order by l.tenant_id nulls last
         limit 1",
        tenant_id,
        name
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The placeholders a template uses, sorted, or why it does not parse.
pub fn placeholders(template: &str) -> Result<Vec<String>, String> {
    let env = Environment::new();
    let tmpl = env.template_from_str(template).map_err(|e| {
        format!(
            "the template does not parse: {}",
            e.detail().unwrap_or("syntax error")
        )
    })?;
    let mut names: Vec<String> = tmpl.undeclared_variables(false).into_iter().collect();
    names.sort();
    Ok(names)
}

/// Fills `{{ name }}` placeholders from `values`. Values are inserted as they are (no escaping,
/// no further template syntax inside them). An unknown placeholder is an error that lists the
/// known ones; so is a template that does not parse.
pub fn render(template: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    let tmpl = env.template_from_str(template).map_err(|e| {
        format!(
            "the template does not parse: {}",
            e.detail().unwrap_or("syntax error")
        )
    })?;
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !values.iter().any(|(n, _)| n == name))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        let mut known: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
        known.sort_unstable();
        return Err(format!(
            "unknown placeholder {}; use one of {}",
            unknown
                .iter()
                .map(|u| format!("{{{{{u}}}}}"))
                .collect::<Vec<_>>()
                .join(", "),
            known.join(", ")
        ));
    }
    let ctx: std::collections::BTreeMap<&str, &str> = values.iter().copied().collect();
    tmpl.render(ctx).map_err(|e| {
        format!(
            "the template could not be filled: {}",
            e.detail().unwrap_or("render error")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_named() {
        assert_eq!(
            render("Hi {{ name }}!", &[("name", "Sam")]).expect("renders"),
            "Hi Sam!"
        );
        let err = render("{{nope}}", &[("name", "Sam")]).expect_err("unknown");
        assert_eq!(err, "unknown placeholder {{nope}}; use one of name");
    }

    #[test]
    fn an_unclosed_placeholder_is_refused() {
        assert!(render("{{name", &[("name", "Sam")]).is_err());
    }

    #[test]
    fn values_are_inserted_as_they_are() {
        let out = render("<p>{{a}}</p>\n", &[("a", "{{b}} & <i>")]).expect("renders");
        assert_eq!(out, "<p>{{b}} & <i></p>\n");
    }
}
