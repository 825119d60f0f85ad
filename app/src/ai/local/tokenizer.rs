//! The chat model's tokenizer, built from the GGUF file's own metadata: the byte-level BPE
//! vocabulary and merges, digits split one by one, and the control tokens.
use candle_core::quantized::gguf_file;
use tokenizers::{
    models::bpe::{Vocab, BPE},
    pre_tokenizers::{byte_level::ByteLevel, digits::Digits, sequence::Sequence},
    AddedToken, Tokenizer,
};

/// Builds a byte-level BPE tokenizer from `tokenizer.ggml.*` metadata, as the model's own
/// `tokenizer.json` would: GPT-2 style, with digits split one by one (`tokenizer.ggml.pre` =
/// `smollm`, and the same for most llama-architecture GPT-2 vocabularies).
pub(super) fn tokenizer_from_gguf(
    content: &gguf_file::Content,
) -> Result<(Tokenizer, Vec<String>, Vec<u32>), String> {
    let get = |key: &str| {
        content
            .metadata
            .get(key)
            .ok_or_else(|| format!("no {key} metadata"))
    };
    let kind = get("tokenizer.ggml.model")?
        .to_string()
        .map_err(|e| e.to_string())?;
    if kind != "gpt2" {
        return Err(format!(
            "tokenizer type {kind:?} is not supported (byte-level BPE, \"gpt2\", is)"
        ));
    }
    let tokens: Vec<String> = get("tokenizer.ggml.tokens")?
        .to_vec()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|v| v.to_string().cloned())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad token list: {e}"))?;
    let merges: Vec<(String, String)> = get("tokenizer.ggml.merges")?
        .to_vec()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|v| {
            let m = v.to_string().map_err(|e| e.to_string())?;
            m.split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| format!("bad merge {m:?}"))
        })
        .collect::<Result<_, _>>()?;
    let types: Vec<i32> = match content.metadata.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()
            .map_err(|e| e.to_string())?
            .iter()
            .map(|t| t.to_i32().unwrap_or(1))
            .collect(),
        None => vec![1; tokens.len()],
    };
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| format!("bad vocabulary: {e}"))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevel::new(false, true, true)));
    // Type 3 is a control token (<|im_start|>, <|im_end|>, <|endoftext|>…).
    let specials: Vec<String> = tokens
        .iter()
        .zip(types.iter().chain(std::iter::repeat(&1)))
        .filter(|(_, t)| **t == 3)
        .map(|(s, _)| s.clone())
        .collect();
    tokenizer.add_special_tokens(
        &specials
            .iter()
            .map(|s| AddedToken::from(s.clone(), true))
            .collect::<Vec<_>>(),
    );
    let mut stop: Vec<u32> = specials
        .iter()
        .filter_map(|s| tokenizer.token_to_id(s))
        .collect();
    if let Some(eos) = content
        .metadata
        .get("tokenizer.ggml.eos_token_id")
        .and_then(|v| v.to_u32().ok())
    {
        stop.push(eos);
    }
    Ok((tokenizer, specials, stop))
}
