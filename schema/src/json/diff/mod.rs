//! Confluent's JSON Schema `SchemaDiff`: every difference between an original (writer) schema
//! and an update (reader) schema, each typed and placed at a JSON-pointer-like path.
//!
//! `compare` follows `SchemaDiff.compare` step by step; the per-kind rules live in
//! [`object`], [`array`], [`combined`] and [`scalar`]. Recursive schemas terminate: a pair of
//! nodes met again while being compared is assumed compatible, results are memoised per pair,
//! and the whole comparison is repeated with the pairs found incompatible until nothing
//! changes (the greatest fixed point, as Confluent's `SchemaDiff.compare` does since 8.x).
//!
//! Bounded work: without `$ref`, subschemas with equal JSON text compare alike, so results are
//! memoised per pair of texts (a schema repeating one subschema in many `anyOf` branches is
//! compared once per distinct pair), and every comparison of a node pair draws on a budget
//! ([`crate::limits::max_compared_pairs`]); when it runs out the comparison stops and
//! [`compare_models_bounded`] reports it instead of working for minutes.

mod array;
mod combined;
mod object;
mod scalar;
mod types;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

pub use types::DifferenceType;

use super::model::{ContentId, Kind, Model, NodeId};
use crate::CompatibilityPolicy;

/// One difference between an original and an updated JSON schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Difference {
    /// What changed.
    pub kind: DifferenceType,
    /// Where, as Confluent writes it: `#/properties/foo`, `#/` for the root.
    pub path: String,
}

impl Difference {
    /// Whether `policy` accepts this difference.
    pub fn is_compatible(&self, policy: CompatibilityPolicy) -> bool {
        self.kind.is_compatible(policy)
    }

    /// Confluent's rendering, mismatched closing quote included (`Difference.toString`), with
    /// the description's placeholders filled with `new` and `old` as the registry does:
    /// `{errorType:"TYPE_NARROWED", description:"A type at path '#/' is different ...'}`.
    pub fn message(&self) -> String {
        format!(
            "{{errorType:\"{}\", description:\"{}'}}",
            self.kind,
            self.kind.description(&self.path, "new", "old")
        )
    }
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.path)
    }
}

/// A difference whose path is still a list of segments.
#[derive(Debug, Clone)]
struct Raw {
    kind: DifferenceType,
    path: Vec<String>,
}

/// Differences relative to the path at which a pair of nodes was compared.
type Relative = Vec<(DifferenceType, Vec<String>)>;

/// All differences between `original` (model `a`) and `update` (model `b`), however long the
/// comparison takes.
pub(crate) fn compare_models(a: &Model, b: &Model, policy: CompatibilityPolicy) -> Vec<Difference> {
    compare_models_bounded(a, b, policy, usize::MAX).unwrap_or_default()
}

/// The comparison gave up after comparing `max_pairs` node pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooComplex {
    pub(crate) max_pairs: usize,
}

/// [`compare_models`] comparing at most `max_pairs` node pairs.
pub(crate) fn compare_models_bounded(
    a: &Model,
    b: &Model,
    policy: CompatibilityPolicy,
    max_pairs: usize,
) -> Result<Vec<Difference>, TooComplex> {
    let mut assumed: HashMap<(NodeId, NodeId), Relative> = HashMap::new();
    let budget = Cell::new(max_pairs);
    loop {
        let mut ctx = Ctx {
            a,
            b,
            policy,
            path: Vec::new(),
            out: Vec::new(),
            in_progress: HashSet::new(),
            memo: HashMap::new(),
            assumed: &assumed,
            cycle_hits: HashSet::new(),
            not_depth: 0,
            content_memo: HashMap::new(),
            budget: &budget,
        };
        ctx.compare(Some(a.root), Some(b.root));
        if ctx.exhausted() {
            return Err(TooComplex { max_pairs });
        }
        let mut grew = Vec::new();
        for pair in &ctx.cycle_hits {
            if assumed.contains_key(pair) {
                continue;
            }
            if let Some(found) = ctx.memo.get(pair) {
                if found.iter().any(|(kind, _)| !kind.is_compatible(policy)) {
                    grew.push((*pair, found.clone()));
                }
            }
        }
        if grew.is_empty() {
            return Ok(ctx
                .out
                .into_iter()
                .map(|raw| Difference {
                    kind: raw.kind,
                    path: format!("#/{}", raw.path.join("/")),
                })
                .collect());
        }
        assumed.extend(grew);
    }
}

