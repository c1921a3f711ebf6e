//! Training and cross-validation of promptwall's learned injection scorer
//! (`promptwall::model`).
//!
//! Training is reproducible to the byte: rows are read in file order, features come from the
//! engine's own pass (fixed hashes, no hash-map iteration), the optimiser (L-BFGS on an
//! L2-regularised, category-weighted logistic loss) runs single-threaded in `f64` with sums
//! in a fixed order, and the only transcendental functions are this crate's own `exp` and
//! `ln1p`, built from additions, multiplications and divisions, which IEEE 754 rounds the
//! same way on every platform. The one random choice, the folds of the calibration, comes
//! from a seeded generator.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::Path;

use promptwall::model::{
    self, FeatureSet, Model, Provenance, Weights, DIMENSIONS, MODEL_SCORE_CAP,
};
use promptwall::{Finding, Firewall, Policy};

pub mod math;

use math::{sigmoid, softplus};

/// One labelled prompt.
#[derive(Clone, Debug)]
pub struct Row {
    /// The prompt.
    pub text: String,
    /// Injection or jailbreak.
    pub label: bool,
    /// The dataset it came from.
    pub source: String,
    /// Its category (`jailbreak+`, `chat-`, ...).
    pub category: String,
}

/// FNV-1a, 64 bits (the model file's fingerprints).
pub use promptwall::model::fnv;

/// Reads a JSONL file of `{"text", "label", "source", "category"}` rows, in order, and the
/// fingerprint of its bytes.
pub fn load(path: &Path) -> Result<(Vec<Row>, u64), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |m: &str| format!("{}:{}: {m}", path.display(), n + 1);
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| at(&e.to_string()))?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let label = match v.get("label") {
            Some(serde_json::Value::Number(x)) if x.as_u64() == Some(1) => true,
            Some(serde_json::Value::Number(x)) if x.as_u64() == Some(0) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            _ => return Err(at("`label` must be 0 or 1")),
        };
        rows.push(Row {
            text: s("text").ok_or_else(|| at("missing `text`"))?,
            label,
            source: s("source").unwrap_or_else(|| "unknown".into()),
            category: s("category")
                .unwrap_or_else(|| if label { "positive" } else { "negative" }.into()),
        });
    }
    if rows.is_empty() {
        return Err(format!("{}: no rows", path.display()));
    }
    Ok((rows, fnv(&bytes)))
}

/// The rows with what the rules say about each: the input of training and evaluation.
#[derive(Debug)]
pub struct Corpus {
    /// The rows, in file order.
    pub rows: Vec<Row>,
    /// The findings of a prompt scan with the model off (all of them).
    pub findings: Vec<Vec<Finding>>,
    /// The injection score of that scan: the rules alone.
    pub rules_score: Vec<f64>,
    /// Where the data and the rules came from.
    pub provenance: Provenance,
}

/// A firewall with the built-in rules, the model off and no cap on listed findings.
pub fn rules_only() -> Result<Firewall, String> {
    let policy = Policy::from_toml(
        "max_findings = 1000000\n[rules.\"injection.model\"]\nenabled = false\n",
        "training policy",
    )
    .map_err(|e| e.to_string())?;
    Firewall::builder()
        .policy(policy)
        .build()
        .map_err(|e| e.to_string())
}

impl Corpus {
    /// Scans every row with the rules alone.
    pub fn new(rows: Vec<Row>, data_fingerprint: u64) -> Result<Corpus, String> {
        let fw = rules_only()?;
        let mut findings = Vec::with_capacity(rows.len());
        let mut rules_score = Vec::with_capacity(rows.len());
        for r in &rows {
            let v = fw.scan(&r.text);
            rules_score.push(v.categories.injection);
            findings.push(v.findings);
        }
        let mut rules = Vec::new();
        for r in fw.rules() {
            rules.extend_from_slice(r.id.as_bytes());
            rules.push(0);
            rules.extend_from_slice(&r.score.to_bits().to_le_bytes());
        }
        Ok(Corpus {
            rows,
            findings,
            rules_score,
            provenance: Provenance {
                data: data_fingerprint,
                rules: fnv(&rules),
            },
        })
    }

