//! Per-request batch loaders, so nested lists cost one query per level, not one per row.
//! Built for each request (never shared across callers); they load whole records and leave
//! visibility checks to the resolvers.

use crate::coverage_memo::CoverageMemo;
use aidgraph_domain::access::Principal;
use aidgraph_persistence::activities::{self, ActivityRecord};
use aidgraph_persistence::coverage::{self, NeedCoverage};
use aidgraph_persistence::needs::{self, AnalysisRecord, NeedRecord};
use aidgraph_persistence::organisations::{self, OrganisationRecord};
use aidgraph_persistence::overlap::{self, FlagFilter, FlagRecord};
use aidgraph_persistence::records::{
    self, EvaluationRecord, LessonsQuestion, LinkTarget, MechanismRecord,
};
use aidgraph_persistence::{Page, PageRequest, Store, StoreError};
use async_graphql::dataloader::{DataLoader, Loader};
use std::collections::HashMap;
use std::sync::Arc;

/// An organisation by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrgId(pub i64);
/// An organisation by reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgRef(pub String);
/// An activity by IATI identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActivityIdentifier(pub String);
/// The need ids an activity addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeedsOfActivity(pub i64);
/// A need by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeedId(pub i64);
/// A needs analysis by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnalysisId(pub i64);
/// The needs of an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeedsOfAnalysis(pub i64);

/// An activity by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActivityId(pub i64);
/// The coverage of a need, with the activities suggested to it when the second field is true
/// (finding them reads every published activity in the need's country).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoverageOf(pub i64, pub bool);

/// A page of an activity's overlap flags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlagsOf {
    /// The activity's row id.
    pub activity: i64,
    /// Which of its flags.
    pub filter: FlagFilter,
    /// Which page.
    pub page: PageRequest,
}

/// The evaluations of an activity that the caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EvaluationsOf(pub i64);

/// The coordination mechanisms that coordinate an activity or a need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MechanismsOf(pub LinkTarget, pub i64);

/// The lessons for an activity or a planned one: evaluations of others on its provisions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LessonsFor(pub LessonsQuestion);

/// Loads registry records in batches, for one caller.
pub struct RegistryLoader {
    store: Store,
    who: Principal,
    coverage: Option<Arc<CoverageMemo>>,
}

/// The loader a request uses.
pub type Loaders = DataLoader<RegistryLoader>;

/// A fresh set of loaders for one request by `who`; need coverage comes from `coverage`
/// where it was computed at the current registry version.
pub fn for_request(store: Store, who: Principal, coverage: Option<Arc<CoverageMemo>>) -> Loaders {
    DataLoader::new(
        RegistryLoader {
            store,
            who,
            coverage,
        },
        tokio::spawn,
    )
}

type LoadResult<K, V> = Result<HashMap<K, V>, Arc<StoreError>>;

impl Loader<OrgId> for RegistryLoader {
    type Value = OrganisationRecord;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[OrgId]) -> LoadResult<OrgId, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let found = organisations::by_ids(self.store.db(), &ids).await?;
        Ok(found.into_iter().map(|(k, v)| (OrgId(k), v)).collect())
    }
}

impl Loader<OrgRef> for RegistryLoader {
    type Value = OrganisationRecord;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[OrgRef]) -> LoadResult<OrgRef, Self::Value> {
        let refs: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let found = organisations::by_refs(self.store.db(), &refs).await?;
        Ok(found.into_iter().map(|(k, v)| (OrgRef(k), v)).collect())
    }
}

impl Loader<ActivityIdentifier> for RegistryLoader {
    type Value = ActivityRecord;
    type Error = Arc<StoreError>;

    async fn load(
        &self,
        keys: &[ActivityIdentifier],
    ) -> LoadResult<ActivityIdentifier, Self::Value> {
        let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let found = activities::by_identifiers(self.store.db(), &ids).await?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (ActivityIdentifier(k), v))
            .collect())
    }
}

impl Loader<NeedsOfActivity> for RegistryLoader {
    type Value = Vec<i64>;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[NeedsOfActivity]) -> LoadResult<NeedsOfActivity, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let mut found = activities::need_ids_of(self.store.db(), &ids).await?;
        Ok(ids
            .into_iter()
            .map(|id| (NeedsOfActivity(id), found.remove(&id).unwrap_or_default()))
            .collect())
    }
}

impl Loader<NeedId> for RegistryLoader {
    type Value = NeedRecord;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[NeedId]) -> LoadResult<NeedId, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let found = needs::needs_by_ids(self.store.db(), &ids).await?;
        Ok(found.into_iter().map(|(k, v)| (NeedId(k), v)).collect())
    }
}

impl Loader<AnalysisId> for RegistryLoader {
    type Value = AnalysisRecord;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[AnalysisId]) -> LoadResult<AnalysisId, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let found = needs::analyses_by_ids(self.store.db(), &ids).await?;
        Ok(found.into_iter().map(|(k, v)| (AnalysisId(k), v)).collect())
    }
}

