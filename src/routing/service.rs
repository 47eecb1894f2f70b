//! Routing operations: train a district's model from its closed cases, suggest a category and a
//! unit for a text, the hook that files reports without a category, and the honest figures.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use uuid::Uuid;

use super::model::{self, Classifier, Example, Suggestion};
use super::store;
use crate::cases::categories;
use crate::cases::hooks::{Routed, Router};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::grid::rules;
use crate::registry::units;

/// The grid prefixes the unit statistics look at, nearest first: the compound, the community.
pub fn prefixes() -> Vec<usize> {
    vec![rules::code_len(4), rules::code_len(3)]
}

/// Each district's model, read once and kept while its `trained_at` stays the same.
#[derive(Default)]
pub struct Models {
    loaded: RwLock<HashMap<String, (i64, Arc<Classifier>)>>,
}

impl Models {
    /// The district's classifier, or none when no model is stored.
    pub async fn get(&self, db: &Db, district: &str) -> AppResult<Option<Arc<Classifier>>> {
        let Some((at, _)) = store::trained_at(db, district).await? else {
            return Ok(None);
        };
        if let Some((t, c)) = self.loaded.read().map_err(|_| AppError::internal())?.get(district)
            && *t == at
        {
            return Ok(Some(c.clone()));
        }
        let Some((at, json)) = store::model(db, district).await? else {
            return Ok(None);
        };
        let c = tokio::task::spawn_blocking(move || -> AppResult<Classifier> {
            let m: model::Model = serde_json::from_str(&json).map_err(|_| AppError::internal())?;
            Ok(Classifier::new(m))
        })
        .await
        .map_err(|_| AppError::internal())??;
        let c = Arc::new(c);
        self.loaded
            .write()
            .map_err(|_| AppError::internal())?
            .insert(district.to_string(), (at, c.clone()));
        Ok(Some(c))
    }
}

fn examples_of(rows: Vec<store::ClosedCase>) -> Vec<Example> {
    rows.into_iter()
        .map(|r| Example {
            text: r.description,
            category: r.category_code,
            grid: r.grid_code,
            unit: r.unit_id,
        })
        .collect()
}

/// What one training did.
#[derive(Debug, Clone)]
pub struct Trained {
    pub district: String,
    pub examples: usize,
    pub categories: usize,
    pub vocabulary: usize,
    pub temperature: f64,
    pub millis: u128,
}

/// Train the district's model on its closed cases and store it. None when it has no closed case.
pub async fn train(db: &Db, district: &str) -> AppResult<Option<Trained>> {
    let started = std::time::Instant::now();
    let rows = store::closed_cases(db, district, store::MAX_EXAMPLES).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let examples = examples_of(rows);
    let n = examples.len();
    let (m, json) = tokio::task::spawn_blocking(move || {
        let m = model::train(&examples, &prefixes());
        let json = serde_json::to_string(&m).unwrap_or_default();
        (m, json)
    })
    .await
    .map_err(|_| AppError::internal())?;
    store::save_model(db, district, n as i64, &json).await?;
    Ok(Some(Trained {
        district: district.to_string(),
        examples: n,
        categories: m.labels.len(),
        vocabulary: m.vocab.len(),
        temperature: m.temperature,
        millis: started.elapsed().as_millis(),
    }))
}

/// Train every district that has closed cases and no model yet (at the server's start).
pub async fn train_missing(db: &Db) -> AppResult<Vec<Trained>> {
    let mut out = Vec::new();
    for d in store::districts(db).await? {
        if store::trained_at(db, &d).await?.is_none()
            && let Some(t) = train(db, &d).await?
        {
            out.push(t);
        }
    }
    Ok(out)
}

/// One suggestion as the API and pages show it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub category: String,
    pub category_name: String,
    pub unit: Option<(Uuid, String)>,
    pub confidence: f64,
    pub category_confidence: f64,
}

