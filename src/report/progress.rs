//! Progress of long work where no terminal shows a progress bar: indicatif draws nothing
//! when stderr is redirected (a background run writing to a log), so a [`LogTicker`] writes
//! a plain line with the bar's position, rate and remaining time every so often instead.

use super::console::Console;
use indicatif::ProgressBar;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// While alive, and only when the console wants progress lines (it shows progress, but stderr
/// is not a terminal), notes `label: pos/len (rate, eta)` on it every `every`. Dropping it
/// stops the thread at once.
pub struct LogTicker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LogTicker {
    /// Ticks for `pb` under `label` every `every` on `console`; does nothing on a terminal
    /// (the bar shows) or on a console that shows no progress.
    pub fn start(console: &Console, pb: &ProgressBar, label: String, every: Duration) -> Self {
        if !console.wants_progress_lines() {
            return Self {
                stop: None,
                thread: None,
            };
        }
        let (tx, rx) = mpsc::channel::<()>();
        let (pb, console) = (pb.clone(), console.clone());
        let thread = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                console.note(line(&label, &pb));
            }
        });
        Self {
            stop: Some(tx),
            thread: Some(thread),
        }
    }
}

/// One progress line: position, length, rate and estimated time left.
fn line(label: &str, pb: &ProgressBar) -> String {
    format_line(
        label,
        pb.position(),
        pb.length().unwrap_or(0),
        pb.elapsed().as_secs_f64(),
    )
}

/// [`line`] from its numbers. The rate is the mean since the bar started, not indicatif's
/// recent window: that one reads 0/s after a pause (a stopped process, a loaded machine)
/// and turns the estimate into billions of minutes.
fn format_line(label: &str, pos: u64, len: u64, elapsed_s: f64) -> String {
    let rate = if elapsed_s > 0.0 {
        pos as f64 / elapsed_s
    } else {
        0.0
    };
    let left = if rate > 0.0 {
        let eta = (len.saturating_sub(pos) as f64 / rate).round() as u64;
        format!("about {}m{:02}s left", eta / 60, eta % 60)
    } else {
        "time left unknown".to_string()
    };
    format!("{label}: {pos}/{len} ({rate:.2}/s, {left})")
}

impl Drop for LogTicker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_the_position_and_the_length() {
        let pb = ProgressBar::hidden();
        pb.set_length(40);
        pb.inc(10);
        let l = line("epoch 3/15 batches", &pb);
        assert!(l.starts_with("epoch 3/15 batches: 10/40 ("), "{l}");
    }

    #[test]
    fn the_estimate_uses_the_mean_rate_and_says_when_it_has_none() {
        assert_eq!(
            format_line("e", 100, 400, 50.0),
            "e: 100/400 (2.00/s, about 2m30s left)"
        );
        assert_eq!(
            format_line("e", 0, 400, 50.0),
            "e: 0/400 (0.00/s, time left unknown)"
        );
        assert_eq!(
            format_line("e", 0, 400, 0.0),
            "e: 0/400 (0.00/s, time left unknown)"
        );
    }

    #[test]
    fn dropping_a_ticker_stops_it_promptly() {
        let pb = ProgressBar::hidden();
        let t0 = std::time::Instant::now();
        drop(LogTicker::start(
            &Console::stdio(),
            &pb,
            "x".into(),
            Duration::from_secs(3600),
        ));
        assert!(t0.elapsed() < Duration::from_secs(5));
    }
}