impl Loader<NeedsOfAnalysis> for RegistryLoader {
    type Value = Vec<NeedRecord>;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[NeedsOfAnalysis]) -> LoadResult<NeedsOfAnalysis, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let mut found = needs::needs_of_analyses(self.store.db(), &ids).await?;
        Ok(ids
            .into_iter()
            .map(|id| (NeedsOfAnalysis(id), found.remove(&id).unwrap_or_default()))
            .collect())
    }
}

impl Loader<ActivityId> for RegistryLoader {
    type Value = ActivityRecord;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[ActivityId]) -> LoadResult<ActivityId, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let found = activities::by_ids(self.store.db(), &ids).await?;
        Ok(found.into_iter().map(|(k, v)| (ActivityId(k), v)).collect())
    }
}

impl Loader<CoverageOf> for RegistryLoader {
    type Value = NeedCoverage;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[CoverageOf]) -> LoadResult<CoverageOf, Self::Value> {
        let today = aidgraph_persistence::today();
        let wanted: Vec<(i64, bool)> = keys.iter().map(|k| (k.0, k.1)).collect();
        // The version is read before anything is computed, so what is kept under it is no
        // older than the registry it names.
        let memo = match &self.coverage {
            Some(memo) => match self.store.registry_version().await {
                Ok(v) => Some((memo, v)),
                Err(e) => {
                    tracing::warn!(error = %e, "the registry version could not be read; coverage computed afresh");
                    None
                }
            },
            None => None,
        };
        let (mut out, missing) = match memo {
            Some((memo, v)) => memo.get_many(&wanted, v, today),
            None => (HashMap::new(), wanted),
        };
        for with_candidates in [false, true] {
            let ids: Vec<i64> = missing
                .iter()
                .filter(|k| k.1 == with_candidates)
                .map(|k| k.0)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let needs = needs::needs_by_ids(self.store.db(), &ids).await?;
            let refs: Vec<&NeedRecord> = needs.values().collect();
            let found = coverage::of_needs(&self.store, &refs, today, with_candidates).await?;
            let found: Vec<((i64, bool), NeedCoverage)> = found
                .into_iter()
                .map(|(k, v)| ((k, with_candidates), v))
                .collect();
            if let Some((memo, v)) = memo {
                memo.put_many(found.iter().cloned(), v, today);
            }
            out.extend(found);
        }
        Ok(out
            .into_iter()
            .map(|((id, with_candidates), c)| (CoverageOf(id, with_candidates), c))
            .collect())
    }
}

impl Loader<FlagsOf> for RegistryLoader {
    type Value = Page<FlagRecord>;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[FlagsOf]) -> LoadResult<FlagsOf, Self::Value> {
        // Activities asking the same question (filter and page) are answered together.
        let mut questions: HashMap<(&FlagFilter, &PageRequest), Vec<i64>> = HashMap::new();
        for key in keys {
            questions
                .entry((&key.filter, &key.page))
                .or_default()
                .push(key.activity);
        }
        let mut out = HashMap::new();
        for ((filter, page), ids) in questions {
            let found = overlap::of_activities(self.store.db(), &ids, filter, page).await?;
            out.extend(found.into_iter().map(|(activity, flags)| {
                let key = FlagsOf {
                    activity,
                    filter: filter.clone(),
                    page: page.clone(),
                };
                (key, flags)
            }));
        }
        Ok(out)
    }
}

impl Loader<EvaluationsOf> for RegistryLoader {
    type Value = Vec<EvaluationRecord>;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[EvaluationsOf]) -> LoadResult<EvaluationsOf, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let mut found = records::evaluations_of(self.store.db(), &self.who, &ids).await?;
        Ok(ids
            .into_iter()
            .map(|id| (EvaluationsOf(id), found.remove(&id).unwrap_or_default()))
            .collect())
    }
}

impl Loader<MechanismsOf> for RegistryLoader {
    type Value = Vec<MechanismRecord>;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[MechanismsOf]) -> LoadResult<MechanismsOf, Self::Value> {
        let mut out = HashMap::new();
        for target in [LinkTarget::Activity, LinkTarget::Need] {
            let ids: Vec<i64> = keys.iter().filter(|k| k.0 == target).map(|k| k.1).collect();
            if ids.is_empty() {
                continue;
            }
            let mut found = records::mechanisms_of(self.store.db(), target, &ids).await?;
            out.extend(ids.into_iter().map(|id| {
                let mechanisms = found.remove(&id).unwrap_or_default();
                (MechanismsOf(target, id), mechanisms)
            }));
        }
        Ok(out)
    }
}

impl Loader<LessonsFor> for RegistryLoader {
    type Value = Vec<EvaluationRecord>;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[LessonsFor]) -> LoadResult<LessonsFor, Self::Value> {
        let questions: Vec<LessonsQuestion> = keys.iter().map(|k| k.0.clone()).collect();
        let found = records::lessons_for_many(self.store.db(), &self.who, &questions).await?;
        Ok(keys.iter().cloned().zip(found).collect())
    }
}
