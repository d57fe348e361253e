//! Progress of long runs (export, import): a bar on stderr when progress is on (by default
//! when stderr is a terminal and the run is long; `--progress always` draws it whatever stderr
//! is, `never` never); nothing otherwise (the command prints a summary line when done).

use std::io::Write;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

use crate::output::{show_progress, ProgressMode};

/// With `--progress auto`, runs of at least this many steps get a bar.
const LONG: u64 = 20;

/// A progress bar, or nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Leave the finished bar on stderr (forced progress: logs keep the final state).
    keep: bool,
}

impl Progress {
    /// A bar of `len` steps labelled `what`, when worth showing.
    pub fn new(len: u64, what: &str) -> Self {
        Self::with_mode(len, what, crate::output::progress_mode())
    }

    fn with_mode(len: u64, what: &str, mode: ProgressMode) -> Self {
        let forced = mode == ProgressMode::Always;
        if !show_progress() || (!forced && len < LONG) {
            return Progress {
                bar: None,
                keep: false,
            };
        }
        // indicatif hides its bar when stderr is not a terminal; a forced bar writes to
        // stderr through its own terminal.
        let target = if forced {
            ProgressDrawTarget::term_like_with_hz(Box::new(Stderr), 10)
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        bar.tick();
        Progress {
            bar: Some(bar),
            keep: forced,
        }
    }

    /// One step done.
    pub fn inc(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    /// Remove the bar (or, when forced, leave it finished).
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            if self.keep {
                b.finish();
            } else {
                b.finish_and_clear();
            }
        }
    }
}

/// Stderr as a terminal of fixed width, for forced progress.
#[derive(Debug)]
struct Stderr;

impl Stderr {
    fn write(&self, s: &str) -> std::io::Result<()> {
        std::io::stderr().lock().write_all(s.as_bytes())
    }
}

impl TermLike for Stderr {
    fn width(&self) -> u16 {
        100
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n > 0 {
            self.write(&format!("\x1b[{n}A"))?;
        }
        Ok(())
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n > 0 {
            self.write(&format!("\x1b[{n}B"))?;
        }
        Ok(())
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n > 0 {
            self.write(&format!("\x1b[{n}C"))?;
        }
        Ok(())
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n > 0 {
            self.write(&format!("\x1b[{n}D"))?;
        }
        Ok(())
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write(&format!("{s}\n"))
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.write(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.write("\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
