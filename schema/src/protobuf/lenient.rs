//! Confluent's leniency when it builds descriptors from `.proto` text (`toDynamicSchema`), applied
//! to the files handed to the compiler when a strict compile fails:
//!
//! - custom options whose name is not a known extension are left out of the descriptors (they
//!   stay in the schema text: the printer reads the file as written, not these copies);
//! - the root file sees every referenced schema, whatever its import lines name, and an import
//!   that names no reference nor built-in file is ignored (Confluent's default
//!   `schema.validate.fields=false` never checks imports).
//!
//! Nothing here decides whether a schema is valid: the compiler still does, on the copies.

use std::collections::HashSet;

use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    UninterpretedOption,
};

/// Which custom options a lenient copy keeps.
#[derive(Debug, Clone)]
pub(crate) enum CustomOptions {
    /// None: a first pass that learns which extensions the files define.
    Drop,
    /// Those whose name resolves to one of these extension full names.
    Known(HashSet<String>),
}

impl CustomOptions {
    /// Does an option named `(name)` written in `scope` (package and enclosing messages) name a
    /// known extension? Protobuf scoping: the innermost scope first, then outwards.
    fn keeps(&self, scope: &str, name: &str) -> bool {
        let CustomOptions::Known(known) = self else {
            return false;
        };
        if let Some(absolute) = name.strip_prefix('.') {
            return known.contains(absolute);
        }
        let mut scope = scope;
        loop {
            let candidate = if scope.is_empty() {
                name.to_string()
            } else {
                format!("{scope}.{name}")
            };
            if known.contains(&candidate) {
                return true;
            }
            if scope.is_empty() {
                return false;
            }
            scope = scope.rsplit_once('.').map_or("", |(outer, _)| outer);
        }
    }

    fn retain(&self, scope: &str, options: &mut Vec<UninterpretedOption>) {
        options.retain(|o| match o.name.first() {
            Some(part) if part.is_extension => self.keeps(scope, &part.name_part),
            _ => true,
        });
    }
}

/// Leave out of `file` the custom options that `policy` does not keep.
pub(crate) fn strip_custom_options(file: &mut FileDescriptorProto, policy: &CustomOptions) {
    let package = file.package.clone().unwrap_or_default();
    if let Some(o) = file.options.as_mut() {
        policy.retain(&package, &mut o.uninterpreted_option);
    }
    for field in &mut file.extension {
        strip_field(field, &package, policy);
    }
    for message in &mut file.message_type {
        strip_message(message, &package, policy);
    }
    for e in &mut file.enum_type {
        strip_enum(e, &package, policy);
    }
    for service in &mut file.service {
        if let Some(o) = service.options.as_mut() {
            policy.retain(&package, &mut o.uninterpreted_option);
        }
        for method in &mut service.method {
            if let Some(o) = method.options.as_mut() {
                policy.retain(&package, &mut o.uninterpreted_option);
            }
        }
    }
}

fn nested(scope: &str, name: Option<&str>) -> String {
    match (scope.is_empty(), name.unwrap_or("")) {
        (true, name) => name.to_string(),
        (false, name) => format!("{scope}.{name}"),
    }
}

fn strip_message(message: &mut DescriptorProto, scope: &str, policy: &CustomOptions) {
    let scope = nested(scope, message.name.as_deref());
    if let Some(o) = message.options.as_mut() {
        policy.retain(&scope, &mut o.uninterpreted_option);
    }
    for field in message.field.iter_mut().chain(message.extension.iter_mut()) {
        strip_field(field, &scope, policy);
    }
    for oneof in &mut message.oneof_decl {
        if let Some(o) = oneof.options.as_mut() {
            policy.retain(&scope, &mut o.uninterpreted_option);
        }
    }
    for range in &mut message.extension_range {
        if let Some(o) = range.options.as_mut() {
            policy.retain(&scope, &mut o.uninterpreted_option);
        }
    }
    for inner in &mut message.nested_type {
        strip_message(inner, &scope, policy);
    }
    for e in &mut message.enum_type {
        strip_enum(e, &scope, policy);
    }
}

fn strip_field(field: &mut FieldDescriptorProto, scope: &str, policy: &CustomOptions) {
    if let Some(o) = field.options.as_mut() {
        policy.retain(scope, &mut o.uninterpreted_option);
    }
}

fn strip_enum(e: &mut EnumDescriptorProto, scope: &str, policy: &CustomOptions) {
    if let Some(o) = e.options.as_mut() {
        policy.retain(scope, &mut o.uninterpreted_option);
    }
    for value in &mut e.value {
        if let Some(o) = value.options.as_mut() {
            policy.retain(scope, &mut o.uninterpreted_option);
        }
    }
}

/// Keep the imports of `file` that `exists` accepts, then add `extra` ones (not already
/// imported), keeping the public and weak import indexes pointing at the same files.
pub(crate) fn rewrite_imports(
    file: &mut FileDescriptorProto,
    exists: impl Fn(&str) -> bool,
    extra: &[String],
) {
    let old = std::mem::take(&mut file.dependency);
    let mut new_index = vec![None; old.len()];
    for (i, name) in old.into_iter().enumerate() {
        if exists(&name) && !file.dependency.contains(&name) {
            new_index[i] = i32::try_from(file.dependency.len()).ok();
            file.dependency.push(name);
        }
    }
    let remap = |indexes: &mut Vec<i32>| {
        *indexes = indexes
            .iter()
            .filter_map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| new_index.get(i).copied())
            })
            .flatten()
            .collect();
    };
    remap(&mut file.public_dependency);
    remap(&mut file.weak_dependency);
    for name in extra {
        if !file.dependency.contains(name) {
            file.dependency.push(name.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_names_resolve_from_the_innermost_scope_outwards() {
        let known =
            CustomOptions::Known(HashSet::from(["acme.opt".to_string(), "top".to_string()]));
        assert!(known.keeps("acme.M.N", "opt"));
        assert!(known.keeps("acme", "acme.opt"));
        assert!(known.keeps("acme.M", ".acme.opt"));
        assert!(known.keeps("acme.M", "top"));
        assert!(!known.keeps("other", "opt"));
        assert!(!known.keeps("acme", ".opt"));
        assert!(!CustomOptions::Drop.keeps("acme", "opt"));
    }

    #[test]
    fn rewritten_imports_keep_public_indexes_on_the_same_files() {
        let mut file = FileDescriptorProto {
            dependency: vec!["gone.proto".into(), "a.proto".into(), "b.proto".into()],
            public_dependency: vec![0, 2],
            ..Default::default()
        };
        rewrite_imports(&mut file, |n| n != "gone.proto", &["c.proto".into()]);
        assert_eq!(file.dependency, ["a.proto", "b.proto", "c.proto"]);
        assert_eq!(file.public_dependency, [1]);
    }
}
