//! Turning `.proto` text (or a base64 `FileDescriptorProto`) plus its [`Dependency`] values into
//! a compiled [`DescriptorPool`], with protox as the compiler.
//!
//! Imports resolve through the dependencies (by reference name, recursively), then through the
//! built-in files of [`super::well_known`]. A base64 descriptor (the root or a dependency) is
//! printed as `.proto` text first, as Confluent's `toProtoFile` does, with its custom options
//! read against a pool of its imports. Nothing is read from disk. Errors carry the parser's
//! message and the line and column where it points.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use prost::Message as _;
use prost_reflect::{DescriptorPool, FileDescriptor};
use prost_types::FileDescriptorProto;
use protox::file::{File, FileResolver, GoogleFileResolver};

use super::diff::Model;
use super::lenient::{self, CustomOptions};
use super::{canonical, option_value, well_known};
use crate::{Dependency, Error, Result, SchemaType};

/// The file name the schema being parsed gets inside its pool. Confluent names the root of a
/// dynamic schema `default` too (`ProtobufSchema.DEFAULT_NAME`).
pub(crate) const ROOT_NAME: &str = "default";

/// Where a file of the pool came from, for Confluent's rule that a message type reached through a
/// reference is only compared again when the references differ (`FieldSchemaDiff`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The schema itself (Confluent's dummy reference `("", "", -1)`).
    Root,
    /// A direct reference: subject and version.
    Reference(String, i32),
    /// Reached only through another dependency, or built in: Confluent has no reference for it.
    Unreferenced,
}

/// A compiled schema: its pool, its root file, and what the diff and the printer need.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    /// Every file of the schema, imports included.
    pub pool: DescriptorPool,
    /// The root file.
    pub root: FileDescriptor,
    /// The root as written: type names unresolved, options uninterpreted (protox-parse output).
    pub written: FileDescriptorProto,
    /// Origin of each file by name.
    pub origins: HashMap<String, Origin>,
    /// Source text of each dependency file by name (to skip comparing identical imports).
    pub sources: HashMap<String, String>,
    /// What the diff compares, extracted once.
    pub model: Model,
}

impl Compiled {
    /// The origin of the file `name` (built-in and unknown files count as unreferenced).
    pub fn origin(&self, name: &str) -> &Origin {
        const UNREFERENCED: &Origin = &Origin::Unreferenced;
        self.origins.get(name).unwrap_or(UNREFERENCED)
    }
}

struct DepEntry {
    text: String,
    origin: Origin,
}

/// Flatten the dependency tree by name. Direct references win over transitive ones, as in
/// Confluent where only direct references carry a subject and version.
fn flatten(deps: &[Dependency], out: &mut HashMap<String, DepEntry>) {
    for dep in deps {
        out.entry(dep.name.clone()).or_insert_with(|| DepEntry {
            text: dep.schema.clone(),
            origin: Origin::Reference(dep.subject.clone(), dep.version),
        });
    }
    let mut stack: Vec<&Dependency> = deps.iter().flat_map(|d| d.dependencies.iter()).collect();
    while let Some(dep) = stack.pop() {
        out.entry(dep.name.clone()).or_insert_with(|| DepEntry {
            text: dep.schema.clone(),
            origin: Origin::Unreferenced,
        });
        stack.extend(dep.dependencies.iter());
    }
}

fn google() -> &'static GoogleFileResolver {
    static GOOGLE: OnceLock<GoogleFileResolver> = OnceLock::new();
    GOOGLE.get_or_init(GoogleFileResolver::new)
}

/// Parse `text` as `.proto` source; if that fails and the text is a base64 serialized
/// `FileDescriptorProto` (Confluent's `toProtoFile` fallback), print it as `.proto` text first.
/// Returns the `.proto` text and the parsed file. `loading` names the serialized descriptors
/// whose custom options are being read further up (a descriptor's options are read against a
/// pool of its imports, which may be descriptors too); they are never loaded again, so a
/// dependency named like a built-in file, or descriptors importing each other, cannot recurse.
fn load(
    name: &str,
    text: &str,
    deps: &Arc<HashMap<String, DepEntry>>,
    loading: &[String],
) -> std::result::Result<(String, File), protox::Error> {
    match File::from_source(name, text) {
        Ok(file) => Ok((text.to_string(), file)),
        Err(parse_error) => match decode_descriptor(text) {
            Some((fd, bytes)) => {
                // Custom options are extensions defined in the descriptor's imports (or
                // Confluent's meta.proto): read them against a pool of those files.
                let mut chain = loading.to_vec();
                chain.push(name.to_string());
                let imports_pool = imports_pool(&fd, deps, chain);
                let extensions = imports_pool
                    .as_ref()
                    .or_else(|| options_pool())
                    .map(|pool| option_value::extension_options(pool, &bytes))
                    .unwrap_or_default();
                let printed = canonical::print_descriptor(&fd, &extensions);
                let file = File::from_source(name, &printed)?;
                Ok((printed, file))
            }
            None => Err(parse_error),
        },
    }
}

