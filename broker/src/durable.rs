//! The one way the broker replaces a small file: write a temporary file beside it, fsync it,
//! rename it over the target and fsync the directory, so that after a crash the file holds
//! either the old contents or the new, never a mix or nothing. Group offsets, topic metadata,
//! the log start and the cleaner journal all go through [`replace_file`]; member heartbeats,
//! which a crash may lose, use [`Durability::Volatile`] and skip both fsyncs.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{IoContext, Result};

/// Whether a replaced file must survive a crash of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Write, fsync the file, rename, fsync the directory.
    Durable,
    /// Write and rename only: atomic for readers, but a machine crash may lose it.
    Volatile,
}

/// fsyncs a directory so that a created, renamed or deleted entry in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx("fsync directory", dir)
}

/// Replaces `path` with `bytes` atomically (and, with [`Durability::Durable`], durably). The
/// temporary file has a random suffix, so concurrent writers never share one; it is removed
/// when the write fails.
pub(crate) fn replace_file(path: &Path, bytes: &[u8], sync: Durability) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{:08x}", rand::random::<u32>()));
    let result = (|| {
        let mut f = File::create(&tmp).ctx("write", &tmp)?;
        f.write_all(bytes).ctx("write", &tmp)?;
        if sync == Durability::Durable {
            f.sync_all().ctx("fsync", &tmp)?;
        }
        drop(f);
        fs::rename(&tmp, path).ctx("replace", path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    if sync == Durability::Durable {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_a_file_leaves_the_new_contents_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        replace_file(&path, b"one", Durability::Durable).unwrap();
        replace_file(&path, b"two", Durability::Volatile).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("offsets.json")]);
    }

    #[test]
    fn a_failed_replacement_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        replace_file(&path, b"old", Durability::Durable).unwrap();
        // The target is a non-empty directory: rename fails, the temporary file goes.
        let blocked = dir.path().join("d");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"").unwrap();
        assert!(replace_file(&blocked, b"new", Durability::Durable).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
