//! The shipped binary is lean: the release profile strips it, and a separate profile keeps
//! what profilers need.

use std::path::Path;

#[test]
fn the_release_profile_strips_the_binary_and_the_profiling_profile_keeps_line_tables() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let text = std::fs::read_to_string(&path).expect("read the workspace Cargo.toml");
    let manifest: toml::Table = text.parse().expect("Cargo.toml parses");
    let profile = |name: &str| -> toml::Table {
        manifest["profile"][name]
            .as_table()
            .unwrap_or_else(|| panic!("no [profile.{name}]"))
            .clone()
    };
    let release = profile("release");
    assert_eq!(release.get("strip"), Some(&toml::Value::Boolean(true)));
    assert_eq!(release.get("debug"), Some(&toml::Value::Boolean(false)));
    let profiling = profile("profiling");
    assert_eq!(profiling["inherits"].as_str(), Some("release"));
    assert_eq!(profiling["debug"].as_str(), Some("line-tables-only"));
    assert_eq!(profiling.get("strip"), Some(&toml::Value::Boolean(false)));
}