/// A base64 (standard alphabet) serialized `FileDescriptorProto`, if `text` is one.
pub(crate) fn decode_descriptor(text: &str) -> Option<(FileDescriptorProto, Vec<u8>)> {
    let trimmed = text.trim();
    // Protobuf source always contains a space, a semicolon or a brace; base64 never does.
    if trimmed.is_empty() || trimmed.contains([' ', ';', '{', '\n']) {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(trimmed)
        .ok()?;
    let fd = FileDescriptorProto::decode(bytes.as_slice()).ok()?;
    // Arbitrary bytes can decode as an (almost) empty message; require some content.
    let has_content = !fd.message_type.is_empty()
        || !fd.enum_type.is_empty()
        || !fd.service.is_empty()
        || fd.package.is_some()
        || fd.syntax.is_some();
    has_content.then_some((fd, bytes))
}

/// A pool of the files a serialized descriptor imports, plus `confluent/meta.proto`, to read its
/// custom options. `None` if they do not compile. `loading` is passed on to [`load`].
fn imports_pool(
    fd: &FileDescriptorProto,
    deps: &Arc<HashMap<String, DepEntry>>,
    loading: Vec<String>,
) -> Option<DescriptorPool> {
    let mut imports: Vec<&str> = fd.dependency.iter().map(String::as_str).collect();
    imports.push("confluent/meta.proto");
    imports.sort_unstable();
    imports.dedup();
    let mut source = String::from("syntax = \"proto3\";\n");
    for import in imports {
        if import == ROOT_NAME || import.contains('"') {
            return None;
        }
        source.push_str(&format!("import \"{import}\";\n"));
    }
    let resolver = Resolver {
        root: File::from_source(ROOT_NAME, &source).ok()?,
        deps: Arc::clone(deps),
        loading,
        lenient: None,
    };
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(false);
    compiler.open_file(ROOT_NAME).ok()?;
    Some(compiler.descriptor_pool())
}

/// A pool that knows `descriptor.proto` and Confluent's `*_meta` extensions, to read the custom
/// options of serialized descriptors when their imports do not compile.
fn options_pool() -> Option<&'static DescriptorPool> {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let source = "syntax = \"proto3\";\nimport \"confluent/meta.proto\";\n";
        let resolver = Resolver {
            root: File::from_source(ROOT_NAME, source).ok()?,
            deps: Arc::new(HashMap::new()),
            loading: Vec::new(),
            lenient: None,
        };
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true).include_source_info(false);
        compiler.open_file(ROOT_NAME).ok()?;
        Some(compiler.descriptor_pool())
    })
    .as_ref()
}

struct Resolver {
    root: File,
    deps: Arc<HashMap<String, DepEntry>>,
    /// Descriptors being loaded further up (see [`load`]): served from the built-in files if
    /// one has the name, otherwise not found.
    loading: Vec<String>,
    /// `Some`: hand the compiler Confluent's lenient reading of the files (see [`lenient`]).
    lenient: Option<Lenient>,
}

/// What a lenient compile changes in the files it hands over.
struct Lenient {
    options: CustomOptions,
    /// Every dependency with text, imported by the root whatever its import lines say.
    root_imports: Vec<String>,
}

impl Resolver {
    /// Whether an import names a file this resolver can open.
    fn resolvable(&self, name: &str) -> bool {
        name != ROOT_NAME
            && (self
                .deps
                .get(name)
                .is_some_and(|d| !d.text.trim().is_empty())
                || well_known::builtin_file(name).is_some()
                || google().open_file(name).is_ok())
    }

    /// A file as the lenient compile sees it: unknown custom options and unresolvable imports
    /// left out, and for the root every dependency imported.
    fn lenient_copy(&self, file: File, lenient: &Lenient, is_root: bool) -> File {
        let mut proto = file.file_descriptor_proto().clone();
        let extra: &[String] = if is_root { &lenient.root_imports } else { &[] };
        lenient::rewrite_imports(&mut proto, |n| self.resolvable(n), extra);
        lenient::strip_custom_options(&mut proto, &lenient.options);
        File::from_file_descriptor_proto(proto)
    }
}

impl FileResolver for Resolver {
    fn open_file(&self, name: &str) -> std::result::Result<File, protox::Error> {
        if name == ROOT_NAME {
            return Ok(match &self.lenient {
                Some(lenient) => self.lenient_copy(self.root.clone(), lenient, true),
                None => self.root.clone(),
            });
        }
        let reentered = self.loading.iter().any(|n| n == name);
        if reentered && well_known::builtin_file(name).is_none() {
            return Err(protox::Error::file_not_found(name));
        }
        // A reference without text (a caller that knows the file is built in) falls through to
        // the built-in files.
        if let Some(dep) = self
            .deps
            .get(name)
            .filter(|d| !reentered && !d.text.trim().is_empty())
        {
            let (_, file) = load(name, &dep.text, &self.deps, &self.loading)?;
            return Ok(match &self.lenient {
                Some(lenient) => self.lenient_copy(file, lenient, false),
                None => file,
            });
        }
        if let Some(text) = well_known::builtin_file(name) {
            return File::from_source(name, text);
        }
        google().open_file(name)
    }
}