    /// The feature vectors of every row.
    pub fn features(&self, set: FeatureSet) -> Vec<Vec<(u32, f64)>> {
        self.rows
            .iter()
            .zip(&self.findings)
            .map(|(r, f)| model::features(&r.text, f, set))
            .collect()
    }
}

/// How to train.
#[derive(Clone, Debug)]
pub struct Options {
    /// L2 penalty on the weights (the loss is a weighted mean over rows).
    pub lambda: f64,
    /// The feature groups.
    pub features: FeatureSet,
    /// L-BFGS iterations at most.
    pub max_iter: usize,
    /// Folds of the out-of-fold margins Platt scaling is fitted on.
    pub calibration_folds: usize,
    /// Seed of the calibration folds (and of the random cross-validation folds).
    pub seed: u64,
    /// Calibrate on folds that each hold out one source (when the rows come from three
    /// sources or more), instead of stratified random folds: the probability then says how
    /// sure the model is about text of a source it has not seen.
    pub calibrate_by_source: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lambda: 1e-4,
            features: FeatureSet::DEFAULT,
            max_iter: 150,
            calibration_folds: 4,
            seed: 12,
            calibrate_by_source: true,
        }
    }
}

/// splitmix64: the seeded generator of the folds.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Shuffles `v` (Fisher-Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// `k` folds of `rows`, stratified by category: each category's rows shuffled and dealt
/// round-robin, categories in name order, continuing the deal where the last one stopped.
pub fn stratified_folds(corpus: &Corpus, rows: &[usize], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut by_cat: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in rows {
        by_cat.entry(&corpus.rows[i].category).or_default().push(i);
    }
    let mut rng = Rng::new(seed);
    let mut folds = vec![Vec::new(); k];
    let mut next = 0;
    for (_, mut members) in by_cat {
        rng.shuffle(&mut members);
        for i in members {
            folds[next % k].push(i);
            next += 1;
        }
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    folds
}

/// One fold per source: the rows of each source, sources in name order.
pub fn source_folds(corpus: &Corpus) -> (Vec<String>, Vec<Vec<usize>>) {
    let mut by_source: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in corpus.rows.iter().enumerate() {
        by_source.entry(&r.source).or_default().push(i);
    }
    let names = by_source.keys().map(|s| s.to_string()).collect();
    (names, by_source.into_values().collect())
}

/// Row weights: every category of `rows` weighs the same in all, and the weights add up to 1.
fn category_weights(corpus: &Corpus, rows: &[usize]) -> Vec<f64> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in rows {
        *count.entry(&corpus.rows[i].category).or_default() += 1;
    }
    let cats = count.len() as f64;
    rows.iter()
        .map(|&i| 1.0 / (count[corpus.rows[i].category.as_str()] as f64 * cats))
        .collect()
}

fn margin(w: &[f64], bias: f64, x: &[(u32, f64)]) -> f64 {
    let mut m = bias;
    for &(k, v) in x {
        m += w[k as usize] * v;
    }
    m
}

/// The penalised loss and its gradient (bias last) at `w`, over the `dims` weights that
/// some row uses (features renumbered in order of their index).
struct Problem {
    x: Vec<Vec<(u32, f64)>>,
    t: Vec<bool>,
    c: Vec<f64>,
    lambda: f64,
    dims: usize,
}

impl Problem {
    fn eval(&self, p: &[f64], g: &mut [f64]) -> f64 {
        let (w, bias) = p.split_at(self.dims);
        let bias = bias[0];
        g.fill(0.0);
        let mut loss = 0.0;
        let mut gb = 0.0;
        for ((x, &t), &c) in self.x.iter().zip(&self.t).zip(&self.c) {
            let m = margin(w, bias, x);
            loss += c * softplus(if t { -m } else { m });
            let d = c * (sigmoid(m) - if t { 1.0 } else { 0.0 });
            gb += d;
            for &(k, v) in x {
                g[k as usize] += d * v;
            }
        }
        let mut reg = 0.0;
        for (gk, &wk) in g[..self.dims].iter_mut().zip(w) {
            *gk += self.lambda * wk;
            reg += wk * wk;
        }
        g[self.dims] = gb;
        loss + 0.5 * self.lambda * reg
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |s, (x, y)| s + x * y)
}

