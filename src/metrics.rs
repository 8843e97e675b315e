//! `live --metrics ADDR:PORT`: the run's counters as a Prometheus text page on `/metrics`,
//! served by a small HTTP server on its own thread (std::net; one request at a time).
//!
//! The output stage counts through a [`MetricsSink`] (a tee around the normal sink); the
//! capture thread stores its packet counters in the shared [`Metrics`]. Label values are
//! bounded: verdict and cause words, incident kinds, and the `--metrics-top` services with the
//! most failures (the services are counted in a table of at most [`SERVICE_CAP`] entries).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustc_hash::FxHashMap;

use crate::decode::Proto;
use crate::flow::Endpoint;
use crate::incident::Incident;
use crate::output::{Inputs, PublishCounters, Sink, Summary};
use crate::verdict::Verdict;

/// Most services (protocol, server, port) whose failures are counted; failures of others are
/// counted under no service.
pub const SERVICE_CAP: usize = 10_000;

/// The counters a page shows, shared by the output stage, the capture thread and the server.
#[derive(Default)]
pub struct Metrics {
    /// Frames read from the capture.
    pub packets_read: AtomicU64,
    /// libpcap's `received` (packets that passed the filter).
    pub kernel_received: AtomicU64,
    /// Dropped by the kernel (buffer full).
    pub dropped_by_kernel: AtomicU64,
    /// Dropped by the interface.
    pub dropped_by_interface: AtomicU64,
    /// Dropped by connlens (tracker behind).
    pub dropped_by_connlens: AtomicU64,
    counts: Mutex<Counts>,
    publish: OnceLock<Arc<PublishCounters>>,
    top: usize,
}

#[derive(Default)]
struct Counts {
    attempts: u64,
    verdicts: BTreeMap<(&'static str, &'static str), u64>,
    /// Verdicts written and then corrected (live), by the verdict and cause taken back.
    revised: BTreeMap<(&'static str, &'static str), u64>,
    incidents: BTreeMap<&'static str, u64>,
    /// Failures by service, then by verdict.
    services: FxHashMap<(Proto, Endpoint), BTreeMap<&'static str, u64>>,
    unranked_failures: u64,
}

impl Metrics {
    /// Metrics showing the `top` services with the most failures.
    pub fn new(top: usize) -> Metrics {
        Metrics { top, ..Metrics::default() }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one verdict.
    pub fn verdict(&self, v: &Verdict) {
        let mut c = self.counts();
        match v.revises {
            // A correction: the attempt was counted with its first line. Counters only go up,
            // so the verdict taken back is counted apart.
            Some(earlier) => {
                *c.revised.entry((earlier.kind().as_str(), earlier.word())).or_default() += 1;
            }
            None => c.attempts += 1,
        }
        *c.verdicts.entry((v.kind().as_str(), v.cause.word())).or_default() += 1;
        if v.cause.is_failure() {
            let key = (v.proto, v.server);
            let len = c.services.len();
            let verdict = v.kind().as_str();
            match c.services.get_mut(&key) {
                Some(by) => *by.entry(verdict).or_default() += 1,
                None if len < SERVICE_CAP => {
                    c.services.insert(key, BTreeMap::from([(verdict, 1)]));
                }
                None => c.unranked_failures += 1,
            }
        }
    }

    /// Counts one incident.
    pub fn incident(&self, i: &Incident) {
        *self.counts().incidents.entry(i.kind.as_str()).or_default() += 1;
    }

    /// The page, in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(4096);
        let c = self.counts();
        family(&mut s, "connlens_attempts_total", "counter", "Attempts given a verdict.");
        let _ = writeln!(s, "connlens_attempts_total {}", c.attempts);
        family(&mut s, "connlens_verdicts_total", "counter", "Verdicts by verdict and cause.");
        for ((verdict, cause), n) in &c.verdicts {
            let _ = writeln!(
                s,
                "connlens_verdicts_total{{verdict=\"{}\",cause=\"{}\"}} {n}",
                escape(verdict),
                escape(cause)
            );
        }
        family(
            &mut s,
            "connlens_verdicts_revised_total",
            "counter",
            "Verdicts written and then corrected by a later line of the same attempt, by the verdict and cause taken back (verdicts_total minus these counts each attempt's last verdict).",
        );
        for ((verdict, cause), n) in &c.revised {
            let _ = writeln!(
                s,
                "connlens_verdicts_revised_total{{verdict=\"{}\",cause=\"{}\"}} {n}",
                escape(verdict),
                escape(cause)
            );
        }
        family(&mut s, "connlens_incidents_total", "counter", "Incidents by kind.");
        for (kind, n) in &c.incidents {
            let _ = writeln!(s, "connlens_incidents_total{{kind=\"{}\"}} {n}", escape(kind));
        }
        family(
            &mut s,
            "connlens_service_failures_total",
            "counter",
            "Failed attempts by service and verdict, for the services with the most failures only.",
        );
        let mut ranked: Vec<(&(Proto, Endpoint), u64)> =
            c.services.iter().map(|(k, by)| (k, by.values().sum())).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        for ((proto, server), _) in ranked.into_iter().take(self.top) {
            for (verdict, n) in c.services.get(&(*proto, *server)).into_iter().flatten() {
                let _ = writeln!(
                    s,
                    "connlens_service_failures_total{{proto=\"{}\",server=\"{}\",port=\"{}\",verdict=\"{}\"}} {n}",
                    proto.as_str(),
                    server.ip,
                    server.port,
                    escape(verdict)
                );
            }
        }
        drop(c);
        family(&mut s, "connlens_packets_read_total", "counter", "Frames read from the capture.");
        let _ = writeln!(s, "connlens_packets_read_total {}", self.packets_read.load(Relaxed));
        family(
            &mut s,
            "connlens_packets_received_total",
            "counter",
            "Packets libpcap received (passed the filter).",
        );
        let _ =
            writeln!(s, "connlens_packets_received_total {}", self.kernel_received.load(Relaxed));
        family(&mut s, "connlens_packets_dropped_total", "counter", "Packets dropped, by where.");
        for (by, n) in [
            ("kernel", &self.dropped_by_kernel),
            ("interface", &self.dropped_by_interface),
            ("connlens", &self.dropped_by_connlens),
        ] {
            let _ =
                writeln!(s, "connlens_packets_dropped_total{{by=\"{by}\"}} {}", n.load(Relaxed));
        }
        if let Some(p) = self.publish.get() {
            family(
                &mut s,
                "connlens_publish_lines_total",
                "counter",
                "Lines for the broker, by what became of them.",
            );
            for (what, n) in [
                ("published", &p.published),
                ("duplicate", &p.duplicates),
                ("spooled", &p.spooled),
                ("resent", &p.resent),
                ("dropped", &p.dropped),
            ] {
                let _ = writeln!(
                    s,
                    "connlens_publish_lines_total{{outcome=\"{what}\"}} {}",
                    n.load(Relaxed)
                );
            }
        }
        s
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("top", &self.top).finish_non_exhaustive()
    }
}