/// Compile `text` with its dependencies.
pub(crate) fn compile(text: &str, dependencies: &[Dependency]) -> Result<Compiled> {
    let mut deps = HashMap::new();
    flatten(dependencies, &mut deps);
    let deps = Arc::new(deps);
    let (root_text, root_file) =
        load(ROOT_NAME, text, &deps, &[]).map_err(|e| to_error(&e, text, &deps))?;
    let written = root_file.file_descriptor_proto().clone();

    let pool = match build_pool(&root_file, &deps, None) {
        Ok(pool) => pool,
        // Confluent accepts what only its leniency makes valid. When leniency does not help,
        // the strict error is reported if it says the same (it points into the text) or names
        // a missing import (leniency cannot make up for the file).
        Err(strict) => lenient_pool(&root_file, &deps).map_err(|lenient| {
            let e = if strict.is_file_not_found() || strict.to_string() == lenient.to_string() {
                strict
            } else {
                lenient
            };
            to_error(&e, &root_text, &deps)
        })?,
    };
    let root = pool.get_file_by_name(ROOT_NAME).ok_or_else(|| {
        Error::invalid(SchemaType::Protobuf, "the schema did not compile to a file")
    })?;

    let mut origins = HashMap::new();
    let mut sources = HashMap::new();
    origins.insert(ROOT_NAME.to_string(), Origin::Root);
    for file in pool.files() {
        if let Some(dep) = deps.get(file.name()) {
            origins.insert(file.name().to_string(), dep.origin.clone());
            sources.insert(file.name().to_string(), dep.text.clone());
        }
    }
    let model = Model::build(&pool, &root);
    Ok(Compiled {
        model,
        pool,
        root,
        written,
        origins,
        sources,
    })
}

/// Compile the root file (and what it imports) into a pool.
fn build_pool(
    root: &File,
    deps: &Arc<HashMap<String, DepEntry>>,
    lenient: Option<Lenient>,
) -> std::result::Result<DescriptorPool, protox::Error> {
    let resolver = Resolver {
        root: root.clone(),
        deps: Arc::clone(deps),
        loading: Vec::new(),
        lenient,
    };
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(false);
    compiler.open_file(ROOT_NAME)?;
    Ok(compiler.descriptor_pool())
}

/// Compile as Confluent's `toDynamicSchema` reads a schema: a first pass without custom options
/// learns which extensions exist, a second keeps the custom options that name one.
fn lenient_pool(
    root: &File,
    deps: &Arc<HashMap<String, DepEntry>>,
) -> std::result::Result<DescriptorPool, protox::Error> {
    let mut root_imports: Vec<String> = deps
        .iter()
        .filter(|(name, d)| name.as_str() != ROOT_NAME && !d.text.trim().is_empty())
        .map(|(name, _)| name.clone())
        .collect();
    root_imports.sort_unstable();
    let first = build_pool(
        root,
        deps,
        Some(Lenient {
            options: CustomOptions::Drop,
            root_imports: root_imports.clone(),
        }),
    )?;
    let known = first
        .all_extensions()
        .map(|e| e.full_name().to_string())
        .collect();
    build_pool(
        root,
        deps,
        Some(Lenient {
            options: CustomOptions::Known(known),
            root_imports,
        }),
    )
}

/// Map a protox error to ours: a missing import is a missing reference; anything else is an
/// invalid schema, with the line and column the parser points at.
fn to_error(err: &protox::Error, root_text: &str, deps: &HashMap<String, DepEntry>) -> Error {
    let message = err.to_string();
    if err.is_file_not_found() {
        if let Some(name) = message.split('\'').nth(1) {
            return Error::MissingReference(name.to_string());
        }
    }
    let file = err.file().unwrap_or(ROOT_NAME);
    let source = if file == ROOT_NAME {
        Some(root_text)
    } else {
        deps.get(file)
            .map(|d| d.text.as_str())
            .or_else(|| well_known::builtin_file(file))
    };
    let offset = miette::Diagnostic::labels(err)
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    let location = match (source, offset) {
        (Some(source), Some(offset)) => {
            let (line, column) = line_column(source, offset);
            format!(" (line {line}, column {column})")
        }
        _ => String::new(),
    };
    let in_file = if file == ROOT_NAME {
        String::new()
    } else {
        format!(" in imported file '{file}'")
    };
    Error::invalid(
        SchemaType::Protobuf,
        format!("Could not parse Protobuf schema{in_file}: {message}{location}"),
    )
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(source.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    let before = &source[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab", 0), (1, 1));
    }
}
