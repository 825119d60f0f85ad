//! The local embedding model: all-MiniLM-L6-v2 (BERT) from safetensors, with mean pooling over
//! the real tokens and L2 normalisation, as sentence-transformers computes it.
use super::{check_file, Unavailable, EMBEDDING_DIMS};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::{path::Path, time::Instant};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// sentence-transformers' `max_seq_length` for this model: longer texts are truncated.
pub const MAX_TOKENS: usize = 256;
/// Texts per forward pass.
pub const BATCH: usize = 32;

pub struct LocalEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    pub load_ms: u64,
}

/// The vectors of one call, in input order, and the tokens they cost.
#[derive(Debug, Clone)]
pub struct Vectors {
    pub vectors: Vec<Vec<f32>>,
    pub tokens: usize,
}

impl LocalEmbedder {
    pub fn load(dir: &Path) -> Result<LocalEmbedder, Unavailable> {
        let started = Instant::now();
        let (config_path, tokenizer_path, weights_path) = (
            dir.join("config.json"),
            dir.join("tokenizer.json"),
            dir.join("model.safetensors"),
        );
        for path in [&config_path, &tokenizer_path, &weights_path] {
            check_file(path)?;
        }
        let config: Config = std::fs::read_to_string(&config_path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
            .map_err(|e| {
                Unavailable::new(format!(
                    "{} is not a BERT config: {e}",
                    config_path.display()
                ))
            })?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| {
            Unavailable::new(format!(
                "{} is not a tokenizer: {e}",
                tokenizer_path.display()
            ))
        })?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| Unavailable::new(format!("tokenizer: {e}")))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        // safetensors checks every tensor's header and bounds while loading.
        let tensors = candle_core::safetensors::load(&weights_path, &Device::Cpu).map_err(|e| {
            Unavailable::new(format!(
                "{} is not a usable safetensors file: {e}",
                weights_path.display()
            ))
        })?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let model = BertModel::load(vb, &config).map_err(|e| {
            Unavailable::new(format!(
                "{} does not hold this BERT model: {e}",
                weights_path.display()
            ))
        })?;
        let embedder = LocalEmbedder {
            model,
            tokenizer,
            load_ms: 0,
        };
        // One real pass proves the weights fit the config before anyone relies on them.
        let probe = embedder
            .embed(&["ready"])
            .map_err(|e| Unavailable::new(format!("the embedding model does not run: {e}")))?;
        if probe.vectors.first().map(Vec::len) != Some(EMBEDDING_DIMS) {
            return Err(Unavailable::new(format!(
                "the embedding model does not make {EMBEDDING_DIMS}-dimensional vectors"
            )));
        }
        Ok(LocalEmbedder {
            load_ms: started.elapsed().as_millis() as u64,
            ..embedder
        })
    }

    pub fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer
            .encode_fast(text, true)
            .map(|e| e.len())
            .unwrap_or(0)
    }

    /// Embeds texts in batches of similar length (less padding), returning them in input order.
    pub fn embed<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vectors, String> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        // Longest first, as sentence-transformers does, so each batch pads little.
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].as_ref().len()));
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        let mut tokens = 0usize;
        for batch in order.chunks(BATCH) {
            let inputs: Vec<&str> = batch.iter().map(|&i| texts[i].as_ref()).collect();
            let (vectors, used) = self.embed_batch(&inputs).map_err(|e| e.to_string())?;
            tokens += used;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(Vectors {
            vectors: out,
            tokens,
        })
    }

    fn embed_batch(&self, texts: &[&str]) -> candle_core::Result<(Vec<Vec<f32>>, usize)> {
        let encodings = self
            .tokenizer
            .encode_batch_fast(texts.to_vec(), true)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let rows = encodings.len();
        let cols = encodings.first().map_or(0, |e| e.len());
        let mut ids = Vec::with_capacity(rows * cols);
        let mut mask = Vec::with_capacity(rows * cols);
        let mut used = 0usize;
        for e in &encodings {
            ids.extend_from_slice(e.get_ids());
            mask.extend_from_slice(e.get_attention_mask());
            used += e.get_attention_mask().iter().filter(|&&m| m == 1).count();
        }
        let device = &self.model.device;
        let ids = Tensor::from_vec(ids, (rows, cols), device)?;
        let mask = Tensor::from_vec(mask, (rows, cols), device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        // Mean over real tokens only, then unit length.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        let unit = mean.broadcast_div(&norms)?;
        Ok((unit.to_vec2::<f32>()?, used))
    }
}

/// Cosine similarity of two vectors of the same length.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::local::test_models_dir;

    #[derive(serde::Deserialize)]
    struct Reference {
        sentences: Vec<String>,
        vectors: Vec<Vec<f32>>,
    }

    fn model() -> LocalEmbedder {
        LocalEmbedder::load(&test_models_dir().join(crate::ai::local::EMBEDDING_DIR))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The reference vectors were computed by Python sentence-transformers
    /// (scripts/embedding-reference.py) for the same model files.
    #[test]
    fn embeddings_match_sentence_transformers() {
        let reference: Reference =
            serde_json::from_str(include_str!("../../../tests/data/minilm_reference.json"))
                .expect("reference data");
        let embedder = model();
        let ours = embedder.embed(&reference.sentences).expect("embeds");
        assert_eq!(ours.vectors.len(), reference.vectors.len());
        for ((sentence, mine), theirs) in reference
            .sentences
            .iter()
            .zip(&ours.vectors)
            .zip(&reference.vectors)
        {
            assert_eq!(mine.len(), EMBEDDING_DIMS);
            let similarity = cosine(mine, theirs);
            assert!(similarity >= 0.99, "cosine {similarity} for {sentence:?}");
            let norm: f32 = mine.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
        }
    }

    #[test]
    fn results_come_back_in_input_order_whatever_the_batching() {
        let embedder = model();
        let texts: Vec<String> = (0..70)
            .map(|i| format!("note {i}: {}", "follow up ".repeat(i % 9)))
            .collect();
        let all = embedder.embed(&texts).expect("embeds");
        for i in [0usize, 33, 69] {
            let alone = embedder.embed(&[texts[i].as_str()]).expect("embeds");
            assert!(
                cosine(&all.vectors[i], &alone.vectors[0]) > 0.9999,
                "text {i}"
            );
        }
        assert!(all.tokens > 70 * 3);
        assert!(embedder
            .embed::<&str>(&[])
            .expect("nothing to do")
            .vectors
            .is_empty());
    }
}
