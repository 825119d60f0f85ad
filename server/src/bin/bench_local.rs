//! `smartcrm-bench-local`: speed of the built-in local models on this machine. Run through
//! `scripts/bench-local-ai.sh`, which also measures Python sentence-transformers on the same
//! sentences for comparison.
//!
//! - chat: time to first token and generation speed for a ~500-token prompt and 128 new tokens;
//! - embeddings: sentences per second in batches of 32.
//!
//! Usage: `smartcrm-bench-local <models dir> <sentences.json to write>`
use app::ai::local::{
    chat::{LocalChat, LocalEvent},
    embed::LocalEmbedder,
    CHAT_FILE, EMBEDDING_DIR,
};
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Deterministic CRM-like sentences of varied length (5 to ~60 words).
fn sentences(n: usize) -> Vec<String> {
    let subjects = [
        "Dana from Acme",
        "The operations team",
        "Our champion at Globex",
        "The CFO",
        "A new lead",
        "The buyer",
    ];
    let verbs = [
        "asked about",
        "pushed back on",
        "wants a demo of",
        "is excited about",
        "needs approval for",
        "compared us on",
    ];
    let objects = [
        "the annual plan",
        "enterprise pricing",
        "the onboarding timeline",
        "data residency in the EU",
        "the API limits",
        "support hours",
    ];
    let tails = [
        "before the end of the quarter",
        "and mentioned a competitor offering a discount",
        "after the last product update landed badly with their support staff, who now want weekly check-ins",
        "because the renewal date moved up by a month and procurement needs three quotes, a security review and references from two customers in the same industry",
        "",
    ];
    (0..n)
        .map(|i| {
            let mut s = format!(
                "{} {} {} {}",
                subjects[i % subjects.len()],
                verbs[(i / 3) % verbs.len()],
                objects[(i / 7) % objects.len()],
                tails[(i / 2) % tails.len()]
            );
            if i % 11 == 0 {
                s.push_str(" Follow up with a short summary, the pricing sheet and two time slots for a call next week.");
            }
            format!("{}.", s.trim_end())
        })
        .collect()
}

fn bench_chat(models: &Path) -> Result<(), Error> {
    let chat = LocalChat::load(&models.join(CHAT_FILE), 4).map_err(|e| e.to_string())?;
    let system =
        "You are an AI relationship manager for a B2B sales team. Be specific and practical.";
    let mut user = String::from("Contact: Dana Reyes, VP Operations at Acme Logistics (freight forwarding, 420 employees).\n");
    let notes = [
        "2026-10-02 email out: sent the Q4 pricing sheet; no reply.",
        "2026-10-09 call out (connected): discussed onboarding timeline and data residency in the EU.",
        "2026-10-15 meeting: demo for the operations team; they liked the routing dashboard.",
        "2026-10-21 email in: asked for enterprise pricing and a security questionnaire.",
        "2026-10-30 note: competitor offered 15% off; champion worried about budget approval.",
    ];
    let mut i = 0;
    loop {
        let trial = chat.prompt_tokens(system, &format!("{user}\nWrite a detailed engagement plan: next best action, three talking points, risks, and an opening email."))?;
        if trial.len() >= 500 {
            break;
        }
        user.push_str(notes[i % notes.len()]);
        user.push('\n');
        i += 1;
    }
    let prompt = chat.prompt_tokens(system, &format!("{user}\nWrite a detailed engagement plan: next best action, three talking points, risks, and an opening email."))?;
    let runs = 5;
    let (mut ttfts, mut decode_rates, mut prefill_rates, mut produced) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..=runs {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut sub = chat.submit(prompt.clone(), 128, 0.7, 42 + run as u64)?;
        let started = Instant::now();
        let (mut first, mut done) = (None, None);
        rt.block_on(async {
            while let Some(event) = sub.events.recv().await {
                match event {
                    LocalEvent::Text(_) if first.is_none() => first = Some(started.elapsed()),
                    LocalEvent::Done {
                        completion_tokens, ..
                    } => {
                        done = Some((started.elapsed(), completion_tokens));
                        break;
                    }
                    LocalEvent::Failed(e) => panic!("generation failed: {e}"),
                    _ => {}
                }
            }
        });
        let (Some(ttft), Some((total, tokens))) = (first, done) else {
            return Err("no answer".into());
        };
        if run == 0 {
            continue; // warm-up
        }
        ttfts.push(ttft.as_secs_f64() * 1000.0);
        prefill_rates.push(prompt.len() as f64 / ttft.as_secs_f64());
        decode_rates.push(
            f64::from(tokens.saturating_sub(1))
                / (total - ttft).max(Duration::from_micros(1)).as_secs_f64(),
        );
        produced.push(f64::from(tokens));
    }
    println!(
        "| local chat (SmolLM2-135M Q4_1), prompt {} tokens, up to 128 new, {runs} runs | median |",
        prompt.len()
    );
    println!("|---|---|");
    println!("| time to first token | {:.0} ms |", median(ttfts));
    println!("| prompt reading | {:.0} tokens/s |", median(prefill_rates));
    println!("| generation | {:.1} tokens/s |", median(decode_rates));
    println!("| tokens produced | {:.0} |", median(produced));
    Ok(())
}

fn bench_embed(models: &Path, out: &Path) -> Result<(), Error> {
    let embedder = LocalEmbedder::load(&models.join(EMBEDDING_DIR)).map_err(|e| e.to_string())?;
    let texts = sentences(1024);
    std::fs::write(out, serde_json::to_string(&texts)?)?;
    embedder.embed(&texts[..64])?; // warm-up
    let mut rates = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let v = embedder.embed(&texts)?;
        assert_eq!(v.vectors.len(), texts.len());
        rates.push(texts.len() as f64 / started.elapsed().as_secs_f64());
    }
    println!();
    println!(
        "| local embeddings (all-MiniLM-L6-v2), {} sentences, batch 32, 3 runs | median |",
        texts.len()
    );
    println!("|---|---|");
    println!(
        "| SmartCRM (candle) | {:.1} sentences/s |",
        median(rates.clone())
    );
    println!("RUST_SENTENCES_PER_SEC={:.3}", median(rates));
    Ok(())
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let models = PathBuf::from(args.next().unwrap_or_else(|| ".data/models".into()));
    let out = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "target/bench-sentences.json".into()),
    );
    // `ONLY=chat` or `ONLY=embed` runs one half (for profiling).
    let only = std::env::var("ONLY").unwrap_or_default();
    if only != "embed" {
        bench_chat(&models)?;
    }
    if only != "chat" {
        bench_embed(&models, &out)?;
    }
    Ok(())
}
