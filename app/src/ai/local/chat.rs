//! The local chat model: SmolLM2-135M-Instruct from its GGUF file, run by candle's quantized
//! llama on one dedicated thread behind a bounded queue.
//!
//! The GGUF file carries everything besides the weights: the byte-level BPE vocabulary and
//! merges, the special tokens and the chat template (Jinja), so nothing else is read.
use super::tokenizer::tokenizer_from_gguf;
use super::{check_file, Unavailable};
use candle_core::{
    quantized::{gguf_file, GgmlDType, QTensor},
    Device, Tensor,
};
use candle_transformers::{
    generation::{LogitsProcessor, Sampling},
    models::quantized_llama::{self, ModelWeights},
};
use std::{
    collections::VecDeque,
    path::Path,
    sync::{Arc, Condvar, Mutex},
    time::Instant,
};
use tokenizers::Tokenizer;
use tokio::sync::{mpsc, watch};

/// Tokens fed to the model per forward pass while reading the prompt. Bounds the attention
/// scratch memory and lets a cancelled request stop between chunks.
const PREFILL_CHUNK: usize = 256;
/// Penalise tokens seen in the last this-many positions; small models loop without it.
const REPEAT_WINDOW: usize = 64;
const REPEAT_PENALTY: f32 = 1.1;

#[derive(Debug, Clone)]
pub struct ChatInfo {
    pub display_name: String,
    /// Prompt plus new tokens may not exceed this.
    pub context_window: usize,
    pub load_ms: u64,
}

/// What a generation reports, in order: `Started` once the model takes the job, tokens as
/// text, then `Done` or `Failed`.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalEvent {
    Started,
    /// The prompt is read in chunks; sent after each, so callers see progress before the
    /// first token of a long prompt.
    Reading {
        read: usize,
        total: usize,
    },
    Text(String),
    Done {
        prompt_tokens: u32,
        completion_tokens: u32,
    },
    Failed(String),
}

struct Job {
    ticket: u64,
    prompt: Vec<u32>,
    max_tokens: usize,
    temperature: f64,
    seed: u64,
    events: mpsc::Sender<LocalEvent>,
}

struct Pending {
    jobs: VecDeque<Job>,
    next_ticket: u64,
    closed: bool,
}

struct Queue {
    pending: Mutex<Pending>,
    ready: Condvar,
    /// How many jobs have finished (or were skipped because their caller left). Job `t` runs
    /// once this reaches `t`; `t - finished` is its place in the line.
    finished: watch::Sender<u64>,
    capacity: usize,
    /// Generations stopped because their caller went away.
    cancelled: std::sync::atomic::AtomicU64,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A queued generation.
pub struct Submission {
    pub ticket: u64,
    pub events: mpsc::Receiver<LocalEvent>,
    pub finished: watch::Receiver<u64>,
}

impl Submission {
    /// Requests that must finish before this one starts.
    pub fn ahead(&self) -> u64 {
        self.ticket.saturating_sub(*self.finished.borrow())
    }
}

pub struct LocalChat {
    pub info: ChatInfo,
    tokenizer: Tokenizer,
    template: minijinja::Environment<'static>,
    /// Control tokens' text, removed from message content so data cannot forge turns.
    specials: Vec<String>,
    bos: String,
    eos: String,
    queue: Arc<Queue>,
}

impl Drop for LocalChat {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.ready.notify_all();
    }
}

fn meta<'a>(
    content: &'a gguf_file::Content,
    key: &str,
) -> Result<&'a gguf_file::Value, Unavailable> {
    content
        .metadata
        .get(key)
        .ok_or_else(|| Unavailable::new(format!("the model file has no {key} metadata")))
}

fn bad(path: &Path) -> impl Fn(candle_core::Error) -> Unavailable + '_ {
    move |e| {
        Unavailable::new(format!(
            "{} is not a usable GGUF model: {e}",
            path.display()
        ))
    }
}