/// Minimises the problem with L-BFGS (10 pairs) and a backtracking Armijo line search.
fn lbfgs(problem: &Problem, max_iter: usize) -> Vec<f64> {
    let n = problem.dims + 1;
    let mut p = vec![0.0; n];
    let mut g = vec![0.0; n];
    let mut f = problem.eval(&p, &mut g);
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
    let mut d = vec![0.0; n];
    let mut p_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    for _ in 0..max_iter {
        // Two-loop recursion: d = -H g.
        for (dk, gk) in d.iter_mut().zip(&g) {
            *dk = -gk;
        }
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * dot(s, &d);
            for (dk, yk) in d.iter_mut().zip(y) {
                *dk -= a * yk;
            }
            alphas.push(a);
        }
        match history.last() {
            Some((s, y, _)) => {
                let gamma = dot(s, y) / dot(y, y);
                for dk in d.iter_mut() {
                    *dk *= gamma;
                }
            }
            None => {
                let norm = dot(&g, &g).sqrt();
                if norm > 0.0 {
                    for dk in d.iter_mut() {
                        *dk /= norm;
                    }
                }
            }
        }
        for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &d);
            for (dk, sk) in d.iter_mut().zip(s) {
                *dk += (a - b) * sk;
            }
        }
        let mut gd = dot(&g, &d);
        if gd >= 0.0 {
            // Not a descent direction: start over from the gradient.
            history.clear();
            let norm = dot(&g, &g).sqrt().max(1e-300);
            for (dk, gk) in d.iter_mut().zip(&g) {
                *dk = -gk / norm;
            }
            gd = dot(&g, &d);
        }
        let mut step = 1.0;
        let mut f_new;
        let mut tries = 0;
        loop {
            for ((pn, pk), dk) in p_new.iter_mut().zip(&p).zip(&d) {
                *pn = pk + step * dk;
            }
            f_new = problem.eval(&p_new, &mut g_new);
            if f_new <= f + 1e-4 * step * gd || tries == 40 {
                break;
            }
            step *= 0.5;
            tries += 1;
        }
        if f_new > f {
            break;
        }
        let s: Vec<f64> = p_new.iter().zip(&p).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-20 {
            if history.len() == 10 {
                history.remove(0);
            }
            history.push((s, y, 1.0 / sy));
        }
        let done = (f - f_new) <= 1e-7 * f.abs().max(1.0);
        std::mem::swap(&mut p, &mut p_new);
        std::mem::swap(&mut g, &mut g_new);
        f = f_new;
        let gmax = g.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if std::env::var_os("PW_TRAIN_DEBUG").is_some() {
            eprintln!("  f {f:.6} step {step} tries {tries} gmax {gmax:.2e}");
        }
        if done || gmax < 1e-8 {
            break;
        }
    }
    p
}

/// Fits weights and bias on `rows` (no calibration).
fn fit(corpus: &Corpus, x: &[Vec<(u32, f64)>], rows: &[usize], opts: &Options) -> (Vec<f64>, f64) {
    // Only weights that some row uses can move from 0: optimise those, renumbered.
    let mut used = vec![u32::MAX; DIMENSIONS];
    for &i in rows {
        for &(k, _) in &x[i] {
            used[k as usize] = 0;
        }
    }
    let mut index = Vec::new();
    for (k, u) in used.iter_mut().enumerate() {
        if *u == 0 {
            *u = index.len() as u32;
            index.push(k);
        }
    }
    let problem = Problem {
        x: rows
            .iter()
            .map(|&i| x[i].iter().map(|&(k, v)| (used[k as usize], v)).collect())
            .collect(),
        t: rows.iter().map(|&i| corpus.rows[i].label).collect(),
        c: category_weights(corpus, rows),
        lambda: opts.lambda,
        dims: index.len(),
    };
    let t = std::time::Instant::now();
    let p = lbfgs(&problem, opts.max_iter);
    if std::env::var_os("PW_TRAIN_DEBUG").is_some() {
        eprintln!(
            "fit: {} rows, {} weights, {:.2} s",
            rows.len(),
            index.len(),
            t.elapsed().as_secs_f64()
        );
    }
    let mut w = vec![0.0; DIMENSIONS];
    for (j, &k) in index.iter().enumerate() {
        w[k] = p[j];
    }
    (w, p[index.len()])
}

