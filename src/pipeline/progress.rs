//! Progress of an offline run. The library reports it; whether and how it is shown is the
//! program's choice (the `connlens` binary draws a bar on a terminal), so no display crate
//! appears in the library's signatures.

/// Receives how far an offline run has read. Called from the capture thread (hence `Send`)
/// about once per MiB of input, so it may draw without slowing the run.
pub trait Progress: Send {
    /// `bytes` of the inputs have been read so far (across all files).
    fn bytes_read(&mut self, bytes: u64);
    /// The run has read its inputs (to the end, or as far as it got): the display can go.
    fn finish(&mut self);
}