/// The comparison state: Confluent's `Context` plus the memo and cycle bookkeeping.
pub(super) struct Ctx<'m> {
    a: &'m Model,
    b: &'m Model,
    policy: CompatibilityPolicy,
    path: Vec<String>,
    out: Vec<Raw>,
    in_progress: HashSet<(NodeId, NodeId)>,
    memo: HashMap<(NodeId, NodeId), Relative>,
    assumed: &'m HashMap<(NodeId, NodeId), Relative>,
    cycle_hits: HashSet<(NodeId, NodeId)>,
    /// How many `not`s deep the comparison is: each runs in a fresh, swapped context, so a
    /// schema recursing through `not` needs this bound to terminate.
    not_depth: usize,
    /// Without `$ref`: (text of the `a` node, text of the `b` node) → differences found.
    content_memo: HashMap<(ContentId, ContentId), Relative>,
    /// Node pairs that may still be compared; shared by swapped contexts.
    budget: &'m Cell<usize>,
}

impl<'m> Ctx<'m> {
    /// Whether the budget ran out (the differences found are then incomplete).
    fn exhausted(&self) -> bool {
        self.budget.get() == 0
    }

    /// Draw one pair comparison from the budget; `false` when none is left.
    fn spend(&self) -> bool {
        match self.budget.get() {
            0 => false,
            n => {
                self.budget.set(n - 1);
                true
            }
        }
    }

    fn add(&mut self, kind: DifferenceType) {
        self.out.push(Raw {
            kind,
            path: self.path.clone(),
        });
    }

    /// Add a difference one segment below the current path.
    fn add_at(&mut self, segment: &str, kind: DifferenceType) {
        let mut path = self.path.clone();
        path.push(segment.to_string());
        self.out.push(Raw { kind, path });
    }

    fn push(&mut self, segment: impl Into<String>) {
        self.path.push(segment.into());
    }

    fn pop(&mut self) {
        self.path.pop();
    }

    /// Run `f` in a sub-context (Confluent's `getSubcontext`) and return what it found.
    fn sub(&mut self, f: impl FnOnce(&mut Self)) -> Vec<Raw> {
        let saved = std::mem::take(&mut self.out);
        f(self);
        std::mem::replace(&mut self.out, saved)
    }

    fn compatible(&self, diffs: &[Raw]) -> bool {
        diffs.iter().all(|d| d.kind.is_compatible(self.policy))
    }

    fn extend(&mut self, diffs: Vec<Raw>) {
        self.out.extend(diffs);
    }

