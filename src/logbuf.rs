//! The log writer: lines go into memory, and a thread of their own writes them
//! to standard error in batches.
//!
//! Why: one `write(2)` per line, on the webhook's thread, was about 15 % of a
//! greeting's CPU (BENCHMARKS.md, issue 16). A channel to a writer thread
//! (tracing-appender) moved the call off the webhook's path but kept one wake-up
//! and one `write` per line, so the CPU stayed. Here a line costs a lock and a
//! copy; the flusher writes whatever has gathered every [`FLUSH_EVERY`], or at
//! once when [`SOON`] bytes are waiting, outside the lock.
//!
//! What it promises:
//! - lines keep their order, and a line is never cut (one lock per line);
//! - a line is on standard error at most [`FLUSH_EVERY`] after it was logged, and
//!   everything is written when the [`Flusher`] is dropped (the end of `main`);
//! - a webhook never waits on a stuck reader of standard error (a full pipe): past
//!   [`MAX_WAITING`] bytes, new lines are dropped and counted, and the flusher
//!   says how many once it can write again.
//!
//! What it gives up: lines of the last [`FLUSH_EVERY`] are lost if the process is
//! killed (`SIGKILL`) or aborts; a panic is caught per webhook and does not end
//! the process.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Longest a line waits in memory.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Bytes waiting that wake the flusher before its time.
const SOON: usize = 64 * 1024;
/// Bytes waiting past which new lines are dropped (standard error is stuck).
const MAX_WAITING: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct Waiting {
    bytes: Vec<u8>,
    dropped: u64,
    closing: bool,
}

#[derive(Default)]
struct Shared {
    waiting: Mutex<Waiting>,
    wake: Condvar,
}

/// Where the log lines go: a `MakeWriter` for `tracing_subscriber`.
#[derive(Clone)]
pub struct LogBuffer {
    shared: Arc<Shared>,
}

/// The thread that writes the lines; dropping it writes what is left.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// One line being written (the formatter writes each line in one call).
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Ok(mut w) = self.0.waiting.lock() else {
            return Ok(buf.len());
        };
        if w.bytes.len() + buf.len() > MAX_WAITING {
            w.dropped += 1;
            return Ok(buf.len());
        }
        let was = w.bytes.len();
        w.bytes.extend_from_slice(buf);
        if was < SOON && w.bytes.len() >= SOON {
            self.0.wake.notify_one();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line(&self.shared)
    }
}

impl LogBuffer {
    /// A buffer whose flusher writes to `out` (standard error in the binary).
    pub fn new(out: impl Write + Send + 'static) -> (LogBuffer, Flusher) {
        let shared = Arc::new(Shared::default());
        let flusher = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ozmap-ivr-log".into())
            .spawn(move || flush_loop(&flusher, out))
            .ok();
        let buffer = LogBuffer {
            shared: shared.clone(),
        };
        (buffer, Flusher { shared, thread })
    }
}

fn flush_loop(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let (dropped, closing) = {
            let Ok(mut w) = shared.waiting.lock() else {
                return;
            };
            if w.bytes.len() < SOON && !w.closing {
                w = match shared.wake.wait_timeout(w, FLUSH_EVERY) {
                    Ok((w, _)) => w,
                    Err(_) => return,
                };
            }
            std::mem::swap(&mut batch, &mut w.bytes);
            (std::mem::take(&mut w.dropped), w.closing)
        };
        if dropped > 0 {
            let _ = writeln!(
                out,
                "ozmap-ivr: {dropped} log lines dropped (standard error was not read)"
            );
        }
        if !batch.is_empty() {
            // A failed write (standard error closed) loses these lines only.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
        }
        if closing {
            return;
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        if let Ok(mut w) = self.shared.waiting.lock() {
            w.closing = true;
        }
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the flusher wrote, and how many writes it took.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut s = self.0.lock().unwrap();
            s.0.extend_from_slice(buf);
            s.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn line(buffer: &LogBuffer, text: &str) {
        use tracing_subscriber::fmt::MakeWriter;
        buffer.make_writer().write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn lines_arrive_in_order_in_few_writes_and_all_at_drop() {
        let sink = Sink::default();
        let (buffer, flusher) = LogBuffer::new(sink.clone());
        for i in 0..1000 {
            line(&buffer, &format!("line {i}\n"));
        }
        drop(flusher);
        let (bytes, writes) = sink.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
        assert!(writes < 10, "{writes} writes for 1000 lines");
    }

    #[test]
    fn a_line_is_written_within_the_flush_interval() {
        let sink = Sink::default();
        let (buffer, _flusher) = LogBuffer::new(sink.clone());
        line(&buffer, "hello\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.0.lock().unwrap().0.is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.0.lock().unwrap().0, b"hello\n");
    }

    /// A writer that blocks until told (a pipe nobody reads).
    struct Stuck(Arc<(Mutex<bool>, Condvar)>, Sink);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (open, cv) = &*self.0;
            let mut o = open.lock().unwrap();
            while !*o {
                o = cv.wait(o).unwrap();
            }
            self.1.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_reader_drops_lines_instead_of_blocking_and_says_so() {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let sink = Sink::default();
        let (buffer, flusher) = LogBuffer::new(Stuck(gate.clone(), sink.clone()));
        line(&buffer, "first\n");
        // Let the flusher take "first" and block on it.
        std::thread::sleep(FLUSH_EVERY * 3);
        let big = "x".repeat(1024 * 1024 - 1) + "\n";
        let started = std::time::Instant::now();
        for _ in 0..12 {
            line(&buffer, &big);
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "logging blocked"
        );
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        drop(flusher);
        let text = String::from_utf8(sink.0.lock().unwrap().0.clone()).unwrap();
        assert!(text.starts_with("first\n"));
        assert!(text.contains(" log lines dropped"), "no drop notice");
        // At most MAX_WAITING bytes kept, and at least some of the big lines.
        let kept = text.matches('\n').count();
        assert!((4..12).contains(&kept), "{kept} lines kept");
    }
}
