//! Publishing to NATS JetStream (`--publish`): every line of the JSON-lines output, plus a
//! `sensor` field, on `SUBJECT.<sensor>.<type>`.
//!
//! The output stage tees each line to a [`PublishSink`], which hands it to one publisher
//! thread through a bounded channel without ever waiting (a full channel drops the line and
//! counts it). The publisher thread owns the NATS client and its tokio runtime; it publishes in
//! order, waits for the stream's acknowledgements, and keeps what the broker cannot take yet in
//! memory and then in the on-disk [`spool`], sent in order when the broker is back.

mod nats;
pub mod spool;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::incident::Incident;
use crate::output::{Inputs, PublishCounters, Sink, Summary, write_flow_line, write_incident_line};
use crate::verdict::Verdict;

use spool::Record;

/// Where and how to publish.
#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// Server URLs (`nats://host:port`, `tls://host:port`), one per cluster member given.
    pub servers: Vec<String>,
    /// The subject prefix (`connlens`).
    pub subject: String,
    /// The sensor's name (the `sensor` field).
    pub sensor: String,
    /// The stream (created when missing).
    pub stream: String,
    /// The stream's retention age.
    pub max_age: Duration,
    /// The stream's size bound in bytes.
    pub max_bytes: i64,
    /// The stream's replicas when it is created (1, or 3 on a cluster).
    pub replicas: usize,
    /// The spool directory, if any.
    pub spool: Option<PathBuf>,
    /// The spool's bound in bytes (also the bound of what is held in memory without a spool).
    pub spool_max: u64,
    /// How long the end of a run waits for every line to be stored.
    pub wait: Duration,
    /// Credentials: a `.creds` file, a token, or a user and password (from the environment).
    pub auth: Auth,
}

/// How to authenticate. Never printed.
#[derive(Clone, Default)]
pub enum Auth {
    /// None.
    #[default]
    None,
    /// A credentials file (JWT and nkey seed).
    CredsFile(PathBuf),
    /// A token.
    Token(String),
    /// A user and a password.
    UserPassword(String, String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "none",
            Auth::CredsFile(_) => "credentials file",
            Auth::Token(_) => "token",
            Auth::UserPassword(..) => "user and password",
        })
    }
}

impl Auth {
    /// From `CONNLENS_NATS_CREDS` (a file), `CONNLENS_NATS_TOKEN`, or `CONNLENS_NATS_USER` and
    /// `CONNLENS_NATS_PASSWORD`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Auth {
        if let Some(f) = var("CONNLENS_NATS_CREDS") {
            Auth::CredsFile(f.into())
        } else if let Some(t) = var("CONNLENS_NATS_TOKEN") {
            Auth::Token(t)
        } else if let Some(u) = var("CONNLENS_NATS_USER") {
            Auth::UserPassword(u, var("CONNLENS_NATS_PASSWORD").unwrap_or_default())
        } else {
            Auth::None
        }
    }
}

/// A parsed `--publish` (or `report`) URL: servers and the subject (or stream) after the `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatsUrl {
    /// `scheme://host:port`, one per server.
    pub servers: Vec<String>,
    /// What follows the first `/` after the hosts, if anything.
    pub path: Option<String>,
}

impl std::str::FromStr for NatsUrl {
    type Err = String;

    /// `nats://HOST[:PORT][,HOST[:PORT]…][/PATH]`, or `tls://…`. Credentials in the URL are
    /// refused (they would show in `ps`): give them in the environment.
    fn from_str(s: &str) -> Result<NatsUrl, String> {
        let (scheme, rest) = s
            .split_once("://")
            .filter(|(scheme, _)| matches!(*scheme, "nats" | "tls"))
            .ok_or("give a nats://HOST[:PORT][/SUBJECT] or tls://… URL")?;
        let (hosts, path) = match rest.split_once('/') {
            Some((h, p)) => (h, Some(p.to_string()).filter(|p| !p.is_empty())),
            None => (rest, None),
        };
        if hosts.contains('@') {
            return Err("credentials in the URL would show in the process list: \
                        give them in the environment: CONNLENS_NATS_CREDS, CONNLENS_NATS_TOKEN or \
                        CONNLENS_NATS_USER and CONNLENS_NATS_PASSWORD"
                .into());
        }
        let mut servers = Vec::new();
        for h in hosts.split(',') {
            if h.is_empty() || h.contains(char::is_whitespace) {
                return Err("a server in the URL is empty or has spaces".into());
            }
            let port = match h.strip_prefix('[') {
                Some(v6) => v6.split_once("]:").map(|(_, p)| p),
                None => h.rsplit_once(':').map(|(_, p)| p),
            };
            if let Some(p) = port
                && !p.parse::<u16>().is_ok_and(|p| p > 0)
            {
                return Err(format!("`{h}`: the port is not a number from 1 to 65535"));
            }
            servers.push(format!("{scheme}://{h}"));
        }
        Ok(NatsUrl { servers, path })
    }
}

