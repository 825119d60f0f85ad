//! Flesch reading ease and Flesch-Kincaid grade, counted the way Python `textstat` counts:
//!
//! - words: punctuation removed (apostrophes of contractions kept), then split on whitespace;
//! - sentences: runs matched by `\b[^.!?]+[.!?]*`, not counting those of two words or fewer;
//! - syllables: the first pronunciation in the CMU Pronouncing Dictionary (its stressed vowels),
//!   else Knuth-Liang hyphenation points + 1 (textstat uses pyphen for that fallback).
//!
//! `app/tests/data/readability_reference.json` holds textstat's numbers for the fixture texts;
//! a test keeps ours within 5 points of reading ease and 1 grade level of them (they differ
//! only where a word is missing from the dictionary and the hyphenation patterns differ).
use hyphenation::{Hyphenator, Language, Load, Standard};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::{collections::HashMap, path::Path, sync::LazyLock};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Readability {
    pub flesch_reading_ease: f64,
    pub flesch_kincaid_grade: f64,
    pub words: usize,
    pub sentences: usize,
    pub syllables: usize,
}

/// Syllable counts: the CMU dictionary when it is installed, hyphenation patterns for the rest.
pub struct Syllables {
    dictionary: Option<HashMap<Box<str>, u8>>,
    hyphenator: Standard,
}

impl Syllables {
    /// Reads `cmudict.dict` (lines `word PH ON ES`, variants as `word(2) ...`, comments after
    /// `#`). The first pronunciation of each word counts, as in textstat.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the CMU dictionary at {}: {e}", path.display()))?;
        let mut dictionary = HashMap::with_capacity(130_000);
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut parts = line.split_whitespace();
            let Some(word) = parts.next() else { continue };
            if word.ends_with(')') {
                continue; // an alternative pronunciation
            }
            let vowels = parts
                .filter(|p| p.ends_with(|c: char| c.is_ascii_digit()))
                .count();
            dictionary
                .entry(word.into())
                .or_insert(u8::try_from(vowels).unwrap_or(u8::MAX));
        }
        if dictionary.len() < 100_000 {
            return Err(format!(
                "the CMU dictionary at {} has only {} words; it looks truncated",
                path.display(),
                dictionary.len()
            ));
        }
        Ok(Self {
            dictionary: Some(dictionary),
            hyphenator: hyphenator()?,
        })
    }

    /// Hyphenation patterns alone: an estimate, used when the dictionary is not installed.
    pub fn without_dictionary() -> Result<Self, String> {
        Ok(Self {
            dictionary: None,
            hyphenator: hyphenator()?,
        })
    }

    pub fn has_dictionary(&self) -> bool {
        self.dictionary.is_some()
    }

    /// Syllables in one lower-case word.
    pub fn count(&self, word: &str) -> usize {
        if let Some(n) = self.dictionary.as_ref().and_then(|d| d.get(word)) {
            return usize::from(*n);
        }
        self.hyphenator.hyphenate(word).breaks.len() + 1
    }
}

fn hyphenator() -> Result<Standard, String> {
    Standard::from_embedded(Language::EnglishUS)
        .map_err(|e| format!("the built-in en-US hyphenation patterns did not load: {e}"))
}

