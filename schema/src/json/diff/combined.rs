//! `allOf`/`anyOf`/`oneOf` against each other: Confluent's `CombinedSchemaDiff`. Subschemas
//! are paired by a maximum bipartite matching over the compatible pairs, so reordering
//! branches is not a change.

use super::{Ctx, DifferenceType as T, Raw};
use crate::json::model::{ContentId, Criterion, NodeId};

pub(super) fn compare(
    ctx: &mut Ctx<'_>,
    original: (Criterion, &[NodeId]),
    update: (Criterion, &[NodeId]),
) {
    let (oc, osubs) = original;
    let (uc, usubs) = update;
    if compare_criteria(ctx, oc, osubs.len(), uc, usubs.len()) == Some(T::COMBINED_TYPE_CHANGED) {
        return;
    }
    // Confluent collapses duplicate subschemas (a set of JsonSchema, equal by JSON text).
    let osubs = distinct(osubs, |id| ctx.a.node(id).key);
    let usubs = distinct(usubs, |id| ctx.b.node(id).key);
    let (on, un) = (osubs.len(), usubs.len());
    if on < un {
        ctx.add(if uc == Criterion::All {
            T::PRODUCT_TYPE_EXTENDED
        } else {
            T::SUM_TYPE_EXTENDED
        });
    } else if on > un {
        ctx.add(if oc == Criterion::All {
            T::PRODUCT_TYPE_NARROWED
        } else {
            T::SUM_TYPE_NARROWED
        });
    }

    // edges[i] = (j, differences) for every update branch j that reads original branch i.
    let mut edges: Vec<Vec<(usize, Vec<Raw>)>> = Vec::with_capacity(on);
    for (i, &o) in osubs.iter().enumerate() {
        ctx.push(format!("{}/{i}", oc.keyword()));
        let mut row = Vec::new();
        for (j, &u) in usubs.iter().enumerate() {
            let found = ctx.sub(|c| c.compare(Some(o), Some(u)));
            if ctx.compatible(&found) {
                row.push((j, found));
            }
        }
        ctx.pop();
        edges.push(row);
    }
    let matched = maximum_matching(&edges, un);
    let mut size = 0;
    for (i, j) in matched.iter().enumerate() {
        if let Some(j) = j {
            size += 1;
            if let Some((_, found)) = edges[i].iter().find(|(jj, _)| jj == j) {
                ctx.extend(found.clone());
            }
        }
    }
    if size < on.min(un) {
        // No matching covers the smaller side: some branch has no compatible counterpart.
        ctx.add(T::COMBINED_TYPE_SUBSCHEMAS_CHANGED);
    }
}

fn distinct(ids: &[NodeId], key: impl Fn(NodeId) -> ContentId) -> Vec<NodeId> {
    let mut seen = std::collections::HashSet::new();
    ids.iter()
        .copied()
        .filter(|&id| seen.insert(key(id)))
        .collect()
}

/// Confluent's `compareCriteria`: a changed keyword is fine when the update is `anyOf`, or
/// when singletons make the criteria equivalent.
fn compare_criteria(
    ctx: &mut Ctx<'_>,
    oc: Criterion,
    on: usize,
    uc: Criterion,
    un: usize,
) -> Option<T> {
    if oc == uc {
        return None;
    }
    let extended = uc == Criterion::Any
        || (on == 1 && un == 1)
        || (on == 1 && uc == Criterion::One)
        || (un == 1 && oc == Criterion::All);
    let kind = if extended {
        T::COMBINED_TYPE_EXTENDED
    } else {
        T::COMBINED_TYPE_CHANGED
    };
    ctx.add(kind);
    Some(kind)
}

/// Kuhn's augmenting paths: for each original branch, the update branch it is matched with.
fn maximum_matching(edges: &[Vec<(usize, Vec<Raw>)>], right: usize) -> Vec<Option<usize>> {
    let mut owner: Vec<Option<usize>> = vec![None; right];
    for i in 0..edges.len() {
        let mut seen = vec![false; right];
        augment(i, edges, &mut owner, &mut seen);
    }
    let mut matched = vec![None; edges.len()];
    for (j, i) in owner.iter().enumerate() {
        if let Some(i) = i {
            matched[*i] = Some(j);
        }
    }
    matched
}

fn augment(
    i: usize,
    edges: &[Vec<(usize, Vec<Raw>)>],
    owner: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for (j, _) in &edges[i] {
        if seen[*j] {
            continue;
        }
        seen[*j] = true;
        if owner[*j].is_none_or(|k| augment(k, edges, owner, seen)) {
            owner[*j] = Some(i);
            return true;
        }
    }
    false
}