fn family(s: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the text format needs it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Answers requests for the page on `listener` (bound by the caller, before it gives up its
/// privileges), on a thread of its own until the process ends.
pub fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> io::Result<()> {
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        for conn in listener.incoming().flatten() {
            let _ = answer(conn, &metrics);
        }
    })?;
    Ok(())
}

fn answer(mut conn: TcpStream, metrics: &Metrics) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    conn.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request = String::new();
    reader.by_ref().take(8192).read_line(&mut request)?;
    // The headers, up to the blank line (bounded).
    let mut line = String::new();
    for _ in 0..100 {
        line.clear();
        if reader.by_ref().take(8192).read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    let mut words = request.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, kind, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics.render())
        }
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain", "see /metrics\n".to_string()),
        _ => ("405 Method Not Allowed", "text/plain", "GET /metrics\n".to_string()),
    };
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        conn.write_all(body.as_bytes())?;
    }
    conn.flush()
}

/// Counts what goes through to the inner sink.
pub struct MetricsSink {
    inner: Box<dyn Sink>,
    metrics: Arc<Metrics>,
}

impl MetricsSink {
    /// A tee around `inner` (whose publishing counters, if any, the page shows too).
    pub fn new(inner: Box<dyn Sink>, metrics: Arc<Metrics>) -> MetricsSink {
        if let Some(p) = inner.publish_counters() {
            let _ = metrics.publish.set(p);
        }
        MetricsSink { inner, metrics }
    }
}

impl Sink for MetricsSink {
    fn verdict(&mut self, v: &Verdict, inputs: &Inputs) -> io::Result<()> {
        self.metrics.verdict(v);
        self.inner.verdict(v, inputs)
    }

    fn incident(&mut self, i: &Incident) -> io::Result<()> {
        self.metrics.incident(i);
        self.inner.incident(i)
    }

    fn finish(&mut self, summary: Option<&Summary>) -> io::Result<()> {
        self.inner.finish(summary)
    }

    fn publish_counters(&self) -> Option<Arc<PublishCounters>> {
        self.inner.publish_counters()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Label values are escaped; the page names every family once.
    #[test]
    fn page_shape() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let m = Metrics::new(10);
        let page = m.render();
        assert!(
            page.contains("# TYPE connlens_attempts_total counter\nconnlens_attempts_total 0\n")
        );
        assert!(!page.contains("publish"));
    }

    /// A correction counts no new attempt; the verdict it takes back is counted apart.
    #[test]
    fn a_correction_is_counted_as_revised() {
        use crate::decode::Proto;
        use crate::flow::Endpoint;
        use crate::verdict::Cause;
        let (c, s) =
            (Endpoint::new([192, 0, 2, 1].into(), 40000), Endpoint::new([192, 0, 2, 2].into(), 80));
        let first = Verdict::for_test(Cause::Reset, Proto::Tcp, c, s);
        let mut second = Verdict::for_test(Cause::InjectedReset, Proto::Tcp, c, s);
        second.revises = Some(Cause::Reset);
        let m = Metrics::new(10);
        m.verdict(&first);
        m.verdict(&second);
        let page = m.render();
        assert!(page.contains("\nconnlens_attempts_total 1\n"), "{page}");
        assert!(
            page.contains(
                "connlens_verdicts_revised_total{verdict=\"refused\",cause=\"reset\"} 1\n"
            )
        );
        assert!(page.contains(
            "connlens_verdicts_total{verdict=\"established\",cause=\"injected-reset\"} 1\n"
        ));
    }
}