/// textstat's `remove_punctuation(rm_apostrophe=False)`: drops apostrophes that do not start a
/// contraction ending (t, s, d, ve, ll, re), then everything but word characters, whitespace
/// and apostrophes.
fn remove_punctuation(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '\'' {
            let rest = &chars[i + 1..];
            let contraction = matches!(rest.first(), Some('t' | 's' | 'd'))
                || rest.starts_with(&['v', 'e'])
                || rest.starts_with(&['l', 'l'])
                || rest.starts_with(&['r', 'e']);
            if contraction {
                out.push(c);
            }
        } else if c.is_alphanumeric() || c == '_' || c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The words of `text` as textstat lists them.
pub fn words(text: &str) -> Vec<String> {
    remove_punctuation(text)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

pub fn word_count(text: &str) -> usize {
    remove_punctuation(text).split_whitespace().count()
}

static SENTENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[^.!?]+[.!?]*").expect("a constant, valid pattern"));

pub fn sentence_count(text: &str) -> usize {
    if text.is_empty() {
        return 0;
    }
    let (mut found, mut short) = (0usize, 0usize);
    for m in SENTENCE.find_iter(text) {
        found += 1;
        if word_count(m.as_str()) <= 2 {
            short += 1;
        }
    }
    found.saturating_sub(short).max(1)
}

pub fn readability(text: &str, syllables: &Syllables) -> Readability {
    let words = words(text);
    let sentences = sentence_count(text);
    let syllable_total: usize = words
        .iter()
        .map(|w| syllables.count(&w.to_lowercase()))
        .sum();
    let (n, s) = (words.len() as f64, sentences as f64);
    let (per_sentence, per_word) = if n == 0.0 || s == 0.0 {
        (0.0, 0.0)
    } else {
        (n / s, syllable_total as f64 / n)
    };
    let (ease, grade) = if per_sentence == 0.0 || per_word == 0.0 {
        (0.0, 0.0)
    } else {
        (
            206.835 - 1.015 * per_sentence - 84.6 * per_word,
            0.39 * per_sentence + 11.8 * per_word - 15.59,
        )
    };
    Readability {
        flesch_reading_ease: ease,
        flesch_kincaid_grade: grade,
        words: words.len(),
        sentences,
        syllables: syllable_total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dictionary() -> Syllables {
        let path = crate::ai::local::test_models_dir().join("cmudict/cmudict.dict");
        Syllables::load(&path)
            .unwrap_or_else(|e| panic!("{e} (scripts/fetch-models.sh installs it)"))
    }

    #[derive(Deserialize)]
    struct Reference {
        texts: Vec<Readability>,
    }

    #[test]
    fn scores_agree_with_textstat_on_the_fixture_texts() {
        let texts: Vec<String> =
            serde_json::from_str(include_str!("../../../tests/data/readability_texts.json"))
                .expect("texts");
        let reference: Reference = serde_json::from_str(include_str!(
            "../../../tests/data/readability_reference.json"
        ))
        .expect("reference");
        assert!(texts.len() >= 20 && texts.len() == reference.texts.len());
        let syllables = dictionary();
        let mut exact = 0;
        for (text, want) in texts.iter().zip(&reference.texts) {
            let got = readability(text, &syllables);
            assert_eq!(
                (got.words, got.sentences),
                (want.words, want.sentences),
                "{text}"
            );
            assert!(
                (got.flesch_reading_ease - want.flesch_reading_ease).abs() <= 5.0,
                "{text}: {got:?} vs {want:?}"
            );
            assert!(
                (got.flesch_kincaid_grade - want.flesch_kincaid_grade).abs() <= 1.0,
                "{text}: {got:?} vs {want:?}"
            );
            exact += usize::from(got.syllables == want.syllables);
        }
        // The same dictionary gives the same counts almost everywhere.
        assert!(
            exact + 2 >= texts.len(),
            "{exact} of {} texts have textstat's syllable count",
            texts.len()
        );
    }

    #[test]
    fn without_the_dictionary_the_estimate_stays_usable() {
        let texts: Vec<String> =
            serde_json::from_str(include_str!("../../../tests/data/readability_texts.json"))
                .expect("texts");
        let (exact, estimate) = (
            dictionary(),
            Syllables::without_dictionary().expect("patterns"),
        );
        assert!(!estimate.has_dictionary());
        let mean_gap: f64 = texts
            .iter()
            .map(|t| {
                (readability(t, &exact).flesch_reading_ease
                    - readability(t, &estimate).flesch_reading_ease)
                    .abs()
            })
            .sum::<f64>()
            / texts.len() as f64;
        // Hyphenation points undercount syllables ("idea" has none): about 15 points on these
        // texts, so scores made without the dictionary say so.
        assert!(mean_gap < 20.0, "{mean_gap}");
    }

    #[test]
    fn counting_follows_textstat_on_the_edge_cases() {
        // Sentences of two words or fewer are not counted; there is always at least one.
        assert_eq!(
            sentence_count("We fix leaks. We fix them fast. No surprises. Just call."),
            2
        );
        assert_eq!(sentence_count("Hi."), 1);
        assert_eq!(sentence_count(""), 0);
        // Apostrophes before t, s, d, ve, ll or re stay (textstat's rule, so "'soon" keeps one);
        // other quotes, dashes and hyphens go.
        assert_eq!(
            words("I'll check 'soon' — call-out fee!"),
            ["I'll", "check", "'soon", "callout", "fee"]
        );
        assert_eq!(
            readability("", &Syllables::without_dictionary().expect("patterns"))
                .flesch_reading_ease,
            0.0
        );
        let syllables = dictionary();
        assert_eq!(syllables.count("every"), 3);
        assert_eq!(syllables.count("idea"), 3);
        // Not in the dictionary: hyphenation points + 1.
        assert!(syllables.count("smartcrmish") >= 2);
    }

    #[test]
    fn a_truncated_dictionary_is_refused() {
        let dir = std::env::temp_dir().join(format!("cmudict-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("cmudict.dict");
        std::fs::write(&path, "a AH0\nabout AH0 B AW1 T\n").expect("write");
        let truncated = Syllables::load(&path).err();
        let missing = Syllables::load(&dir.join("missing")).err();
        let _ = std::fs::remove_dir_all(&dir);
        let err = truncated.expect("refused");
        assert!(err.contains("looks truncated"), "{err}");
        let err = missing.expect("refused");
        assert!(err.contains("cannot read the CMU dictionary"), "{err}");
    }
}