/// Whether `s` is a valid subject prefix: dot-separated tokens, none empty, no wildcard or
/// space.
pub fn valid_subject(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|t| {
            !t.is_empty() && !t.contains(|c: char| c.is_whitespace() || c == '*' || c == '>')
        })
}

/// The sensor's name as one subject token: anything but letters, digits, `-` and `_` becomes
/// `_` (`web1.example.com` → `web1_example_com`).
pub fn sensor_token(sensor: &str) -> String {
    crate::report::fleet::sensor_token(sensor)
}

/// The host's name (the default sensor name).
pub fn host_name() -> String {
    let name = rustix::system::uname().nodename().to_string_lossy().into_owned();
    if name.is_empty() { "sensor".into() } else { name }
}

/// What the output stage sends the publisher thread.
enum Msg {
    Line(Record),
    /// Reply once everything so far is stored, or at the deadline.
    Drain(Instant, Sender<()>),
    /// Store what is left until the deadline, spool the rest, and end.
    Finish(Instant),
}

/// Lines in the channel between the output stage and the publisher thread.
const CHANNEL: usize = 1 << 16;

/// Tees every line to an inner sink and publishes it.
pub struct PublishSink {
    inner: Box<dyn Sink>,
    tx: Sender<Msg>,
    thread: Option<std::thread::JoinHandle<()>>,
    counters: Arc<PublishCounters>,
    line: Vec<u8>,
    /// `,"sensor":"…"}`
    sensor_tail: Vec<u8>,
    token: String,
    subject: String,
    run: String,
    seq: u64,
    wait: Duration,
    deadline: Option<Instant>,
    spool: Option<PathBuf>,
}

impl PublishSink {
    /// Starts the publisher thread (which connects in the background: a broker that is down
    /// at the start is not an error) and tees `inner`.
    pub fn start(opts: PublishOptions, inner: Box<dyn Sink>) -> io::Result<PublishSink> {
        let counters = Arc::new(PublishCounters::default());
        let (tx, rx) = crossbeam_channel::bounded(CHANNEL);
        let spool = match &opts.spool {
            Some(dir) => Some(spool::Spool::open(dir, opts.spool_max).map_err(|e| {
                io::Error::new(e.kind(), format!("{}: cannot open the spool: {e}", dir.display()))
            })?),
            None => None,
        };
        let mut sensor_tail = b",\"sensor\":".to_vec();
        crate::output::json::write_str(&mut sensor_tail, &opts.sensor);
        sensor_tail.push(b'}');
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let run = format!("{:x}{:05x}", now.as_millis(), std::process::id() & 0xfffff);
        let token = sensor_token(&opts.sensor);
        let subject = opts.subject.clone();
        let wait = opts.wait;
        let spool_dir = opts.spool.clone();
        let c = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("publish".into())
            .spawn(move || nats::run(opts, rx, spool, c))?;
        Ok(PublishSink {
            inner,
            tx,
            thread: Some(thread),
            counters,
            line: Vec::with_capacity(1024),
            sensor_tail,
            token,
            subject,
            run,
            seq: 0,
            wait,
            deadline: None,
            spool: spool_dir,
        })
    }

    /// Sends the line in `self.line` (a JSON object) with the sensor field, never waiting.
    fn send(&mut self, kind: &str) {
        if self.line.last() == Some(&b'}') {
            self.line.pop();
        }
        self.line.extend_from_slice(&self.sensor_tail);
        self.seq += 1;
        let r = Record {
            id: format!("{}.{}.{}", self.token, self.run, self.seq),
            subject: format!("{}.{}.{kind}", self.subject, self.token),
            payload: self.line.clone(),
        };
        match self.tx.try_send(Msg::Line(r)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Relaxed);
            }
        }
    }

    /// When the end of the run stops waiting for the broker (fixed at the first call).
    fn deadline(&mut self) -> Instant {
        *self.deadline.get_or_insert_with(|| Instant::now() + self.wait)
    }

    /// Ends the publisher thread: waits for it to store or spool what is left.
    fn end(&mut self) -> io::Result<()> {
        let deadline = self.deadline();
        let _ = self.tx.send(Msg::Finish(deadline));
        if let Some(t) = self.thread.take() {
            t.join().map_err(|_| io::Error::other("the publisher thread failed"))?;
        }
        Ok(())
    }
}

