//! Progress of long runs (export, import): a bar on stderr when stderr is a terminal and the
//! run is long; nothing otherwise (the command prints a summary line when done).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Runs of at least this many steps get a bar.
const LONG: u64 = 20;

/// A progress bar, or nothing.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar of `len` steps labelled `what`, when worth showing.
    pub fn new(len: u64, what: &str) -> Self {
        if len < LONG || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(len);
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        Progress(Some(bar))
    }

    /// One step done.
    pub fn inc(&self) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
