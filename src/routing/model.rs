//! The classifier (智能分派模型), pure: features of a text (jieba words and character bigrams),
//! multinomial naive Bayes over categories with a fitted temperature, and the unit that most often
//! handled a category near a grid.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

/// jieba's built-in dictionary takes a moment to load: one per process, shared.
static JIEBA: LazyLock<jieba_rs::Jieba> = LazyLock::new(jieba_rs::Jieba::new);

/// The longest text looked at (characters): a report is a few sentences.
pub const MAX_CHARS: usize = 2000;

/// Laplace smoothing of the word counts.
const ALPHA: f64 = 0.5;

/// Temperatures tried when fitting: NB's raw posteriors are far too sure of themselves.
const TEMPERATURES: [f64; 12] = [1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 24.0];

fn keep(c: char) -> bool {
    c.is_alphanumeric()
}

/// NFKC (full-width letters and digits become ASCII), lower case, at most [`MAX_CHARS`].
pub fn normalise(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).take(MAX_CHARS).collect()
}

/// The features of a text: jieba words (`w:`) and bigrams of the characters in each run of
/// letters and digits (`b:`); digits count as one symbol, so "3号楼" and "12号楼" share theirs.
pub fn features(text: &str) -> Vec<String> {
    let text = normalise(text);
    let mut out = Vec::new();
    for tok in JIEBA.cut(&text, true) {
        let w = tok.word;
        if w.chars().any(keep) && !w.chars().all(|c| c.is_ascii_digit()) {
            out.push(format!("w:{w}"));
        }
    }
    let mut prev: Option<char> = None;
    for c in text.chars() {
        let c = if c.is_ascii_digit() { '0' } else { c };
        if keep(c) {
            if let Some(p) = prev {
                out.push(format!("b:{p}{c}"));
            }
            prev = Some(c);
        } else {
            prev = None;
        }
    }
    out
}

/// One training example.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub category: String,
    /// The grid the case was in (building code), for the unit's statistics.
    pub grid: String,
    /// The unit that handled it, if any (self-handled cases have none).
    pub unit: Option<Uuid>,
}

/// The unit most often given a category under a grid prefix, and its share there.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct UnitPick {
    pub unit: Uuid,
    pub share: f64,
    pub cases: u32,
}

/// What is stored: counts (so a model reads back exactly), the fitted temperature, the units.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub labels: Vec<String>,
    /// Training documents per label.
    pub docs: Vec<u32>,
    pub vocab: Vec<String>,
    /// Per label: (feature index, count).
    pub counts: Vec<Vec<(u32, u32)>>,
    pub temperature: f64,
    /// `category|grid prefix` (compound, community, or "" for the district) → the unit.
    pub units: BTreeMap<String, UnitPick>,
    /// Grid code lengths tried for the unit, longest first (compound, community).
    pub prefixes: Vec<usize>,
    pub examples: u32,
}

/// A model made ready to score: log probabilities per (feature, label).
pub struct Classifier {
    pub model: Model,
    index: HashMap<String, u32>,
    log_prior: Vec<f64>,
    /// `log P(feature | label)`, feature-major.
    log_like: Vec<f64>,
}

/// One suggestion: a category, the unit for it near the grid, and their confidences.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub category: String,
    /// P(category | text), calibrated by the temperature.
    pub category_confidence: f64,
    pub unit: Option<Uuid>,
    /// P(category) × the unit's share of that category there: the chance both are right.
    pub confidence: f64,
}

/// Units need this many closed cases under a prefix before the prefix speaks for itself.
const MIN_UNIT_CASES: u32 = 3;

fn counts_of(
    examples: &[&Example],
    labels: &[String],
    index: &mut HashMap<String, u32>,
    vocab: &mut Vec<String>,
) -> Vec<HashMap<u32, u32>> {
    let mut counts = vec![HashMap::new(); labels.len()];
    for e in examples {
        let Ok(l) = labels.binary_search(&e.category) else { continue };
        for f in features(&e.text) {
            let next = vocab.len() as u32;
            let i = *index.entry(f.clone()).or_insert_with(|| {
                vocab.push(f);
                next
            });
            *counts[l].entry(i).or_insert(0) += 1;
        }
    }
    counts
}

fn sorted(c: HashMap<u32, u32>) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = c.into_iter().collect();
    v.sort_unstable();
    v
}

