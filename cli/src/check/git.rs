//! Old schema versions read from a git revision (`--against git:REV[:PATH]`), with
//! `git rev-parse`, `git ls-tree` and `git show REV:path`: the working tree is never checked
//! out or modified.
//!
//! It runs the `git` program found on `PATH`; it knows nothing of schema formats.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// A git revision in a repository, with the commit it resolved to.
#[derive(Debug, Clone)]
pub struct GitRevision {
    /// The repository's top-level directory.
    pub root: PathBuf,
    /// The revision as the user wrote it (`main`, `HEAD~1`, a tag or a hash).
    pub rev: String,
}

/// What an object at a path of a revision is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A file.
    Blob,
    /// A directory.
    Tree,
}

fn git(dir: &Path, args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .with_context(|| {
            "cannot run git: install git and make sure it is on PATH, or compare against files \
             or a directory instead of a git revision"
                .to_string()
        })
}

impl GitRevision {
    /// Open `rev` in the repository that holds `dir`, checking that the revision exists.
    pub fn open(dir: &Path, rev: &str) -> Result<Self> {
        let out = git(dir, &["rev-parse", "--show-toplevel"])?;
        if !out.status.success() {
            bail!(
                "{} is not inside a git repository: run strata check from the repository, \
                 or compare against files or a directory instead of git:{rev}",
                dir.display()
            );
        }
        let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let spec = format!("{rev}^{{commit}}");
        let out = git(&root, &["rev-parse", "--verify", "--quiet", &spec])?;
        if !out.status.success() {
            bail!(
                "git revision '{rev}' does not exist in {}: give a branch, tag or commit \
                 (see `git log --oneline`)",
                root.display()
            );
        }
        Ok(GitRevision {
            root,
            rev: rev.to_string(),
        })
    }

    /// What `path` (relative to the repository root) is at this revision, or `None` when it
    /// does not exist there.
    pub fn kind(&self, path: &str) -> Result<Option<ObjectKind>> {
        let path = path.trim_end_matches('/');
        if path.is_empty() || path == "." {
            return Ok(Some(ObjectKind::Tree));
        }
        let out = git(&self.root, &["ls-tree", &self.rev, "--", path])?;
        if !out.status.success() {
            bail!(
                "git ls-tree {} -- {path} failed: {}",
                self.rev,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let listing = String::from_utf8_lossy(&out.stdout);
        for line in listing.lines() {
            let Some((meta, name)) = line.split_once('\t') else {
                continue;
            };
            if name != path {
                continue;
            }
            return Ok(match meta.split_whitespace().nth(1) {
                Some("tree") => Some(ObjectKind::Tree),
                Some("blob") => Some(ObjectKind::Blob),
                _ => None,
            });
        }
        Ok(None)
    }

    /// The text of `path` (relative to the repository root) at this revision, or `None` when
    /// the file does not exist there.
    pub fn read(&self, path: &str) -> Result<Option<String>> {
        if self.kind(path)? != Some(ObjectKind::Blob) {
            return Ok(None);
        }
        let spec = format!("{}:{path}", self.rev);
        let out = git(&self.root, &["show", &spec])?;
        if !out.status.success() {
            bail!(
                "git show {spec} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        String::from_utf8(out.stdout)
            .with_context(|| format!("{spec} is not UTF-8 text: schema files must be UTF-8"))
            .map(Some)
    }

    /// `file` (a path on disk) relative to the repository root, with `/` separators.
    pub fn relative(&self, file: &Path) -> Option<String> {
        let abs = absolute(file)?;
        let root = self.root.canonicalize().ok()?;
        let rel = abs.strip_prefix(&root).ok()?;
        Some(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/"),
        )
    }
}

/// `file` made absolute with its directory canonicalised (the file itself may not exist).
fn absolute(file: &Path) -> Option<PathBuf> {
    let abs = if file.is_absolute() {
        file.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(file)
    };
    let parent = abs.parent()?.canonicalize().ok()?;
    Some(parent.join(abs.file_name()?))
}
