//! The words of stored activities' texts, numbered once per process. A write or dry run in a
//! crowded country weighs the texts of thousands of candidates: gathering their words and
//! weighting each by number, rather than hashing every word of every text, takes a fraction
//! of the time, and ranking the words met in word order keeps every sum in the order the
//! recomputation and [`TextVector::new`] use, so the cosines are the same to the last bit.

use aidgraph_domain::overlap::TextVector;
use aidgraph_domain::overlap::text::idf;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// Words numbered in the order first met. A number is never reused or changed. Only the words
/// of stored activities are numbered: a dry run's own words are not, so callers' texts do not
/// grow it.
#[derive(Debug, Default)]
pub struct WordNumbers {
    inner: RwLock<Words>,
}

#[derive(Debug, Default)]
struct Words {
    numbers: HashMap<Arc<str>, u32>,
    words: Vec<Arc<str>>,
}

impl WordNumbers {
    /// The numbers of the words of `terms`, in their order, numbering those not met before.
    pub fn number(&self, terms: &[(String, u32)]) -> Vec<u32> {
        {
            let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            let known: Option<Vec<u32>> = terms
                .iter()
                .map(|(t, _)| inner.numbers.get(t.as_str()).copied())
                .collect();
            if let Some(known) = known {
                return known;
            }
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let Words { numbers, words } = &mut *inner;
        terms
            .iter()
            .map(|(t, _)| {
                if let Some(n) = numbers.get(t.as_str()) {
                    return *n;
                }
                // Four billion distinct words would not fit in memory first.
                let n = u32::try_from(words.len()).unwrap_or(u32::MAX);
                let word: Arc<str> = Arc::from(t.as_str());
                words.push(word.clone());
                numbers.insert(word, n);
                n
            })
            .collect()
    }

    /// The words of an activity (`own`, numbered or not) and of its candidates (`others`, as
    /// numbered by [`WordNumbers::number`]), ranked in word order.
    pub fn space<'a>(
        &self,
        own: &[(String, u32)],
        others: impl IntoIterator<Item = &'a [u32]>,
    ) -> TextSpace {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut rank = vec![UNRANKED; inner.words.len()];
        let mut met: Vec<(Arc<str>, Option<u32>)> = Vec::new();
        let mut meet = |n: u32, rank: &mut Vec<u32>| {
            if let Some(slot) = rank.get_mut(n as usize)
                && *slot == UNRANKED
            {
                *slot = 0;
                met.push((inner.words[n as usize].clone(), Some(n)));
            }
        };
        for numbers in others {
            for &n in numbers {
                meet(n, &mut rank);
            }
        }
        let mut unnumbered = Vec::new();
        for (t, _) in own {
            match inner.numbers.get(t.as_str()) {
                Some(&n) => meet(n, &mut rank),
                None => unnumbered.push((Arc::<str>::from(t.as_str()), None)),
            }
        }
        drop(inner);
        met.extend(unnumbered);
        met.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (k, (_, n)) in met.iter().enumerate() {
            if let Some(n) = n {
                rank[*n as usize] = u32::try_from(k).unwrap_or(UNRANKED);
            }
        }
        TextSpace {
            rank,
            words: met.into_iter().map(|(w, _)| w).collect(),
            idf: Vec::new(),
        }
    }
}

const UNRANKED: u32 = u32::MAX;

/// The words of one activity and its candidates in word order, and once
/// [`TextSpace::weigh`] has read the corpus, the inverse document frequency of each.
#[derive(Debug)]
pub struct TextSpace {
    /// Each vocabulary number's rank, [`UNRANKED`] for words not in this space.
    rank: Vec<u32>,
    /// The words by rank.
    words: Vec<Arc<str>>,
    /// The inverse document frequencies by rank.
    idf: Vec<f64>,
}

impl TextSpace {
    /// The words, in word order.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(|w| &**w)
    }

    /// Reads the inverse document frequencies off a corpus of `n` documents with the document
    /// frequencies `df` (a word missing from it is in no document).
    pub fn weigh(&mut self, n: u64, df: &HashMap<String, u64>) {
        self.idf = self
            .words
            .iter()
            .map(|w| idf(n, df.get(&**w).copied().unwrap_or(0)))
            .collect();
    }

    /// The vector of the activity's own terms, which may not be numbered.
    pub fn own_vector(&self, terms: &[(String, u32)]) -> TextVector<u32> {
        debug_assert_eq!(self.idf.len(), self.words.len(), "weighed before use");
        TextVector::weighted(terms.iter().filter_map(|(t, c)| {
            let k = self.words.binary_search_by(|w| (**w).cmp(t)).ok()?;
            Some((u32::try_from(k).ok()?, *c, *self.idf.get(k)?))
        }))
    }

    /// The vector of a candidate's terms, `numbers` being their numbers in the same order.
    pub fn vector(&self, terms: &[(String, u32)], numbers: &[u32]) -> TextVector<u32> {
        debug_assert_eq!(self.idf.len(), self.words.len(), "weighed before use");
        TextVector::weighted(terms.iter().zip(numbers).filter_map(|((_, c), n)| {
            let k = *self.rank.get(*n as usize)?;
            Some((k, *c, *self.idf.get(k as usize)?))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::WordNumbers;
    use aidgraph_domain::overlap::TextVector;
    use aidgraph_domain::overlap::text::term_counts;
    use std::collections::HashMap;

    #[test]
    fn numbered_vectors_weigh_and_compare_as_word_vectors_do() {
        let vocabulary = WordNumbers::default();
        // Numbered in an order that is not word order.
        let texts = [
            term_counts("witness protection training zeal"),
            term_counts("anti money laundering training for prosecutors"),
            term_counts("prosecutors and judges on witness protection"),
        ];
        let numbers: Vec<Vec<u32>> = texts.iter().map(|t| vocabulary.number(t)).collect();
        assert_eq!(vocabulary.number(&texts[0]), numbers[0], "numbers are kept");
        // The activity's own words include one never numbered.
        let own = term_counts("training of prosecutors on witness protection abroad");
        let mut space = vocabulary.space(&own, numbers.iter().map(Vec::as_slice));
        let df: HashMap<String, u64> = [("training", 2), ("prosecutors", 2), ("witness", 2)]
            .into_iter()
            .map(|(w, n)| (w.to_owned(), n))
            .collect();
        space.weigh(4, &df);
        let by_word =
            |t: &[(String, u32)]| TextVector::new(t, 4, |w| df.get(w).copied().unwrap_or(0));
        let own_vector = space.own_vector(&own);
        for (text, numbers) in texts.iter().zip(&numbers) {
            let numbered = space.vector(text, numbers);
            assert_eq!(
                numbered.cosine(&own_vector).to_bits(),
                by_word(text).cosine(&by_word(&own)).to_bits()
            );
        }
        assert!(space.words().any(|w| w == "abroad"));
        assert!(space.words().collect::<Vec<_>>().is_sorted());
    }
}