/// Train on `examples`. The temperature is fitted on a tenth of them (every tenth) held out of a
/// first pass, then every example is counted. `prefixes`: grid code lengths for the unit statistics.
pub fn train(examples: &[Example], prefixes: &[usize]) -> Model {
    let mut labels: Vec<String> = examples.iter().map(|e| e.category.clone()).collect();
    labels.sort();
    labels.dedup();
    let mut docs = vec![0u32; labels.len()];
    for e in examples {
        if let Ok(l) = labels.binary_search(&e.category) {
            docs[l] += 1;
        }
    }
    let fit: Vec<&Example> = examples.iter().enumerate().filter(|(i, _)| i % 10 != 9).map(|(_, e)| e).collect();
    let check: Vec<&Example> = examples.iter().enumerate().filter(|(i, _)| i % 10 == 9).map(|(_, e)| e).collect();
    let mut index = HashMap::new();
    let mut vocab = Vec::new();
    let mut counts = counts_of(&fit, &labels, &mut index, &mut vocab);
    let mut temperature = 1.0;
    if check.len() >= 10 {
        let mut fit_docs = vec![0u32; labels.len()];
        for e in &fit {
            if let Ok(l) = labels.binary_search(&e.category) {
                fit_docs[l] += 1;
            }
        }
        let partial = Classifier::new(Model {
            labels: labels.clone(),
            docs: fit_docs,
            vocab: vocab.clone(),
            counts: counts.iter().cloned().map(sorted).collect(),
            temperature: 1.0,
            units: BTreeMap::new(),
            prefixes: vec![],
            examples: fit.len() as u32,
        });
        let scored: Vec<(Vec<f64>, usize)> = check
            .iter()
            .filter_map(|e| Some((partial.log_joint(&e.text), labels.binary_search(&e.category).ok()?)))
            .collect();
        let loss = |t: f64| -> f64 {
            scored
                .iter()
                .map(|(lj, right)| -softmax(lj, t)[*right].max(1e-12).ln())
                .sum::<f64>()
        };
        temperature = TEMPERATURES.into_iter().min_by(|a, b| loss(*a).total_cmp(&loss(*b))).unwrap_or(1.0);
    }
    let rest = counts_of(&check, &labels, &mut index, &mut vocab);
    for (l, c) in rest.into_iter().enumerate() {
        for (i, n) in c {
            *counts[l].entry(i).or_insert(0) += n;
        }
    }
    Model {
        labels,
        docs,
        vocab,
        counts: counts.into_iter().map(sorted).collect(),
        temperature,
        units: unit_picks(examples, prefixes),
        prefixes: prefixes.to_vec(),
        examples: examples.len() as u32,
    }
}

/// For each category and grid prefix (each of `prefixes`, and the whole district), the unit
/// that most often handled it.
pub fn unit_picks(examples: &[Example], prefixes: &[usize]) -> BTreeMap<String, UnitPick> {
    let mut tally: HashMap<String, HashMap<Uuid, u32>> = HashMap::new();
    for e in examples {
        let Some(u) = e.unit else { continue };
        let mut keys = vec![format!("{}|", e.category)];
        for &n in prefixes {
            if let Some(p) = e.grid.get(..n) {
                keys.push(format!("{}|{p}", e.category));
            }
        }
        for k in keys {
            *tally.entry(k).or_default().entry(u).or_insert(0) += 1;
        }
    }
    tally
        .into_iter()
        .filter_map(|(k, units)| {
            let total: u32 = units.values().sum();
            // Most cases; the smaller id on a tie, so training twice gives one answer.
            let (unit, n) = units.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
            (total >= MIN_UNIT_CASES || k.ends_with('|')).then(|| {
                (
                    k,
                    UnitPick {
                        unit,
                        share: f64::from(n) / f64::from(total),
                        cases: total,
                    },
                )
            })
        })
        .collect()
}

