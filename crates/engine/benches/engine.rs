//! The engine without a database: one activity against a crowded country's candidates (the
//! work a write or a dry run does once it has read them), in its two steps, screening the
//! cached candidates and scoring the pairs that pass; and the pair rule on one pair.
//!
//! `cargo bench -p aidgraph-engine --bench engine` prints criterion's estimates (medians in
//! its report). The candidates are generated from a fixed seed, so every run measures the
//! same work.

// `criterion_group!` defines a function it does not document.
#![allow(missing_docs)]

use aidgraph_domain::activity::Window;
use aidgraph_domain::overlap::OverlapFeatures;
use aidgraph_domain::overlap::config::DEFAULT;
use aidgraph_domain::overlap::testing::{base, d, training_pair, vectors_with_cosine};
use aidgraph_domain::overlap::text::term_counts;
use aidgraph_domain::vocab::{AssistanceType, InstitutionType, PriorityArea};
use aidgraph_engine::pair::{self, Side};
use aidgraph_engine::scan::{Subject, score_candidates};
use aidgraph_engine::{FeatureCache, packed::Packed};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;

/// A small deterministic generator (a 64-bit linear congruential one).
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }

    fn some<T: Copy>(&mut self, pool: &[T], most: usize) -> Vec<T> {
        (0..=self.below(most))
            .map(|_| pool[self.below(pool.len())])
            .collect()
    }
}

const WORDS: [&str; 24] = [
    "training",
    "prosecutors",
    "judges",
    "witness",
    "protection",
    "border",
    "customs",
    "laundering",
    "assets",
    "recovery",
    "cybercrime",
    "firearms",
    "trafficking",
    "smuggling",
    "migrants",
    "forensic",
    "evidence",
    "extradition",
    "mutual",
    "legal",
    "assistance",
    "corruption",
    "police",
    "investigation",
];

/// An activity in Kenya with fields drawn from pools the size of a real registry's.
fn activity(id: i64, draw: &mut Draw) -> OverlapFeatures {
    let mut f = base(id, &format!("XM-BENCH-{id}"));
    f.reporting_org = format!("XM-ORG-{}", draw.below(40));
    let start = d("2025-01-01") + chrono::Days::new(draw.below(900) as u64);
    f.window = Some(Window {
        start,
        end: start + chrono::Days::new(90 + draw.below(900) as u64),
    });
    let provisions: Vec<usize> = draw.some(&(0..30).collect::<Vec<_>>(), 2);
    f.provisions = provisions.iter().map(|p| format!("UNTOC-{p}")).collect();
    f.priority_areas = draw.some(PriorityArea::ALL, 1).into_iter().collect();
    f.assistance_types = draw.some(AssistanceType::ALL, 2).into_iter().collect();
    f.beneficiaries = draw.some(InstitutionType::ALL, 2).into_iter().collect();
    let implementer = format!("XM-IMPL-{}", draw.below(60));
    f.implementers = BTreeMap::from([(implementer.clone(), implementer)]);
    let text: Vec<&str> = draw.some(&WORDS, 8);
    f.terms = term_counts(&text.join(" "));
    f
}

fn crowded_country(c: &mut Criterion) {
    let mut draw = Draw(20_261_207);
    let mut group = c.benchmark_group("one activity against a country");
    for n in [1_000usize, 5_000] {
        let cache = FeatureCache::default();
        let mut keys = Vec::with_capacity(n);
        let mut df: HashMap<String, u64> = HashMap::new();
        for id in 1..=n as i64 {
            let f = activity(id, &mut draw);
            for (t, _) in &f.terms {
                *df.entry(t.clone()).or_insert(0) += 1;
            }
            cache.put(id, 1, cache.prepare(f));
            keys.push((id, 1));
        }
        let a = activity(n as i64 + 1, &mut draw);
        let subject = Subject::new(&a);
        let today = d("2026-06-01");
        group.bench_with_input(BenchmarkId::new("screen", n), &keys, |b, keys| {
            b.iter(|| subject.screened(&cache, black_box(keys), &DEFAULT, today))
        });
        let (passed, _) = subject.screened(&cache, &keys, &DEFAULT, today);
        let mut space = cache
            .word_numbers()
            .space(&a.terms, passed.iter().map(|f| f.numbers.as_slice()));
        space.weigh(n as u64, &df);
        group.bench_with_input(BenchmarkId::new("score", n), &passed, |b, passed| {
            b.iter(|| {
                score_candidates(
                    &subject,
                    black_box(passed),
                    &space,
                    |_| false,
                    false,
                    &DEFAULT,
                )
            })
        });
    }
    group.finish();
}

fn one_pair(c: &mut Criterion) {
    // The worked example of DESIGN.md §4, which flags (score 74).
    let (a, b) = training_pair();
    let (pa, pb) = (Packed::of(&a), Packed::of(&b));
    let (ta, tb) = vectors_with_cosine(0.3);
    let side = |features, packed, text| Side {
        features,
        packed,
        text,
    };
    c.bench_function("judge the worked example with reasons", |bench| {
        bench.iter(|| {
            pair::judge(
                side(black_box(&a), &pa, &ta),
                side(black_box(&b), &pb, &tb),
                || false,
                true,
                &DEFAULT,
            )
        })
    });
}

criterion_group!(benches, crowded_country, one_pair);
criterion_main!(benches);