/// Platt scaling: (a, b) minimising the weighted log loss of σ(a × margin + b) with a ≥ 0.
/// When held-out margins do not rise with the label (a model with no signal across
/// sources), a is 0 and the probability is the base rate: such a model never flags.
fn platt(margins: &[f64], t: &[bool], c: &[f64]) -> (f64, f64) {
    let (a, b) = platt_newton(margins, t, c, true);
    if a > 0.0 {
        return (a, b);
    }
    platt_newton(margins, t, c, false)
}

/// Newton's method from (1, 0) on (a, b), or on b alone with a = 0.
fn platt_newton(margins: &[f64], t: &[bool], c: &[f64], slope: bool) -> (f64, f64) {
    let (mut a, mut b) = (if slope { 1.0 } else { 0.0 }, 0.0);
    let loss = |a: f64, b: f64| -> f64 {
        margins
            .iter()
            .zip(t)
            .zip(c)
            .map(|((&m, &t), &c)| {
                let z = a * m + b;
                c * softplus(if t { -z } else { z })
            })
            .sum()
    };
    let mut f = loss(a, b);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for ((&m, &t), &c) in margins.iter().zip(t).zip(c) {
            let p = sigmoid(a * m + b);
            let d = c * (p - if t { 1.0 } else { 0.0 });
            let h = c * p * (1.0 - p) + 1e-12;
            ga += d * m;
            gb += d;
            haa += h * m * m;
            hab += h * m;
            hbb += h;
        }
        let (da, db) = if slope {
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-300 {
                break;
            }
            ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det)
        } else {
            (0.0, gb / hbb)
        };
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..30 {
            let (na, nb) = (a - step * da, b - step * db);
            let nf = loss(na, nb);
            if nf <= f {
                let gain = f - nf;
                a = na;
                b = nb;
                f = nf;
                accepted = gain > 1e-14 * f.abs().max(1e-300);
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    (a, b)
}

/// Trains a model on `rows`: weights on all of them, Platt scaling on out-of-fold margins of
/// `opts.calibration_folds` stratified folds.
pub fn train(corpus: &Corpus, x: &[Vec<(u32, f64)>], rows: &[usize], opts: &Options) -> Weights {
    let mut oof = vec![0.0; corpus.rows.len()];
    let mut by_source: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in rows {
        by_source.entry(&corpus.rows[i].source).or_default().push(i);
    }
    let folds = if opts.calibrate_by_source && by_source.len() >= 3 {
        by_source.into_values().collect()
    } else {
        stratified_folds(corpus, rows, opts.calibration_folds.max(2), opts.seed)
    };
    for held in &folds {
        let rest: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|i| held.binary_search(i).is_err())
            .collect();
        let (w, b) = fit(corpus, x, &rest, opts);
        for &i in held {
            oof[i] = margin(&w, b, &x[i]);
        }
    }
    let margins: Vec<f64> = rows.iter().map(|&i| oof[i]).collect();
    let t: Vec<bool> = rows.iter().map(|&i| corpus.rows[i].label).collect();
    let c = category_weights(corpus, rows);
    let platt = platt(&margins, &t, &c);
    let (w, bias) = fit(corpus, x, rows, opts);
    Weights {
        w,
        bias,
        platt,
        features: opts.features,
        provenance: corpus.provenance,
    }
}

/// Trains on every row: the weights file that ships.
pub fn train_all(corpus: &Corpus, opts: &Options) -> Model {
    let x = corpus.features(opts.features);
    let rows: Vec<usize> = (0..corpus.rows.len()).collect();
    Model::quantize(&train(corpus, &x, &rows, opts))
}

