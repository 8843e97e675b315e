//! The progress bar (by bytes read), on stderr, only when stderr is a terminal and stdout is
//! not a pipe (a pager or `head` reading the output shares the terminal: a bar would be drawn
//! over it): the binary's way of showing the library's [`Progress`] reports. It is cleared
//! when the run ends, early or not.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use connlens::pipeline::Progress;

/// An indicatif bar counting bytes.
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar for `total` bytes (a spinner when unknown), or nothing when stderr is not a
    /// terminal.
    pub fn for_bytes(total: Option<u64>) -> Option<Bar> {
        if !std::io::stderr().is_terminal() || stdout_is_pipe() {
            return None;
        }
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bytes} ({bytes_per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        Some(Bar(bar))
    }

    /// [`Bar::for_bytes`] as the library takes it.
    pub fn boxed(total: Option<u64>) -> Option<Box<dyn Progress>> {
        Bar::for_bytes(total).map(|b| Box::new(b) as Box<dyn Progress>)
    }

    /// Wraps a reader so that the bar follows what it reads.
    pub fn wrap_read<R: std::io::Read>(&self, read: R) -> indicatif::ProgressBarIter<R> {
        self.0.wrap_read(read)
    }
}

impl Bar {
    /// A handle on the bar, for [`AroundBar`].
    pub fn handle(&self) -> ProgressBar {
        self.0.clone()
    }
}

/// Standard output when it is the same terminal as the bar's: each complete line is written
/// with the bar cleared and drawn again below it, so no frozen copy of the bar is left between
/// the rows. Partial lines wait for their end.
pub struct AroundBar<W: Write> {
    out: W,
    bar: ProgressBar,
    pending: Vec<u8>,
}

impl<W: Write> AroundBar<W> {
    /// `out` written around `bar`.
    pub fn new(out: W, bar: ProgressBar) -> Self {
        AroundBar { out, bar, pending: Vec::new() }
    }

    fn emit(&mut self, upto: usize) -> std::io::Result<()> {
        let (out, pending) = (&mut self.out, &self.pending[..upto]);
        self.bar.suspend(|| out.write_all(pending).and_then(|()| out.flush()))?;
        self.pending.drain(..upto);
        Ok(())
    }
}

impl<W: Write> Write for AroundBar<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last) = self.pending.iter().rposition(|b| *b == b'\n') {
            self.emit(last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() && self.bar.is_finished() {
            self.emit(self.pending.len())?;
        }
        self.out.flush()
    }
}

impl<W: Write> Drop for AroundBar<W> {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let _ = self.emit(self.pending.len());
        }
    }
}

/// Whether standard output is a pipe or a socket (`| less`, `| head`).
fn stdout_is_pipe() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_socket())
}

impl Drop for Bar {
    /// A run that ends early (its output closed, an error) leaves no frozen bar behind.
    fn drop(&mut self) {
        if !self.0.is_finished() {
            self.0.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn bytes_read(&mut self, bytes: u64) {
        self.0.set_position(bytes);
    }

    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}