/// The text's best three, named. Empty when the district has no model yet.
pub async fn suggest(models: &Models, db: &Db, district: &str, grid: &str, text: &str) -> AppResult<Vec<Shown>> {
    let Some(c) = models.get(db, district).await? else {
        return Ok(Vec::new());
    };
    let cats = categories::list(db, district).await?;
    let open: HashMap<&str, &str> = cats
        .iter()
        .filter(|c| c.is_leaf() && c.active)
        .map(|c| (c.code.as_str(), c.name.as_str()))
        .collect();
    let (text, grid) = (text.to_string(), grid.to_string());
    let allowed: Vec<String> = open.keys().map(|k| k.to_string()).collect();
    let found: Vec<Suggestion> = tokio::task::spawn_blocking(move || c.suggest(&text, &grid, 3, |x| allowed.iter().any(|a| a == x)))
        .await
        .map_err(|_| AppError::internal())?;
    let mut out = Vec::with_capacity(found.len());
    for s in found {
        let unit = match s.unit {
            Some(u) => units::get(db, u).await?.filter(|x| x.district == district).map(|x| (x.id, x.name)),
            None => None,
        };
        out.push(Shown {
            category_name: open.get(s.category.as_str()).map(|n| n.to_string()).unwrap_or_default(),
            category: s.category,
            confidence: if unit.is_some() { s.confidence } else { 0.0 },
            category_confidence: s.category_confidence,
            unit,
        });
    }
    Ok(out)
}

/// The case loop's router: files a report without a category by the best suggestion.
pub struct AutoRoute {
    pub models: Arc<Models>,
}

impl Router for AutoRoute {
    fn route<'a>(
        &'a self,
        db: &'a Db,
        district: &'a str,
        grid: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = AppResult<Option<Routed>>> + Send + 'a>> {
        Box::pin(async move {
            let best = suggest(&self.models, db, district, grid, text).await?.into_iter().next();
            let Some(best) = best else { return Ok(None) };
            let s = store::settings(db, district).await?;
            Ok(Some(Routed {
                category: best.category,
                unit: best.unit.map(|u| u.0),
                confidence: best.confidence,
                threshold: s.auto_dispatch.then_some(s.threshold_pct as f64 / 100.0),
            }))
        })
    }
}

/// The two honest figures.
pub struct Evaluation {
    /// Held-out closed cases (a fifth, fixed seed), the model trained on the rest.
    pub held_out: (model::Accuracy, model::Accuracy),
    pub trained_on: usize,
    /// The residents' reports in `tests/data/routing_reports.tsv`, the model trained on every case.
    pub reports: model::Accuracy,
    /// Per category: (right at top-1, reports).
    pub by_category: Vec<(String, u32, u32)>,
}

/// Read the residents' reports file: `text<TAB>category` per line, `#` comments.
pub fn parse_reports(tsv: &str) -> Vec<(String, String)> {
    tsv.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (t, c) = l.rsplit_once('\t')?;
            Some((t.trim().to_string(), c.trim().to_string()))
        })
        .collect()
}

/// Measure the district's routing: (a) on held-out closed cases, (b) on residents' reports.
pub async fn evaluate(db: &Db, district: &str, reports: &[(String, String)], seed: u64) -> AppResult<Evaluation> {
    let rows = store::closed_cases(db, district, store::MAX_EXAMPLES).await?;
    let reports = reports.to_vec();
    let e = tokio::task::spawn_blocking(move || {
        let mut all = examples_of(rows);
        all.sort_by(|a, b| (&a.category, &a.grid, &a.text).cmp(&(&b.category, &b.grid, &b.text)));
        all.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        let cut = all.len() * 4 / 5;
        let (fit, test) = all.split_at(cut);
        let held = Classifier::new(model::train(fit, &prefixes()));
        let held_out = model::evaluate(&held, test);
        let full = Classifier::new(model::train(&all, &prefixes()));
        let mut acc = model::Accuracy::default();
        let mut by: std::collections::BTreeMap<String, (u32, u32)> = Default::default();
        for (text, cat) in &reports {
            let s = full.suggest(text, "", 3, |_| true);
            let ranked: Vec<bool> = s.iter().map(|x| &x.category == cat).collect();
            acc.add(&ranked);
            let e = by.entry(cat.clone()).or_default();
            e.1 += 1;
            if ranked.first() == Some(&true) {
                e.0 += 1;
            }
        }
        Evaluation {
            held_out,
            trained_on: fit.len(),
            reports: acc,
            by_category: by.into_iter().map(|(c, (r, n))| (c, r, n)).collect(),
        }
    })
    .await
    .map_err(|_| AppError::internal())?;
    Ok(e)
}