/// What each variant says about one row.
#[derive(Clone, Copy, Debug, Default)]
pub struct Prediction {
    /// The injection score of the rules alone.
    pub rules: f64,
    /// The model's probability.
    pub model: f64,
    /// The injection score of rules and model together, as a scan computes it.
    pub combined: f64,
    /// The probability of the unquantised weights (to measure what quantisation costs).
    pub float: f64,
}

/// The combined injection score, as a scan computes it.
pub fn combine(rules: f64, probability: f64) -> f64 {
    let c = model::combined_score(probability, rules, MODEL_SCORE_CAP);
    (c * 10_000.0).round() / 10_000.0
}

/// Cross-validation: for each fold in `tests`, a model trained on the other rows predicts the
/// fold's rows. Rows in no fold keep a default prediction.
pub fn cross_validate(
    corpus: &Corpus,
    x: &[Vec<(u32, f64)>],
    tests: &[Vec<usize>],
    opts: &Options,
    mut progress: impl FnMut(usize),
) -> Vec<Prediction> {
    let mut out = vec![Prediction::default(); corpus.rows.len()];
    for (k, test) in tests.iter().enumerate() {
        progress(k);
        let mut sorted = test.clone();
        sorted.sort_unstable();
        let train_rows: Vec<usize> = (0..corpus.rows.len())
            .filter(|i| sorted.binary_search(i).is_err())
            .collect();
        let weights = train(corpus, x, &train_rows, opts);
        let m = Model::quantize(&weights);
        for &i in test {
            let p = m
                .judge_text(&corpus.rows[i].text, &corpus.findings[i])
                .probability;
            let z = margin(&weights.w, weights.bias, &x[i]);
            out[i] = Prediction {
                rules: corpus.rules_score[i],
                model: p,
                // A scan runs the model only when the rules found some injection evidence.
                combined: if corpus.findings[i]
                    .iter()
                    .any(|f| f.category == promptwall::Category::Injection)
                {
                    combine(corpus.rules_score[i], p)
                } else {
                    corpus.rules_score[i]
                },
                float: sigmoid(weights.platt.0 * z + weights.platt.1),
            };
        }
    }
    out
}

/// Accuracy of one variant per category and their mean.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    /// Category → (correct, rows).
    pub categories: BTreeMap<String, (usize, usize)>,
}

impl Scores {
    /// Scores `detected` against the labels of `rows`.
    pub fn of(corpus: &Corpus, rows: &[usize], detected: impl Fn(usize) -> bool) -> Scores {
        let mut s = Scores::default();
        for &i in rows {
            let r = &corpus.rows[i];
            let e = s.categories.entry(r.category.clone()).or_default();
            e.0 += usize::from(detected(i) == r.label);
            e.1 += 1;
        }
        s
    }

    /// The accuracy of a category.
    pub fn accuracy(&self, cat: &str) -> Option<f64> {
        self.categories
            .get(cat)
            .map(|&(c, n)| c as f64 / n.max(1) as f64)
    }

    /// The mean of the category accuracies.
    pub fn balanced(&self) -> f64 {
        let n = self.categories.len().max(1) as f64;
        self.categories
            .values()
            .map(|&(c, n)| c as f64 / n.max(1) as f64)
            .sum::<f64>()
            / n
    }
}

/// Whether a variant flags row `i`.
pub type Decide<'a> = Box<dyn Fn(usize) -> bool + 'a>;

/// The three variants' decisions at the flag threshold (0.5): rules alone, the model alone
/// (probability ≥ 0.5), both as a scan combines them.
pub fn variants(p: &[Prediction]) -> [(&'static str, Decide<'_>); 3] {
    [
        ("rules", Box::new(move |i| p[i].rules >= 0.5)),
        ("model", Box::new(move |i| p[i].model >= 0.5)),
        ("combined", Box::new(move |i| p[i].combined >= 0.5)),
    ]
}

/// Byte-length buckets for the length check.
pub const LENGTH_BUCKETS: [(usize, usize, &str); 4] = [
    (0, 256, "< 256 B"),
    (256, 1024, "256 B - 1 KB"),
    (1024, 4096, "1 - 4 KB"),
    (4096, usize::MAX, ">= 4 KB"),
];