impl LocalChat {
    pub fn load(path: &Path, queue_capacity: usize) -> Result<LocalChat, Unavailable> {
        let started = Instant::now();
        check_file(path)?;
        let mut file = std::fs::File::open(path)
            .map_err(|e| Unavailable::new(format!("cannot open {}: {e}", path.display())))?;
        let content = gguf_file::Content::read(&mut file).map_err(bad(path))?;
        let arch = meta(&content, "general.architecture")?
            .to_string()
            .map_err(bad(path))?
            .clone();
        if arch != "llama" {
            return Err(Unavailable::new(format!(
                "{} holds a {arch} model; the local provider runs llama models",
                path.display()
            )));
        }
        let trained = meta(&content, "llama.context_length")?
            .to_u32()
            .map_err(bad(path))? as usize;
        let name = content
            .metadata
            .get("general.basename")
            .and_then(|v| v.to_string().ok())
            .map(|b| {
                format!(
                    "{b} {}",
                    content
                        .metadata
                        .get("general.size_label")
                        .and_then(|v| v.to_string().ok())
                        .map_or("", |s| s)
                )
            })
            .unwrap_or_else(|| "local model".to_owned());
        let (tokenizer, specials, stop) = tokenizer_from_gguf(&content)
            .map_err(|why| Unavailable::new(format!("{}: {why}", path.display())))?;
        let template_src = meta(&content, "tokenizer.chat_template")?
            .to_string()
            .map_err(bad(path))?
            .clone();
        let mut template = minijinja::Environment::new();
        template.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        template.add_function(
            "raise_exception",
            |msg: String| -> Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    msg,
                ))
            },
        );
        template
            .add_template_owned("chat", template_src)
            .map_err(|e| {
                Unavailable::new(format!(
                    "{}: the chat template does not parse: {e}",
                    path.display()
                ))
            })?;
        let token_text = |key: &str| -> String {
            content
                .metadata
                .get(key)
                .and_then(|v| v.to_u32().ok())
                .and_then(|id| tokenizer.id_to_token(id))
                .unwrap_or_default()
        };
        let bos = token_text("tokenizer.ggml.bos_token_id");
        let eos = token_text("tokenizer.ggml.eos_token_id");
        let (content, mut fast) = requantize_for_cpu(content, &mut file).map_err(bad(path))?;
        let weights =
            ModelWeights::from_gguf(content, &mut fast, &Device::Cpu).map_err(bad(path))?;
        let context_window = trained.min(quantized_llama::MAX_SEQ_LEN);
        let queue = Arc::new(Queue {
            pending: Mutex::new(Pending {
                jobs: VecDeque::new(),
                next_ticket: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            finished: watch::channel(0).0,
            capacity: queue_capacity.max(1),
            cancelled: Default::default(),
        });
        let worker = Worker {
            weights,
            tokenizer: tokenizer.clone(),
            stop,
            queue: Arc::clone(&queue),
        };
        std::thread::Builder::new()
            .name("local-llm".into())
            .spawn(move || worker.run())
            .map_err(|e| Unavailable::new(format!("cannot start the inference thread: {e}")))?;
        Ok(LocalChat {
            info: ChatInfo {
                display_name: name.trim().to_owned(),
                context_window,
                load_ms: started.elapsed().as_millis() as u64,
            },
            tokenizer,
            template,
            specials,
            bos,
            eos,
            queue,
        })
    }

    /// The prompt's tokens: system and user messages through the model's own chat template,
    /// ending where the assistant's answer begins.
    pub fn prompt_tokens(&self, system: &str, user: &str) -> Result<Vec<u32>, String> {
        let clean = |text: &str| {
            let mut out = text.to_owned();
            for special in &self.specials {
                out = out.replace(special.as_str(), "");
            }
            out
        };
        let messages = [
            minijinja::context! { role => "system", content => clean(system) },
            minijinja::context! { role => "user", content => clean(user) },
        ];
        let text = self
            .template
            .get_template("chat")
            .and_then(|t| {
                t.render(minijinja::context! {
                    messages => messages, add_generation_prompt => true, bos_token => &self.bos, eos_token => &self.eos
                })
            })
            .map_err(|e| format!("the model's chat template failed: {e}"))?;
        let encoding = self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| format!("cannot tokenize the prompt: {e}"))?;
        Ok(encoding.get_ids().to_vec())
    }

    pub fn count_tokens(&self, text: &str) -> Result<usize, String> {
        self.tokenizer
            .encode_fast(text, false)
            .map(|e| e.len())
            .map_err(|e| format!("cannot tokenize: {e}"))
    }

    /// Refuses a prompt that, with the requested answer length, does not fit the window.
    pub fn check_window(&self, prompt_tokens: usize, max_tokens: usize) -> Result<(), String> {
        let window = self.info.context_window;
        if prompt_tokens + max_tokens > window {
            return Err(format!(
                "the prompt is {prompt_tokens} tokens; with up to {max_tokens} new tokens it exceeds the {window}-token context window of {}. Shorten the prompt or configure a remote model",
                self.info.display_name
            ));
        }
        Ok(())
    }

    /// Queues a generation. Refused when the queue is full or the prompt does not fit. Dropping
    /// the submission's receiver cancels it, queued or running.
    pub fn submit(
        &self,
        prompt: Vec<u32>,
        max_tokens: usize,
        temperature: f64,
        seed: u64,
    ) -> Result<Submission, String> {
        self.check_window(prompt.len(), max_tokens)?;
        let (events_tx, events) = mpsc::channel(256);
        let mut pending = self.queue.lock();
        if pending.closed {
            return Err("the local model has shut down".into());
        }
        if pending.jobs.len() >= self.queue.capacity {
            return Err(format!(
                "the local model is busy: {} requests are already waiting; try again shortly",
                pending.jobs.len()
            ));
        }
        let ticket = pending.next_ticket;
        pending.next_ticket += 1;
        pending.jobs.push_back(Job {
            ticket,
            prompt,
            max_tokens,
            temperature,
            seed,
            events: events_tx,
        });
        drop(pending);
        self.queue.ready.notify_one();
        Ok(Submission {
            ticket,
            events,
            finished: self.queue.finished.subscribe(),
        })
    }

    /// Generations stopped early because their caller went away.
    pub fn cancelled(&self) -> u64 {
        self.queue
            .cancelled
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Requests waiting for the model, not counting the one it is running.
    pub fn queued(&self) -> usize {
        self.queue.lock().jobs.len()
    }
}