    fn node_a(&self, id: NodeId) -> &'m Kind {
        &self.a.node(id).kind
    }

    fn node_b(&self, id: NodeId) -> &'m Kind {
        &self.b.node(id).kind
    }

    /// `SchemaDiff.compare(ctx, original, update)`.
    fn compare(&mut self, original: Option<NodeId>, update: Option<NodeId>) {
        let (o, u) = match (original, update) {
            (None, None) => return,
            (None, Some(_)) => return self.add(DifferenceType::SCHEMA_ADDED),
            (Some(_), None) => return self.add(DifferenceType::SCHEMA_REMOVED),
            (Some(o), Some(u)) => (self.a.deref(o), self.b.deref(u)),
        };
        if !(self.a.has_references || self.b.has_references) {
            // Without `$ref` there are no cycles, and two subschemas compare as their texts
            // do: memoise per pair of texts.
            // Leaves are cheap to compare and many: only composite pairs are remembered.
            let composite =
                |k: &Kind| matches!(k, Kind::Combined(..) | Kind::Object(_) | Kind::Array(_));
            if !(composite(self.node_a(o)) || composite(self.node_b(u))) {
                if self.spend() {
                    self.compare_nodes(o, u);
                }
                return;
            }
            let key = (self.a.node(o).key, self.b.node(u).key);
            if let Some(found) = self.content_memo.get(&key) {
                let rebased = self.rebase(found);
                return self.extend(rebased);
            }
            if !self.spend() {
                return;
            }
            let base = self.path.len();
            let found = self.sub(|ctx| ctx.compare_nodes(o, u));
            if self.exhausted() {
                // Incomplete: do not remember it.
                return self.extend(found);
            }
            let relative = relative_to(&found, base);
            self.content_memo.insert(key, relative);
            return self.extend(found);
        }
        if !self.spend() {
            return;
        }
        let pair = (o, u);
        let base = self.path.len();
        if let Some(found) = self.memo.get(&pair) {
            let rebased = self.rebase(found);
            return self.extend(rebased);
        }
        if self.in_progress.contains(&pair) {
            self.cycle_hits.insert(pair);
            if let Some(found) = self.assumed.get(&pair) {
                let rebased = self.rebase(found);
                self.extend(rebased);
            }
            return;
        }
        self.in_progress.insert(pair);
        let found = self.sub(|ctx| ctx.compare_nodes(o, u));
        self.in_progress.remove(&pair);
        let relative = relative_to(&found, base);
        self.memo.insert(pair, relative);
        self.extend(found);
    }

    fn rebase(&self, relative: &Relative) -> Vec<Raw> {
        relative
            .iter()
            .map(|(kind, rest)| {
                let mut path = self.path.clone();
                path.extend(rest.iter().cloned());
                Raw { kind: *kind, path }
            })
            .collect()
    }

    fn compare_nodes(&mut self, o: NodeId, u: NodeId) {
        let (ok, uk) = (self.node_a(o), self.node_b(u));
        match (ok, uk) {
            (k, Kind::Combined(criterion, subs)) if !matches!(k, Kind::Combined(..)) => {
                // Special case of singleton unions, then a branch of a union that reads the
                // original (Confluent: SUM_TYPE_EXTENDED).
                if subs.len() == 1 {
                    let found = self.sub(|ctx| ctx.compare(Some(o), Some(subs[0])));
                    if self.compatible(&found) {
                        return self.extend(found);
                    }
                } else if matches!(
                    criterion,
                    super::model::Criterion::Any | super::model::Criterion::One
                ) {
                    for &sub in subs {
                        let found = self.sub(|ctx| ctx.compare(Some(o), Some(sub)));
                        if self.compatible(&found) {
                            self.extend(found);
                            return self.add(DifferenceType::SUM_TYPE_EXTENDED);
                        }
                    }
                }
            }
            (Kind::Combined(criterion, subs), k) if !matches!(k, Kind::Combined(..)) => {
                if subs.len() == 1 {
                    let found = self.sub(|ctx| ctx.compare(Some(subs[0]), Some(u)));
                    if self.compatible(&found) {
                        return self.extend(found);
                    }
                } else if *criterion == super::model::Criterion::All {
                    for &sub in subs {
                        let found = self.sub(|ctx| ctx.compare(Some(sub), Some(u)));
                        if self.compatible(&found) {
                            self.extend(found);
                            return self.add(DifferenceType::PRODUCT_TYPE_NARROWED);
                        }
                    }
                }
            }
            _ => {}
        }

        if ok.class() != uk.class() {
            // A `false` original accepts nothing and an empty update accepts everything.
            if matches!(ok, Kind::False) || uk.is_empty_like() {
                return;
            }
            // Confluent: two Kafka Connect `bytes` schemas are the same type.
            let (om, um) = (&self.a.node(o).meta, &self.b.node(u).meta);
            if om.connect_type.as_deref() == Some("bytes")
                && um.connect_type.as_deref() == Some("bytes")
            {
                return;
            }
            return self.add(DifferenceType::TYPE_CHANGED);
        }

        let (om, um) = (&self.a.node(o).meta, &self.b.node(u).meta);
        if om.id != um.id {
            self.add(DifferenceType::ID_CHANGED);
        }
        if om.title != um.title {
            self.add(DifferenceType::TITLE_CHANGED);
        }
        if om.description != um.description {
            self.add(DifferenceType::DESCRIPTION_CHANGED);
        }
        if om.default != um.default {
            self.add(DifferenceType::DEFAULT_CHANGED);
        }

        match (ok, uk) {
            (Kind::String(a), Kind::String(b)) => scalar::compare_string(self, a, b),
            (Kind::Number(a), Kind::Number(b)) => scalar::compare_number(self, a, b),
            (Kind::Enum(a), Kind::Enum(b)) => scalar::compare_enum(self, a, b),
            (Kind::Const(a), Kind::Const(b)) => scalar::compare_const(self, a, b),
            (Kind::Not(a), Kind::Not(b)) => scalar::compare_not(self, *a, *b),
            (Kind::Combined(ac, asubs), Kind::Combined(bc, bsubs)) => {
                combined::compare(self, (*ac, asubs), (*bc, bsubs))
            }
            (Kind::Object(a), Kind::Object(b)) => object::compare(self, a, b),
            (Kind::Array(a), Kind::Array(b)) => array::compare(self, a, b),
            _ => {}
        }
    }

    /// Whether an update node (model `b`) has a `default` (Confluent's `hasDefaultValue`),
    /// looking through `$ref`.
    fn update_has_default(&self, id: NodeId) -> bool {
        self.b.node(id).meta.default.is_some()
            || self.b.node(self.b.deref(id)).meta.default.is_some()
    }

    fn update_is_empty(&self, id: NodeId) -> bool {
        self.node_b(self.b.deref(id)).is_empty_like()
    }

    fn original_is_false(&self, id: NodeId) -> bool {
        matches!(self.node_a(self.a.deref(id)), Kind::False)
    }
}

/// Differences with the first `base` path segments (where the pair was compared) removed.
fn relative_to(found: &[Raw], base: usize) -> Relative {
    found
        .iter()
        .map(|d| {
            (
                d.kind,
                d.path
                    .get(base..)
                    .map(<[String]>::to_vec)
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Report an optional count that was added, removed, raised or lowered.
fn scalar_bound(
    ctx: &mut Ctx<'_>,
    keyword: &str,
    original: Option<u64>,
    update: Option<u64>,
    kinds: [DifferenceType; 4],
) {
    scalar::bound(ctx, keyword, original, update, kinds);
}
