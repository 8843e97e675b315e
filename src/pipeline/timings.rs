//! CPU time per pipeline thread (`analyze --timings`): which stage bounds a run, and whether
//! more `--threads` can help (see the README's Performance section).

use std::fmt;
use std::time::Duration;

/// CPU time the calling thread has used so far, from the kernel's per-thread scheduler
/// statistics (nanoseconds). `None` where they are missing (not Linux, or a kernel without
/// them): the timings are then left out, nothing else changes. The kernel adds a running
/// thread's time at scheduler events, so the figure may lag by a tick (a few milliseconds).
pub(crate) fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    parse_schedstat(&text)
}

/// The first field of a `schedstat` file: time spent on the CPU, in nanoseconds.
fn parse_schedstat(text: &str) -> Option<Duration> {
    let ns = text.split_ascii_whitespace().next()?.parse::<u64>().ok()?;
    Some(Duration::from_nanos(ns))
}

/// CPU time by thread, and the run's wall time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadTimes {
    /// (thread, CPU time), in pipeline order: capture, trackers, output. Threads whose time
    /// could not be read are missing.
    pub threads: Vec<(String, Duration)>,
    /// From the start of the run to the end of the summary.
    pub wall: Duration,
}

impl ThreadTimes {
    /// Adds a thread's time, if it could be read.
    pub(crate) fn push(&mut self, name: impl Into<String>, cpu: Option<Duration>) {
        if let Some(cpu) = cpu {
            self.threads.push((name.into(), cpu));
        }
    }
}

impl fmt::Display for ThreadTimes {
    /// `capture 0.231 s, tracker-0 1.452 s, output 1.004 s; CPU 2.687 s in 1.602 s wall`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.threads.is_empty() {
            return write!(
                f,
                "CPU time by thread unavailable; {:.3} s wall",
                self.wall.as_secs_f64()
            );
        }
        let mut total = Duration::ZERO;
        for (i, (name, cpu)) in self.threads.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name} {:.3} s", cpu.as_secs_f64())?;
            total += *cpu;
        }
        write!(f, "; CPU {:.3} s in {:.3} s wall", total.as_secs_f64(), self.wall.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_on_cpu_nanoseconds() {
        assert_eq!(parse_schedstat("717457 0 1\n"), Some(Duration::from_nanos(717_457)));
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("x 0 1"), None);
    }

    #[test]
    fn this_thread_has_used_some_cpu_on_linux() {
        if cfg!(target_os = "linux") {
            // Work until the kernel has accounted 10 ms of this thread's time: on a loaded
            // machine 30 ms of wall time may hold less than that, so no wall-time budget; the
            // 10 s bound only stops a reading that never moves.
            let start = std::time::Instant::now();
            let mut x = 1u64;
            let enough = |d: Option<Duration>| d.is_some_and(|d| d >= Duration::from_millis(10));
            while !enough(thread_cpu()) && start.elapsed() < Duration::from_secs(10) {
                for _ in 0..100_000 {
                    x = std::hint::black_box(x.wrapping_mul(3).wrapping_add(1));
                }
            }
            assert!(enough(thread_cpu()), "{x}");
        }
    }

    #[test]
    fn prints_each_thread_then_the_totals() {
        let mut t = ThreadTimes { threads: Vec::new(), wall: Duration::from_millis(1602) };
        t.push("capture", Some(Duration::from_millis(231)));
        t.push("tracker-0", None);
        t.push("output", Some(Duration::from_millis(1004)));
        assert_eq!(t.to_string(), "capture 0.231 s, output 1.004 s; CPU 1.235 s in 1.602 s wall");
        t.threads.clear();
        assert_eq!(t.to_string(), "CPU time by thread unavailable; 1.602 s wall");
    }
}