/// Weight formats candle multiplies with SIMD on x86 (AVX2, and AVX512-VNNI repacking): the
/// others, Q4_1 among them, fall back to scalar code that reads a 500-token prompt at ~40
/// tokens/s. Tensors in a slow format are converted to Q8_0 once, at load, in memory: 8 bits
/// hold every 4-bit value exactly up to the per-block scale's rounding.
fn requantize_for_cpu(
    content: gguf_file::Content,
    file: &mut std::fs::File,
) -> candle_core::Result<(gguf_file::Content, std::io::Cursor<Vec<u8>>)> {
    let fast = |d: GgmlDType| {
        matches!(
            d,
            GgmlDType::F32
                | GgmlDType::F16
                | GgmlDType::Q4_0
                | GgmlDType::Q8_0
                | GgmlDType::Q4K
                | GgmlDType::Q6K
        )
    };
    let device = Device::Cpu;
    let mut tensors: Vec<(String, QTensor)> = Vec::with_capacity(content.tensor_infos.len());
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    for name in names {
        let tensor = content.tensor(file, name, &device)?;
        let tensor =
            if fast(tensor.dtype()) || tensor.shape().dims().last().is_none_or(|d| d % 32 != 0) {
                tensor
            } else {
                QTensor::quantize(&tensor.dequantize(&device)?, GgmlDType::Q8_0)?
            };
        tensors.push((name.clone(), tensor));
    }
    let metadata: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut out, &metadata, &refs)?;
    out.set_position(0);
    let converted = gguf_file::Content::read(&mut out)?;
    Ok((converted, out))
}

