//! Reading the files `strata check` is given: the format of each file (by extension or
//! `--type`), `--reference name=path` entries and Protobuf imports found under `--proto-path`,
//! all turned into [`Dependency`] values for `strata_schema`.
//!
//! It reads files from disk only; it knows nothing of git (see `git.rs`) nor of output.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use strata_schema::{Dependency, SchemaType};

/// The `--type` values accepted on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TypeArg {
    /// Avro (`.avsc`, `.avro`, `.avro.json`).
    Avro,
    /// Protobuf (`.proto`).
    Protobuf,
    /// JSON Schema (`.json`, `.schema.json`).
    Json,
}

impl From<TypeArg> for SchemaType {
    fn from(t: TypeArg) -> Self {
        match t {
            TypeArg::Avro => SchemaType::Avro,
            TypeArg::Protobuf => SchemaType::Protobuf,
            TypeArg::Json => SchemaType::Json,
        }
    }
}

impl From<SchemaType> for TypeArg {
    fn from(t: SchemaType) -> Self {
        match t {
            SchemaType::Avro => TypeArg::Avro,
            SchemaType::Protobuf => TypeArg::Protobuf,
            SchemaType::Json => TypeArg::Json,
        }
    }
}

/// The format of `path` from its extension, if it has a known one.
pub fn type_from_extension(path: &Path) -> Option<SchemaType> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".avsc") || name.ends_with(".avro") || name.ends_with(".avro.json") {
        Some(SchemaType::Avro)
    } else if name.ends_with(".proto") {
        Some(SchemaType::Protobuf)
    } else if name.ends_with(".json") {
        Some(SchemaType::Json)
    } else {
        None
    }
}

/// The format of `path`: `--type` when given, else its extension.
pub fn schema_type_of(path: &Path, forced: Option<TypeArg>) -> Result<SchemaType> {
    if let Some(t) = forced {
        return Ok(t.into());
    }
    match type_from_extension(path) {
        Some(t) => Ok(t),
        None => bail!(
            "cannot tell the schema format of {}: use the extension .avsc, .proto or .json, \
             or pass --type avro|protobuf|json",
            path.display()
        ),
    }
}

/// One `--reference name=path` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceArg {
    /// The name the schema uses for the reference (Avro full name, Protobuf import path,
    /// JSON Schema `$ref` URL).
    pub name: String,
    /// The file holding the referenced schema.
    pub path: PathBuf,
}

/// Parse `name=path` (clap value parser).
pub fn parse_reference(s: &str) -> Result<ReferenceArg, String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => Ok(ReferenceArg {
            name: name.to_string(),
            path: PathBuf::from(path),
        }),
        _ => Err(format!(
            "expected NAME=PATH (e.g. com.example.Address=schemas/address.avsc), got '{s}'"
        )),
    }
}

/// Read a schema file, with a message that names it.
pub fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {}: check that the file exists and is readable",
            path.display()
        )
    })
}

/// The dependencies given with `--reference`: subject = the file name, version 0.
pub fn reference_dependencies(
    references: &[ReferenceArg],
    forced: Option<TypeArg>,
    default_type: SchemaType,
) -> Result<Vec<Dependency>> {
    references
        .iter()
        .map(|r| {
            let schema = read_text(&r.path)
                .with_context(|| format!("in --reference {}={}", r.name, r.path.display()))?;
            let schema_type = match forced {
                Some(t) => t.into(),
                None => type_from_extension(&r.path).unwrap_or(default_type),
            };
            Ok(Dependency {
                name: r.name.clone(),
                subject: file_name(&r.path),
                version: 0,
                schema_type,
                schema,
                dependencies: Vec::new(),
            })
        })
        .collect()
}

/// The file name of `path` as a string (the whole path when it has none).
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The import paths of a `.proto` text (`import "a/b.proto";`, `import public ...`).
fn proto_imports(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for statement in text.split(';') {
        let s = strip_comments(statement);
        let s = s.trim();
        let Some(rest) = s.strip_prefix("import") else {
            continue;
        };
        if !rest.starts_with(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
            continue;
        }
        let rest = rest.trim_start();
        let rest = rest
            .strip_prefix("public")
            .or_else(|| rest.strip_prefix("weak"))
            .unwrap_or(rest)
            .trim();
        let quoted = rest.trim_matches(|c| c == '"' || c == '\'');
        if !quoted.is_empty() {
            out.push(quoted.to_string());
        }
    }
    out
}

/// `text` without `//` line comments and `/* */` block comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let line = rest.find("//");
        let block = rest.find("/*");
        match (line, block) {
            (Some(l), b) if b.is_none_or(|b| l < b) => {
                out.push_str(&rest[..l]);
                rest = match rest[l..].find('\n') {
                    Some(n) => &rest[l + n..],
                    None => "",
                };
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                rest = match rest[b..].find("*/") {
                    Some(e) => &rest[b + e + 2..],
                    None => "",
                };
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// Resolve the imports of a Protobuf `text` from the `--proto-path` directories, recursively,
/// as dependencies. Imports already given with `--reference`, and imports found in no
/// directory (e.g. `google/protobuf/*.proto`, which `strata_schema` knows), are left out.
pub fn proto_dependencies(
    text: &str,
    proto_paths: &[PathBuf],
    already: &[Dependency],
) -> Result<Vec<Dependency>> {
    let mut found: BTreeMap<String, Dependency> = BTreeMap::new();
    let mut pending = proto_imports(text);
    while let Some(import) = pending.pop() {
        if found.contains_key(&import) || already.iter().any(|d| d.name == import) {
            continue;
        }
        let Some(path) = proto_paths
            .iter()
            .map(|d| d.join(&import))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let schema = read_text(&path)?;
        pending.extend(proto_imports(&schema));
        found.insert(
            import.clone(),
            Dependency {
                name: import,
                subject: file_name(&path),
                version: 0,
                schema_type: SchemaType::Protobuf,
                schema,
                dependencies: Vec::new(),
            },
        );
    }
    Ok(found.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_imports_are_found_outside_comments() {
        let text = "syntax = \"proto3\";\n// import \"no.proto\";\nimport \"a/b.proto\";\n\
                    import public \"c.proto\";\n/* import \"x.proto\"; */ message M {}";
        assert_eq!(proto_imports(text), vec!["a/b.proto", "c.proto"]);
    }

    #[test]
    fn extensions_name_the_format() {
        assert_eq!(
            type_from_extension(Path::new("a/user.avsc")),
            Some(SchemaType::Avro)
        );
        assert_eq!(
            type_from_extension(Path::new("user.avro.json")),
            Some(SchemaType::Avro)
        );
        assert_eq!(
            type_from_extension(Path::new("user.schema.json")),
            Some(SchemaType::Json)
        );
        assert_eq!(
            type_from_extension(Path::new("user.proto")),
            Some(SchemaType::Protobuf)
        );
        assert_eq!(type_from_extension(Path::new("user.txt")), None);
    }

    #[test]
    fn a_reference_needs_a_name_and_a_path() {
        assert!(parse_reference("a=b.avsc").is_ok());
        assert!(parse_reference("=b.avsc").is_err());
        assert!(parse_reference("nopath").is_err());
    }
}