impl Sink for PublishSink {
    fn verdict(&mut self, v: &Verdict, inputs: &Inputs) -> io::Result<()> {
        let r = self.inner.verdict(v, inputs);
        self.line.clear();
        write_flow_line(&mut self.line, v, inputs)?;
        self.send("flow");
        r
    }

    fn incident(&mut self, i: &Incident) -> io::Result<()> {
        let r = self.inner.incident(i);
        self.line.clear();
        write_incident_line(&mut self.line, i)?;
        self.send("incident");
        r
    }

    fn finish(&mut self, summary: Option<&Summary>) -> io::Result<()> {
        if let Some(s) = summary {
            // The summary says what became of the lines before it: wait for them first.
            let (done_tx, done_rx) = crossbeam_channel::bounded(1);
            let deadline = self.deadline();
            if self.tx.send(Msg::Drain(deadline, done_tx)).is_ok() {
                let _ = done_rx.recv();
            }
            self.line.clear();
            serde_json::to_writer(&mut self.line, &s.to_json()).map_err(io::Error::other)?;
            self.send("summary");
        }
        self.end()?;
        let r = self.inner.finish(summary);
        let left = self.counters.left_in_spool.load(Relaxed);
        let dropped = self.counters.dropped.load(Relaxed);
        r?;
        match (&self.spool, left, dropped) {
            (_, 0, 0) => Ok(()),
            (Some(dir), left, _) if left > 0 => Err(io::Error::other(format!(
                "publishing: {left} lines not stored yet, left in the spool {} for a later run{}",
                dir.display(),
                if dropped > 0 { format!("; {dropped} lines lost") } else { String::new() }
            ))),
            (_, _, dropped) => Err(io::Error::other(format!(
                "publishing: {dropped} lines were not stored{}",
                if self.spool.is_none() { " (--spool DIR keeps them for a later run)" } else { "" }
            ))),
        }
    }

    fn publish_counters(&self) -> Option<Arc<PublishCounters>> {
        Some(Arc::clone(&self.counters))
    }
}

impl Drop for PublishSink {
    fn drop(&mut self) {
        // An early end (a failed output): the thread stops at once, spooling what it holds.
        let _ = self.tx.send(Msg::Finish(Instant::now()));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The channel's receiving end, for the publisher thread.
type Rx = Receiver<Msg>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u: NatsUrl = "nats://127.0.0.1:4222/fleet".parse().unwrap();
        assert_eq!(u.servers, ["nats://127.0.0.1:4222"]);
        assert_eq!(u.path.as_deref(), Some("fleet"));
        let u: NatsUrl = "tls://a:1,b:2".parse().unwrap();
        assert_eq!(u.servers, ["tls://a:1", "tls://b:2"]);
        assert_eq!(u.path, None);
        assert!("http://a".parse::<NatsUrl>().is_err());
        assert!("nats://a:99999".parse::<NatsUrl>().is_err());
        assert!("nats://u:secret@a".parse::<NatsUrl>().unwrap_err().contains("environment"));
        assert!(!"nats://u:secret@a".parse::<NatsUrl>().unwrap_err().contains("secret"));
    }

    #[test]
    fn subjects_and_sensors() {
        assert!(valid_subject("connlens"));
        assert!(valid_subject("a.b"));
        assert!(!valid_subject("a..b"));
        assert!(!valid_subject("a.>"));
        assert_eq!(sensor_token("web1.example.com"), "web1_example_com");
    }
}

/// One message read back from a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Its sequence number in the stream.
    pub seq: u64,
    /// Its subject.
    pub subject: String,
    /// Its `Nats-Msg-Id`, if any.
    pub id: Option<String>,
    /// The JSON line.
    pub payload: Vec<u8>,
}

/// Reads every message of `stream` on `servers`, in order (on a runtime of its own, on the
/// calling thread).
pub fn read_stream(servers: &[String], stream: &str, auth: &Auth) -> io::Result<Vec<Stored>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(nats::read_stream(servers, stream, auth))
}