struct Worker {
    weights: ModelWeights,
    tokenizer: Tokenizer,
    stop: Vec<u32>,
    queue: Arc<Queue>,
}

enum Ended {
    Done {
        prompt_tokens: u32,
        completion_tokens: u32,
    },
    Cancelled,
}

impl Worker {
    fn run(mut self) {
        loop {
            let job = {
                let mut pending = self.queue.lock();
                loop {
                    if pending.closed {
                        return;
                    }
                    if let Some(job) = pending.jobs.pop_front() {
                        break job;
                    }
                    pending = self
                        .queue
                        .ready
                        .wait(pending)
                        .unwrap_or_else(|p| p.into_inner());
                }
            };
            let ticket = job.ticket;
            // A caller that left while queued is skipped without touching the model.
            if !job.events.is_closed() && job.events.blocking_send(LocalEvent::Started).is_ok() {
                let started = Instant::now();
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.generate(&job)));
                let event = match outcome {
                    Ok(Ok(Ended::Done {
                        prompt_tokens,
                        completion_tokens,
                    })) => {
                        tracing::debug!(
                            prompt_tokens,
                            completion_tokens,
                            ms = started.elapsed().as_millis() as u64,
                            "local generation done"
                        );
                        Some(LocalEvent::Done {
                            prompt_tokens,
                            completion_tokens,
                        })
                    }
                    Ok(Ok(Ended::Cancelled)) => {
                        self.queue
                            .cancelled
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tracing::info!(ticket, "local generation cancelled: the caller went away");
                        None
                    }
                    Ok(Err(e)) => Some(LocalEvent::Failed(format!("the local model failed: {e}"))),
                    Err(_) => Some(LocalEvent::Failed(
                        "the local model failed: the inference thread panicked".into(),
                    )),
                };
                if let Some(event) = event {
                    let _ = job.events.blocking_send(event);
                }
            }
            self.queue.finished.send_replace(ticket + 1);
        }
    }

    fn generate(&mut self, job: &Job) -> candle_core::Result<Ended> {
        let device = Device::Cpu;
        let mut logits = None;
        for (i, chunk) in job.prompt.chunks(PREFILL_CHUNK).enumerate() {
            if job.events.is_closed() {
                return Ok(Ended::Cancelled);
            }
            let input = Tensor::new(chunk, &device)?.unsqueeze(0)?;
            logits = Some(self.weights.forward(&input, i * PREFILL_CHUNK)?);
            let read = i * PREFILL_CHUNK + chunk.len();
            if read < job.prompt.len() {
                let _ = job.events.blocking_send(LocalEvent::Reading {
                    read,
                    total: job.prompt.len(),
                });
            }
        }
        let Some(mut logits) = logits else {
            candle_core::bail!("the prompt is empty")
        };
        let sampling = if job.temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            Sampling::TopP {
                p: 0.9,
                temperature: job.temperature,
            }
        };
        let mut sampler = LogitsProcessor::from_sampling(job.seed, sampling);
        let mut generated: Vec<u32> = Vec::with_capacity(job.max_tokens);
        let mut history: Vec<u32> = job
            .prompt
            .iter()
            .rev()
            .take(REPEAT_WINDOW)
            .rev()
            .copied()
            .collect();
        let mut emitted = 0usize;
        while generated.len() < job.max_tokens {
            let last = logits.squeeze(0)?;
            let start = history.len().saturating_sub(REPEAT_WINDOW);
            let last = candle_transformers::utils::apply_repeat_penalty(
                &last,
                REPEAT_PENALTY,
                &history[start..],
            )?;
            let next = sampler.sample(&last)?;
            if self.stop.contains(&next) {
                break;
            }
            generated.push(next);
            history.push(next);
            // Byte-level tokens can split a character; wait until the text decodes whole.
            let text = self
                .tokenizer
                .decode(&generated, true)
                .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
            if text.len() > emitted && !text.ends_with('\u{FFFD}') {
                if let Some(piece) = text.get(emitted..) {
                    if job
                        .events
                        .blocking_send(LocalEvent::Text(piece.to_owned()))
                        .is_err()
                    {
                        return Ok(Ended::Cancelled);
                    }
                }
                emitted = text.len();
            } else if job.events.is_closed() {
                return Ok(Ended::Cancelled);
            }
            let input = Tensor::new(&[next], &device)?.unsqueeze(0)?;
            logits = self
                .weights
                .forward(&input, job.prompt.len() + generated.len() - 1)?;
        }
        Ok(Ended::Done {
            prompt_tokens: job.prompt.len() as u32,
            completion_tokens: generated.len() as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::local::test_models_dir;
    use std::time::Duration;

    fn model() -> LocalChat {
        let path = test_models_dir().join(crate::ai::local::CHAT_FILE);
        LocalChat::load(&path, 4).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Collects a whole generation: (chunks, done event).
    async fn collect(mut sub: Submission) -> (Vec<String>, LocalEvent) {
        let mut chunks = Vec::new();
        while let Some(event) = sub.events.recv().await {
            match event {
                LocalEvent::Started | LocalEvent::Reading { .. } => {}
                LocalEvent::Text(t) => chunks.push(t),
                other => return (chunks, other),
            }
        }
        panic!("the generation ended without Done or Failed");
    }

    #[test]
    fn the_tokenizer_from_the_gguf_round_trips_text_and_keeps_control_tokens_whole() {
        let chat = model();
        for text in [
            "Hello world",
            "Café Zürich — 20% off, 12345 units!",
            "  two  spaces\nnew line\ttab",
            "🚀 emoji",
        ] {
            let ids = chat
                .tokenizer
                .encode_fast(text, false)
                .expect("encodes")
                .get_ids()
                .to_vec();
            assert_eq!(chat.tokenizer.decode(&ids, false).expect("decodes"), text);
        }
        // Digits are split one by one, as the model was trained.
        assert_eq!(chat.count_tokens("2026").expect("counts"), 4);
        let prompt = chat
            .prompt_tokens("Be brief.", "Hi <|im_end|> there")
            .expect("renders");
        let im_start = chat
            .tokenizer
            .token_to_id("<|im_start|>")
            .expect("control token");
        let im_end = chat
            .tokenizer
            .token_to_id("<|im_end|>")
            .expect("control token");
        assert_eq!(prompt[0], im_start);
        // The user's literal <|im_end|> was removed: only the template's own turns remain.
        assert_eq!(prompt.iter().filter(|&&t| t == im_end).count(), 2);
        let text = chat.tokenizer.decode(&prompt, false).expect("decodes");
        assert!(text.ends_with("<|im_start|>assistant\n"), "{text:?}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_short_prompt_streams_real_text_in_several_chunks_within_the_budget() {
        let chat = model();
        let prompt = chat
            .prompt_tokens(
                "You are a helpful assistant.",
                "What is the capital of France?",
            )
            .expect("prompt");
        let sub = chat.submit(prompt, 24, 0.0, 1).expect("queued");
        let (chunks, done) = tokio::time::timeout(Duration::from_secs(120), collect(sub))
            .await
            .expect("finishes");
        let LocalEvent::Done {
            prompt_tokens,
            completion_tokens,
        } = done
        else {
            panic!("{done:?}")
        };
        let text = chunks.concat();
        assert!(chunks.len() >= 3, "{chunks:?}");
        assert!((1..=24).contains(&completion_tokens), "{completion_tokens}");
        assert!(prompt_tokens > 10);
        assert!(text.contains("Paris"), "{text:?}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_long_prompt_reports_its_reading_progress_before_the_first_token() {
        let chat = model();
        let notes = "Dana asked about enterprise pricing and the onboarding timeline. ".repeat(60);
        let prompt = chat
            .prompt_tokens("Summarise in one line.", &notes)
            .expect("prompt");
        let total = prompt.len();
        assert!(total > 2 * PREFILL_CHUNK, "{total}");
        let mut sub = chat.submit(prompt, 1, 0.0, 1).expect("queued");
        let mut reads = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(120), sub.events.recv())
                .await
                .expect("progresses")
            {
                Some(LocalEvent::Started) => {}
                Some(LocalEvent::Reading { read, total: t }) => {
                    assert_eq!(t, total);
                    reads.push(read);
                }
                Some(LocalEvent::Text(_) | LocalEvent::Done { .. }) => break,
                other => panic!("{other:?}"),
            }
        }
        let expected: Vec<usize> = (1..)
            .map(|i| i * PREFILL_CHUNK)
            .take_while(|&r| r < total)
            .collect();
        assert_eq!(reads, expected);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_caller_that_goes_away_stops_its_generation_and_the_queue_moves_on() {
        let chat = model();
        let prompt = chat
            .prompt_tokens(
                "You are a storyteller.",
                "Tell me a very long story about a lighthouse.",
            )
            .expect("prompt");
        let mut first = chat.submit(prompt.clone(), 400, 0.7, 7).expect("queued");
        let second = chat.submit(prompt, 2, 0.0, 1).expect("queued");
        assert_eq!(
            second.ahead(),
            1,
            "the second request waits behind the first"
        );
        let mut texts = 0;
        while texts < 2 {
            match tokio::time::timeout(Duration::from_secs(60), first.events.recv())
                .await
                .expect("streams")
            {
                Some(LocalEvent::Text(_)) => texts += 1,
                Some(LocalEvent::Started | LocalEvent::Reading { .. }) => {}
                other => panic!("{other:?}"),
            }
        }
        let ticket = first.ticket;
        let mut finished = first.finished.clone();
        drop(first);
        tokio::time::timeout(Duration::from_secs(30), finished.wait_for(|f| *f > ticket))
            .await
            .expect("stops")
            .expect("open");
        assert_eq!(chat.cancelled(), 1);
        let (_, done) = tokio::time::timeout(Duration::from_secs(60), collect(second))
            .await
            .expect("runs next");
        assert!(
            matches!(
                done,
                LocalEvent::Done {
                    completion_tokens: 1..=2,
                    ..
                }
            ),
            "{done:?}"
        );
    }

    #[test]
    fn a_prompt_over_the_context_window_is_refused_with_the_reason() {
        let chat = model();
        let long = "account review notes ".repeat(2000);
        let prompt = chat.prompt_tokens("Summarise.", &long).expect("prompt");
        let err = chat.submit(prompt, 256, 0.0, 1).err().expect("refused");
        assert!(
            err.contains("exceeds the 4096-token context window of smollm2 135M"),
            "{err}"
        );
        assert_eq!(chat.queued(), 0);
    }

    #[test]
    fn a_full_queue_refuses_more_work_as_busy() {
        let path = test_models_dir().join(crate::ai::local::CHAT_FILE);
        let chat = LocalChat::load(&path, 1).expect("loads");
        let prompt = chat
            .prompt_tokens("s", "Write a long essay.")
            .expect("prompt");
        // The worker takes one job; the next fills the queue; the one after is refused.
        let mut subs = Vec::new();
        let mut refused = None;
        for _ in 0..4 {
            match chat.submit(prompt.clone(), 300, 0.0, 1) {
                Ok(s) => subs.push(s),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let err = refused.expect("a full queue refuses");
        assert!(err.starts_with("the local model is busy"), "{err}");
    }

    #[test]
    fn a_truncated_model_file_is_unavailable_not_a_panic() {
        let src = test_models_dir().join(crate::ai::local::CHAT_FILE);
        let bytes = std::fs::read(&src).expect("model present");
        let path =
            std::env::temp_dir().join(format!("smartcrm-truncated-{}.gguf", uuid::Uuid::new_v4()));
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
        let err = LocalChat::load(&path, 1).err().expect("refused");
        let _ = std::fs::remove_file(&path);
        assert!(err.why.contains("not a usable GGUF model"), "{err}");
    }
}