/// Softmax of `scores / t`.
pub fn softmax(scores: &[f64], t: f64) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = scores.iter().map(|s| ((s - max) / t).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

impl Classifier {
    pub fn new(model: Model) -> Classifier {
        let (v, l) = (model.vocab.len(), model.labels.len());
        let index: HashMap<String, u32> = model.vocab.iter().enumerate().map(|(i, f)| (f.clone(), i as u32)).collect();
        let total_docs: f64 = model.docs.iter().map(|d| f64::from(*d)).sum::<f64>().max(1.0);
        let log_prior = model
            .docs
            .iter()
            .map(|d| ((f64::from(*d) + 1.0) / (total_docs + l as f64)).ln())
            .collect();
        let mut log_like = vec![0.0; v * l];
        for (li, c) in model.counts.iter().enumerate() {
            let total: f64 = c.iter().map(|x| f64::from(x.1)).sum();
            let denom = (total + ALPHA * (v as f64 + 1.0)).ln();
            let unseen = ALPHA.ln() - denom;
            for fi in 0..v {
                log_like[fi * l + li] = unseen;
            }
            for &(fi, n) in c {
                if let Some(x) = log_like.get_mut(fi as usize * l + li) {
                    *x = (f64::from(n) + ALPHA).ln() - denom;
                }
            }
        }
        Classifier {
            model,
            index,
            log_prior,
            log_like,
        }
    }

    /// `log P(label) + Σ log P(feature | label)` over the text's known features.
    fn log_joint(&self, text: &str) -> Vec<f64> {
        let l = self.model.labels.len();
        let mut s = self.log_prior.clone();
        for f in features(text) {
            if let Some(&fi) = self.index.get(&f) {
                for (li, x) in s.iter_mut().enumerate() {
                    *x += self.log_like[fi as usize * l + li];
                }
            }
        }
        s
    }

    /// P(category | text) for every category, best first.
    pub fn categories(&self, text: &str) -> Vec<(String, f64)> {
        if self.model.labels.is_empty() {
            return Vec::new();
        }
        let p = softmax(&self.log_joint(text), self.model.temperature);
        let mut out: Vec<(String, f64)> = self.model.labels.iter().cloned().zip(p).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The unit for `category` in grid `grid`: the nearest prefix with enough cases.
    pub fn unit_for(&self, category: &str, grid: &str) -> Option<UnitPick> {
        for &n in &self.model.prefixes {
            if let Some(p) = grid.get(..n)
                && let Some(u) = self.model.units.get(&format!("{category}|{p}"))
            {
                return Some(*u);
            }
        }
        self.model.units.get(&format!("{category}|")).copied()
    }

    /// The best `k` suggestions, best first: confidences within 0..=1, summing to at most 1.
    /// `allowed` drops categories no longer offered (inactive).
    pub fn suggest(&self, text: &str, grid: &str, k: usize, allowed: impl Fn(&str) -> bool) -> Vec<Suggestion> {
        let mut out: Vec<Suggestion> = self
            .categories(text)
            .into_iter()
            .filter(|(c, _)| allowed(c))
            .take(k)
            .map(|(category, p)| {
                let pick = self.unit_for(&category, grid);
                Suggestion {
                    confidence: p * pick.map_or(1.0, |u| u.share),
                    unit: pick.map(|u| u.unit),
                    category_confidence: p,
                    category,
                }
            })
            .collect();
        out.sort_by(|a, b| b.category_confidence.total_cmp(&a.category_confidence));
        out
    }
}

/// Top-1 and top-3 hits over a test set.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Accuracy {
    pub n: u32,
    pub top1: u32,
    pub top3: u32,
}

impl Accuracy {
    pub fn add(&mut self, ranked: &[bool]) {
        self.n += 1;
        if ranked.first().copied().unwrap_or(false) {
            self.top1 += 1;
        }
        if ranked.iter().take(3).any(|x| *x) {
            self.top3 += 1;
        }
    }
    pub fn rate(n: u32, of: u32) -> f64 {
        if of == 0 { 0.0 } else { f64::from(n) / f64::from(of) }
    }
    pub fn line(&self, what: &str) -> String {
        format!(
            "{what}: top-1 {:.1}%, top-3 {:.1}% (n = {})",
            100.0 * Self::rate(self.top1, self.n),
            100.0 * Self::rate(self.top3, self.n),
            self.n
        )
    }
}

/// Category and unit accuracy of `c` on `test` (unit only where the case had one).
pub fn evaluate(c: &Classifier, test: &[Example]) -> (Accuracy, Accuracy) {
    let (mut cat, mut unit) = (Accuracy::default(), Accuracy::default());
    for e in test {
        let s = c.suggest(&e.text, &e.grid, 3, |_| true);
        cat.add(&s.iter().map(|x| x.category == e.category).collect::<Vec<_>>());
        if e.unit.is_some() {
            unit.add(&s.iter().map(|x| x.category == e.category && x.unit == e.unit).collect::<Vec<_>>());
        }
    }
    (cat, unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ex(text: &str, category: &str, grid: &str, unit: Option<u128>) -> Example {
        Example {
            text: text.into(),
            category: category.into(),
            grid: grid.into(),
            unit: unit.map(Uuid::from_u128),
        }
    }

    fn tiny() -> Vec<Example> {
        let mut v = Vec::new();
        for i in 0..12 {
            let g = if i % 2 == 0 { "411602001001001" } else { "411602002001001" };
            v.push(ex(&format!("{i}号楼下垃圾桶满了没人清运，臭得很"), "SQ01", g, Some(1)));
            v.push(ex(&format!("楼道里有人拉飞线给电动车充电，第{i}次了"), "SQ03", g, Some(2)));
            v.push(ex(
                &format!("路灯不亮，{i}号路口晚上黑乎乎的"),
                "BJ01",
                g,
                Some(if i % 2 == 0 { 3 } else { 4 }),
            ));
        }
        v
    }

    #[test]
    fn a_tiny_training_set_gives_the_right_label_and_unit() {
        let c = Classifier::new(train(&tiny(), &[12]));
        let s = c.suggest("我家楼下的垃圾桶好几天没人收了", "411602001001009", 3, |_| true);
        assert_eq!(s[0].category, "SQ01");
        assert_eq!(s[0].unit, Some(Uuid::from_u128(1)));
        let s = c.suggest("有户人家从窗户拉电线下来充电瓶车", "411602001001009", 3, |_| true);
        assert_eq!(s[0].category, "SQ03");
        // The unit that handles lights differs by community.
        let a = c.suggest("路灯坏了不亮", "411602001001009", 1, |_| true);
        let b = c.suggest("路灯坏了不亮", "411602002001009", 1, |_| true);
        assert_eq!((a[0].unit, b[0].unit), (Some(Uuid::from_u128(3)), Some(Uuid::from_u128(4))));
        // An unknown grid falls back to the district's most frequent unit.
        assert!(c.unit_for("BJ01", "999").is_some());
    }

    #[test]
    fn suggestions_are_sorted_bounded_and_drop_what_is_not_allowed() {
        let c = Classifier::new(train(&tiny(), &[12]));
        let s = c.suggest("垃圾 充电", "", 3, |_| true);
        assert_eq!(s.len(), 3);
        assert!(s.windows(2).all(|w| w[0].category_confidence >= w[1].category_confidence));
        let sum: f64 = s.iter().map(|x| x.category_confidence).sum();
        assert!(sum <= 1.0 + 1e-9, "{sum}");
        assert!(
            s.iter()
                .all(|x| (0.0..=1.0).contains(&x.confidence) && x.confidence <= x.category_confidence + 1e-12)
        );
        let s = c.suggest("垃圾桶满了", "", 3, |c| c != "SQ01");
        assert!(s.iter().all(|x| x.category != "SQ01") && s.len() == 2);
    }

    #[test]
    fn the_model_reads_back_as_it_was_stored() {
        let m = train(&tiny(), &[12, 15]);
        let back: Model = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        let (a, b) = (Classifier::new(m), Classifier::new(back));
        assert_eq!(
            a.suggest("路灯不亮", "411602001001", 3, |_| true),
            b.suggest("路灯不亮", "411602001001", 3, |_| true)
        );
    }

    #[test]
    fn full_width_text_reads_as_half_width() {
        assert_eq!(normalise("３号楼ＡＢ"), "3号楼ab");
        assert!(features("３号楼").contains(&"b:0号".to_string()));
        assert!(features("").is_empty());
    }

    #[test]
    fn accuracy_counts_top_one_and_top_three() {
        let mut a = Accuracy::default();
        a.add(&[true, false]);
        a.add(&[false, false, true]);
        a.add(&[false, false, false, true]);
        assert_eq!((a.n, a.top1, a.top3), (3, 1, 2));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_text_gives_bounded_confidences(text in "\\PC{0,80}") {
            static C: LazyLock<Classifier> = LazyLock::new(|| Classifier::new(train(&tiny(), &[12])));
            let s = C.suggest(&text, "411602001001001", 3, |_| true);
            let sum: f64 = s.iter().map(|x| x.category_confidence).sum();
            prop_assert!(sum <= 1.0 + 1e-9);
            prop_assert!(s.iter().all(|x| x.confidence.is_finite() && (0.0..=1.0).contains(&x.confidence)));
        }
    }
}
