//! The progress bar (by bytes read), on stderr, only when stderr is a terminal and stdout is
//! not a pipe (a pager or `head` reading the output shares the terminal: a bar would be drawn
//! over it): the binary's way of showing the library's [`Progress`] reports. It is cleared
//! when the run ends, early or not.

use std::io::IsTerminal;

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