/// Writes the report of one cross-validation as Markdown tables.
pub fn report(
    out: &mut String,
    title: &str,
    corpus: &Corpus,
    p: &[Prediction],
    rows: &[usize],
    errors: usize,
) {
    use std::fmt::Write;
    let vs = variants(p);
    let scores: Vec<Scores> = vs
        .iter()
        .map(|(_, f)| Scores::of(corpus, rows, f))
        .collect();
    let _ = writeln!(out, "### {title}\n");
    let _ = writeln!(out, "| category | rows | rules | model | combined |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for (cat, &(_, n)) in &scores[0].categories {
        let a: Vec<String> = scores
            .iter()
            .map(|s| format!("{:.4}", s.accuracy(cat).unwrap_or(0.0)))
            .collect();
        let _ = writeln!(out, "| {cat} | {n} | {} |", a.join(" | "));
    }
    let b: Vec<String> = scores
        .iter()
        .map(|s| format!("**{:.4}**", s.balanced()))
        .collect();
    let _ = writeln!(
        out,
        "| balanced accuracy | {} | {} |",
        rows.len(),
        b.join(" | ")
    );
    let _ = writeln!(out);
    // Benign and attack accuracy by length, over all categories of each label.
    let _ = writeln!(out, "| length | benign rows | rules | model | combined | attack rows | rules | model | combined |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (lo, hi, name) in LENGTH_BUCKETS {
        let mut cells = Vec::new();
        for label in [false, true] {
            let sel: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&i| {
                    let r = &corpus.rows[i];
                    r.label == label && (lo..hi).contains(&r.text.len())
                })
                .collect();
            cells.push(sel.len().to_string());
            for (_, f) in &vs {
                let ok = sel.iter().filter(|&&i| f(i) == label).count();
                cells.push(if sel.is_empty() {
                    "-".into()
                } else {
                    format!("{:.4}", ok as f64 / sel.len() as f64)
                });
            }
        }
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    }
    if errors > 0 {
        let rules_of = |i: usize| {
            let mut ids: Vec<&str> = corpus.findings[i]
                .iter()
                .filter(|f| f.category == promptwall::Category::Injection)
                .map(|f| &*f.rule)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                "-".to_string()
            } else {
                ids.join(",")
            }
        };
        let short = |t: &str| -> String {
            let mut s: String = t
                .chars()
                .take(120)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            if t.chars().nth(120).is_some() {
                s.push('…');
            }
            s
        };
        for (label, title) in [(false, "false alarms"), (true, "misses")] {
            let mut wrong: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&i| corpus.rows[i].label == label && (p[i].combined >= 0.5) != label)
                .collect();
            // The most confidently wrong first.
            wrong.sort_by(|&a, &b| {
                let (x, y) = (p[a].model, p[b].model);
                if label {
                    x.total_cmp(&y)
                } else {
                    y.total_cmp(&x)
                }
                .then(a.cmp(&b))
            });
            let _ = writeln!(out, "{title} of the combined variant: {} (line, category, source, rules score, model probability, injection rules)\n", wrong.len());
            for &i in wrong.iter().take(errors) {
                let r = &corpus.rows[i];
                let _ = writeln!(
                    out,
                    "- line {} {} {} r={:.2} p={:.3} {}: `{}`",
                    i + 1,
                    r.category,
                    r.source,
                    p[i].rules,
                    p[i].model,
                    rules_of(i),
                    short(&r.text).replace('`', "'")
                );
            }
            let _ = writeln!(out);
        }
    }
    let dq = rows
        .iter()
        .map(|&i| (p[i].model - p[i].float).abs())
        .fold(0.0f64, f64::max);
    let flips = rows
        .iter()
        .filter(|&&i| (p[i].model >= 0.5) != (p[i].float >= 0.5))
        .count();
    let _ = writeln!(
        out,
        "\nQuantisation: largest |p(i8/i16) - p(f64)| {dq:.4}; decisions at 0.5 that differ: {flips}.\n"
    );
}
