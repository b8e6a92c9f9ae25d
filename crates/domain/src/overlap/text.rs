//! Text similarity: TF-IDF cosine over the registry's own corpus (DESIGN.md §4).
//!
//! Tokens are lower-cased, accent-folded words with English, French and Spanish stop words
//! removed. Term weights are raw counts times the smoothed IDF `ln((1 + N) / (1 + df)) + 1`;
//! vectors are L2-normalised, so the cosine is their dot product.

use std::collections::BTreeMap;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

const STOP_WORDS: &[&str] = &[
    // English
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
    "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
    "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few",
    "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more",
    "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other",
    "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
    "yours", // French (accent-folded)
    "au", "aux", "avec", "ce", "ces", "cet", "cette", "dans", "de", "des", "du", "elle", "elles",
    "en", "est", "et", "etre", "eux", "il", "ils", "je", "la", "le", "les", "leur", "leurs", "lui",
    "ma", "mais", "meme", "mes", "moi", "mon", "ne", "nos", "notre", "nous", "ou", "par", "pas",
    "pour", "qu", "que", "qui", "sa", "se", "ses", "son", "sont", "sur", "ta", "te", "tes", "toi",
    "ton", "tu", "un", "une", "vos", "votre", "vous", "l", "d", "j", "c", "n", "s", "y", "ainsi",
    "afin", "entre", "selon", "sous", "vers", // Spanish (accent-folded)
    "al", "como", "con", "del", "el", "ella", "ellas", "ellos", "entre", "es", "esta", "estas",
    "este", "esto", "estos", "fue", "ha", "hay", "las", "lo", "los", "mas", "mi", "muy", "nos",
    "para", "pero", "por", "se", "si", "sin", "sobre", "su", "sus", "tambien", "te", "tu", "uno",
    "unos", "una", "unas", "ya", "yo", "e", "o", "u",
];

/// Whether `word` (lower-case, accent-folded) is a stop word.
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word)
}

/// Lower-cases and strips accents: `Élaboración` → `elaboracion`.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The term counts of a text, stop words removed, sorted by term.
pub fn term_counts(text: &str) -> Vec<(String, u32)> {
    let folded = fold(text);
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for word in folded.split(|c: char| !c.is_alphanumeric()) {
        if !word.is_empty() && !is_stop_word(word) {
            *counts.entry(word).or_default() += 1;
        }
    }
    counts.into_iter().map(|(w, n)| (w.to_owned(), n)).collect()
}

/// Smoothed inverse document frequency of a term found in `df` of `n` documents.
pub fn idf(n: u64, df: u64) -> f64 {
    ((1.0 + n as f64) / (1.0 + df as f64)).ln() + 1.0
}

/// An L2-normalised TF-IDF vector, sorted by term. Its terms are words, or numbers given to
/// words in word order (see [`TextVector::numbered`]), which compare faster and give the
/// same cosines.
#[derive(Debug, Clone, PartialEq)]
pub struct TextVector<K = String>(Vec<(K, f64)>);

impl<K> Default for TextVector<K> {
    fn default() -> Self {
        TextVector(Vec::new())
    }
}

impl<K> TextVector<K> {
    /// Weights each term, given as its key, its count in the text and its inverse document
    /// frequency, in the order the vector is to be kept (by key). Empty when there is no term.
    /// [`TextVector::new`] is this over words, so vectors keyed by numbers that keep word
    /// order have the same weights to the last bit.
    pub fn weighted(terms: impl IntoIterator<Item = (K, u32, f64)>) -> Self {
        let mut weights: Vec<(K, f64)> = terms
            .into_iter()
            .map(|(t, c, idf)| (t, f64::from(c) * idf))
            .collect();
        let norm = weights.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
        if norm > 0.0 {
            for (_, w) in &mut weights {
                *w /= norm;
            }
        } else {
            weights.clear();
        }
        TextVector(weights)
    }
}

impl TextVector {
    /// Weights `counts` with IDF over a corpus of `n` documents, `df` giving each term's
    /// document frequency. Empty when there is no term.
    pub fn new(counts: &[(String, u32)], n: u64, df: impl Fn(&str) -> u64) -> Self {
        Self::weighted(counts.iter().map(|(t, c)| (t.clone(), *c, idf(n, df(t)))))
    }

    /// The same vector with each word replaced by its number; `number` must keep word order
    /// (`a < b` exactly when `number(a) < number(b)`), so sums run in the same order.
    pub fn numbered(&self, number: impl Fn(&str) -> u32) -> TextVector<u32> {
        TextVector(self.0.iter().map(|(t, w)| (number(t), *w)).collect())
    }
}

impl<K: Ord> TextVector<K> {
    /// Whether no term is left.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Cosine similarity with another vector, in [0, 1].
    pub fn cosine(&self, other: &TextVector<K>) -> f64 {
        let (mut i, mut j, mut dot) = (0, 0, 0.0);
        while i < self.0.len() && j < other.0.len() {
            match self.0[i].0.cmp(&other.0[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += self.0[i].1 * other.0[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        dot.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_drops_stop_words_in_three_languages() {
        let terms: Vec<String> = term_counts("Élaboración de la loi sur la traite, and the LAW")
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(terms, vec!["elaboracion", "law", "loi", "traite"]);
    }

    #[test]
    fn identical_texts_have_cosine_one_and_disjoint_zero() {
        let a = term_counts("training prosecutors mutual legal assistance");
        let b = term_counts("police equipment");
        let va = TextVector::new(&a, 10, |_| 1);
        let vb = TextVector::new(&b, 10, |_| 1);
        assert!((va.cosine(&va) - 1.0).abs() < 1e-9);
        assert_eq!(va.cosine(&vb), 0.0);
        assert!(TextVector::new(&term_counts("the and of"), 10, |_| 1).is_empty());
    }

    #[test]
    fn numbered_vectors_give_the_same_cosines() {
        let a = TextVector::new(
            &term_counts("training prosecutors mutual assistance"),
            10,
            |_| 2,
        );
        let b = TextVector::new(
            &term_counts("training judges on mutual assistance"),
            10,
            |_| 3,
        );
        let mut words: Vec<&str> =
            vec!["assistance", "judges", "mutual", "prosecutors", "training"];
        words.sort_unstable();
        let number = |t: &str| words.binary_search(&t).map_or(u32::MAX, |i| i as u32);
        let (na, nb) = (a.numbered(number), b.numbered(number));
        assert_eq!(na.cosine(&nb), a.cosine(&b));
        assert!(a.cosine(&b) > 0.0);
    }

    #[test]
    fn rare_terms_weigh_more() {
        assert!(idf(100, 1) > idf(100, 50));
        assert!((idf(0, 0) - 1.0).abs() < 1e-12);
    }
}
