//! Strings, numbers, `enum`, `const` and `not`: Confluent's `StringSchemaDiff`,
//! `NumberSchemaDiff`, `EnumSchemaDiff`, `ConstSchemaDiff` and `NotSchemaDiff`.

use serde_json::{Number, Value};

use super::{Ctx, DifferenceType as T};
use crate::json::model::{NodeId, NumberKind, StringKind};

/// Report an optional bound that was added, removed, raised or lowered.
pub(super) fn bound<V: PartialOrd>(
    ctx: &mut Ctx<'_>,
    keyword: &str,
    original: Option<V>,
    update: Option<V>,
    [added, removed, increased, decreased]: [T; 4],
) {
    match (original, update) {
        (None, None) => {}
        (None, Some(_)) => ctx.add_at(keyword, added),
        (Some(_), None) => ctx.add_at(keyword, removed),
        (Some(o), Some(u)) => {
            if o < u {
                ctx.add_at(keyword, increased);
            } else if o > u {
                ctx.add_at(keyword, decreased);
            }
        }
    }
}

pub(super) fn compare_string(ctx: &mut Ctx<'_>, original: &StringKind, update: &StringKind) {
    use T::*;
    bound(
        ctx,
        "maxLength",
        original.max_length,
        update.max_length,
        [
            MAX_LENGTH_ADDED,
            MAX_LENGTH_REMOVED,
            MAX_LENGTH_INCREASED,
            MAX_LENGTH_DECREASED,
        ],
    );
    bound(
        ctx,
        "minLength",
        original.min_length,
        update.min_length,
        [
            MIN_LENGTH_ADDED,
            MIN_LENGTH_REMOVED,
            MIN_LENGTH_INCREASED,
            MIN_LENGTH_DECREASED,
        ],
    );
    match (&original.pattern, &update.pattern) {
        (None, Some(_)) => ctx.add_at("pattern", PATTERN_ADDED),
        (Some(_), None) => ctx.add_at("pattern", PATTERN_REMOVED),
        (Some(o), Some(u)) if o != u => ctx.add_at("pattern", PATTERN_CHANGED),
        _ => {}
    }
}

fn as_f64(n: &Option<Number>) -> Option<f64> {
    n.as_ref().and_then(Number::as_f64)
}

pub(super) fn compare_number(ctx: &mut Ctx<'_>, original: &NumberKind, update: &NumberKind) {
    use T::*;
    bound(
        ctx,
        "maximum",
        as_f64(&original.maximum),
        as_f64(&update.maximum),
        [
            MAXIMUM_ADDED,
            MAXIMUM_REMOVED,
            MAXIMUM_INCREASED,
            MAXIMUM_DECREASED,
        ],
    );
    bound(
        ctx,
        "minimum",
        as_f64(&original.minimum),
        as_f64(&update.minimum),
        [
            MINIMUM_ADDED,
            MINIMUM_REMOVED,
            MINIMUM_INCREASED,
            MINIMUM_DECREASED,
        ],
    );
    bound(
        ctx,
        "exclusiveMaximum",
        as_f64(&original.exclusive_maximum),
        as_f64(&update.exclusive_maximum),
        [
            EXCLUSIVE_MAXIMUM_ADDED,
            EXCLUSIVE_MAXIMUM_REMOVED,
            EXCLUSIVE_MAXIMUM_INCREASED,
            EXCLUSIVE_MAXIMUM_DECREASED,
        ],
    );
    bound(
        ctx,
        "exclusiveMinimum",
        as_f64(&original.exclusive_minimum),
        as_f64(&update.exclusive_minimum),
        [
            EXCLUSIVE_MINIMUM_ADDED,
            EXCLUSIVE_MINIMUM_REMOVED,
            EXCLUSIVE_MINIMUM_INCREASED,
            EXCLUSIVE_MINIMUM_DECREASED,
        ],
    );
    match (as_f64(&original.multiple_of), as_f64(&update.multiple_of)) {
        (None, None) => {}
        (None, Some(_)) => ctx.add_at("multipleOf", MULTIPLE_OF_ADDED),
        (Some(_), None) => ctx.add_at("multipleOf", MULTIPLE_OF_REMOVED),
        (Some(o), Some(u)) if o != u => {
            // Confluent: a new divisor that is a multiple of the old one accepts fewer values
            // (EXPANDED); one that divides the old one accepts more (REDUCED).
            let kind = if divides(o, u) {
                MULTIPLE_OF_EXPANDED
            } else if divides(u, o) {
                MULTIPLE_OF_REDUCED
            } else {
                MULTIPLE_OF_CHANGED
            };
            ctx.add_at("multipleOf", kind);
        }
        _ => {}
    }
    if original.requires_integer != update.requires_integer {
        ctx.add(if original.requires_integer {
            TYPE_EXTENDED
        } else {
            TYPE_NARROWED
        });
    }
}

/// Whether `multiple` is a whole multiple of `divisor`.
fn divides(divisor: f64, multiple: f64) -> bool {
    if divisor == 0.0 {
        return false;
    }
    let q = multiple / divisor;
    (q - q.round()).abs() < 1e-9
}

pub(super) fn compare_enum(ctx: &mut Ctx<'_>, original: &[Value], update: &[Value]) {
    // With sets: linear in the number of values.
    let contains_all = |a: &[Value], b: &[Value]| {
        let a = crate::json::model::ValueSet::of(a);
        b.iter().all(|v| a.contains(v))
    };
    let same = original.len() == update.len() && contains_all(original, update);
    if same {
        return;
    }
    let kind = if contains_all(update, original) {
        T::ENUM_ARRAY_EXTENDED
    } else if contains_all(original, update) {
        T::ENUM_ARRAY_NARROWED
    } else {
        T::ENUM_ARRAY_CHANGED
    };
    ctx.add_at("enum", kind);
}

pub(super) fn compare_const(ctx: &mut Ctx<'_>, original: &Value, update: &Value) {
    if original != update {
        ctx.add_at("const", T::ENUM_ARRAY_CHANGED);
    }
}

/// Nesting of `not` beyond which a comparison is assumed to hold.
const MAX_NOT_DEPTH: usize = 16;

/// `not` reverses the roles: the update may exclude less than the original did.
pub(super) fn compare_not(ctx: &mut Ctx<'_>, original: NodeId, update: NodeId) {
    ctx.push("not");
    if ctx.not_depth >= MAX_NOT_DEPTH {
        // A `not` recursing into itself: assume the inner comparison holds, as cycles do.
        ctx.add(T::NOT_TYPE_NARROWED);
        return ctx.pop();
    }
    // The comparison runs with the models swapped, so it gets its own context.
    let compatible = {
        let empty = std::collections::HashMap::new();
        let mut swapped = Ctx {
            a: ctx.b,
            b: ctx.a,
            policy: ctx.policy,
            path: ctx.path.clone(),
            out: Vec::new(),
            in_progress: Default::default(),
            memo: Default::default(),
            assumed: &empty,
            cycle_hits: Default::default(),
            not_depth: ctx.not_depth + 1,
            content_memo: Default::default(),
            budget: ctx.budget,
        };
        swapped.compare(Some(update), Some(original));
        swapped.compatible(&swapped.out)
    };
    ctx.add(if compatible {
        T::NOT_TYPE_NARROWED
    } else {
        T::NOT_TYPE_EXTENDED
    });
    ctx.pop();
}
