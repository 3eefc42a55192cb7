//! Where a command's human-readable lines go. Nothing below the CLI prints: a training or
//! a reproduction writes its tables, notes, warnings and progress to the [`Console`] it is
//! handed. The CLI hands [`Console::stdio`] (results on stdout; notes, warnings and progress
//! on stderr); a program embedding the library, or a test, hands [`Console::quiet`] (the
//! default: the run directory holds everything) or [`Console::capture`].

use indicatif::{ProgressBar, ProgressDrawTarget};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

/// The one progress-bar template of every command: label, elapsed time, bar, position,
/// rate and time left.
pub const BAR_TEMPLATE: &str =
    "{msg:24} [{elapsed_precise}] {bar:40} {pos}/{len} ({per_sec}, eta {eta})";

/// The two kinds of line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// A result: tables and summaries (stdout on the terminal).
    Result,
    /// Everything else: notes, warnings, per-epoch lines, progress (stderr).
    Note,
}

/// A destination for lines.
pub trait Sink: Send + Sync {
    /// Writes one line (without its newline).
    fn line(&self, stream: Stream, text: &str);
    /// Whether progress bars and progress lines are shown.
    fn shows_progress(&self) -> bool;
}

/// A cheap, cloneable handle on a [`Sink`].
#[derive(Clone)]
pub struct Console(Arc<dyn Sink>);

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Console")
    }
}

/// Quiet, as a library should be unless told otherwise.
impl Default for Console {
    fn default() -> Self {
        Self::quiet()
    }
}

struct Stdio;
impl Sink for Stdio {
    fn line(&self, stream: Stream, text: &str) {
        match stream {
            Stream::Result => println!("{text}"),
            Stream::Note => eprintln!("{text}"),
        }
    }
    fn shows_progress(&self) -> bool {
        true
    }
}

struct Quiet;
impl Sink for Quiet {
    fn line(&self, _: Stream, _: &str) {}
    fn shows_progress(&self) -> bool {
        false
    }
}

/// The lines a [`Console::capture`] console received, in order.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<(Stream, String)>>>);

impl Captured {
    /// Every line so far.
    pub fn lines(&self) -> Vec<(Stream, String)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// The lines of one stream, joined by newlines.
    pub fn text(&self, stream: Stream) -> String {
        let lines: Vec<String> = self
            .lines()
            .into_iter()
            .filter(|(s, _)| *s == stream)
            .map(|(_, t)| t)
            .collect();
        lines.join("\n")
    }
}

impl Sink for Captured {
    fn line(&self, stream: Stream, text: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((stream, text.to_string()));
    }
    fn shows_progress(&self) -> bool {
        false
    }
}

impl Console {
    /// Results to stdout, the rest to stderr, progress bars on a terminal (and progress lines
    /// in a log otherwise).
    pub fn stdio() -> Self {
        Self(Arc::new(Stdio))
    }

    /// Drops every line and shows no progress.
    pub fn quiet() -> Self {
        Self(Arc::new(Quiet))
    }

    /// Keeps every line (and shows no progress); read them from the returned [`Captured`].
    pub fn capture() -> (Self, Captured) {
        let c = Captured::default();
        (Self(Arc::new(c.clone())), c)
    }

    /// A console writing to `sink`.
    pub fn with_sink(sink: Arc<dyn Sink>) -> Self {
        Self(sink)
    }

    /// A result (a table, a summary); a multi-line text is split into lines.
    pub fn result(&self, text: impl AsRef<str>) {
        for l in text.as_ref().lines() {
            self.0.line(Stream::Result, l);
        }
    }

    /// A note (a per-epoch line, where a run went).
    pub fn note(&self, text: impl AsRef<str>) {
        for l in text.as_ref().lines() {
            self.0.line(Stream::Note, l);
        }
    }

    /// A warning, as a note starting `warning:`.
    pub fn warn(&self, w: impl std::fmt::Display) {
        self.note(format!("warning: {w}"));
    }

    /// Whether this console shows progress.
    pub fn shows_progress(&self) -> bool {
        self.0.shows_progress()
    }

    /// A progress bar of `len` steps, drawn on stderr when this console shows progress and
    /// stderr is a terminal, hidden otherwise.
    pub fn progress_bar(&self, len: u64) -> ProgressBar {
        if self.shows_progress() && std::io::stderr().is_terminal() {
            ProgressBar::new(len)
        } else {
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden())
        }
    }

    /// A [`Console::progress_bar`] in the tool's one style ([`BAR_TEMPLATE`]), its message
    /// set to `label` (change it with `set_message`).
    pub fn labelled_bar(&self, len: u64, label: &str) -> ProgressBar {
        let pb = self.progress_bar(len);
        pb.set_style(
            indicatif::ProgressStyle::with_template(BAR_TEMPLATE).expect("a valid template"),
        );
        pb.set_message(label.to_string());
        pb
    }

    /// Whether progress should go as plain lines (the console shows progress but no bar is
    /// drawn: stderr is not a terminal, e.g. a background run writing to a log).
    pub fn wants_progress_lines(&self) -> bool {
        self.shows_progress() && !std::io::stderr().is_terminal()
    }

    /// A line above `pb` while it is drawn, else a note.
    pub fn note_above(&self, pb: &ProgressBar, line: impl AsRef<str>) {
        if pb.is_hidden() {
            self.note(line);
        } else {
            pb.println(line.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_console_keeps_lines_by_stream_and_quiet_shows_nothing() {
        let (c, cap) = Console::capture();
        c.result("table\nrow");
        c.warn("disk almost full");
        c.note("epoch 1");
        assert_eq!(cap.text(Stream::Result), "table\nrow");
        assert_eq!(cap.text(Stream::Note), "warning: disk almost full\nepoch 1");
        assert!(!c.shows_progress());
        assert!(c.progress_bar(3).is_hidden());
        let q = Console::default();
        assert!(!q.shows_progress() && q.progress_bar(3).is_hidden());
        q.result("dropped");
    }
}
