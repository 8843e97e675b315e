//! The publisher thread: the NATS client on a current-thread tokio runtime, fed by the
//! output stage's channel.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use async_nats::connection::State;
use async_nats::jetstream::{self, stream};

use super::spool::{Record, Spool};
use super::{Auth, Msg, PublishOptions, Rx};
use crate::output::PublishCounters;

/// Lines published before their acknowledgements are awaited.
const WINDOW: usize = 256;
/// How long an acknowledgement may take.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);
/// Lines held in memory (beyond them, the spool) when there is a spool.
const MEMORY_WITH_SPOOL: u64 = 4 << 20;

struct Queued {
    rec: Record,
    /// The spool segment it was read from.
    segment: Option<u64>,
    sends: u32,
}

struct Publisher {
    rx: Rx,
    spool: Option<Spool>,
    queue: VecDeque<Queued>,
    queue_bytes: u64,
    queue_max: u64,
    counters: Arc<PublishCounters>,
    finish: Option<Instant>,
    drain: Option<(Instant, crossbeam_channel::Sender<()>)>,
    closed: bool,
    /// The spool's drops already counted.
    spool_dropped: u64,
    spool_failed: bool,
    /// The client is connected: new lines are kept in memory only then.
    connected: bool,
}

/// The thread's body.
pub(super) fn run(
    opts: PublishOptions,
    rx: Rx,
    spool: Option<Spool>,
    counters: Arc<PublishCounters>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("connlens: error: publishing: cannot start the runtime: {e}");
            return;
        }
    };
    let queue_max = if spool.is_some() { MEMORY_WITH_SPOOL } else { opts.spool_max };
    let mut p = Publisher {
        rx,
        spool,
        queue: VecDeque::new(),
        queue_bytes: 0,
        queue_max,
        counters,
        finish: None,
        drain: None,
        closed: false,
        spool_dropped: 0,
        spool_failed: false,
        connected: false,
    };
    rt.block_on(p.main(&opts));
    p.stop();
}

impl Publisher {
    async fn main(&mut self, opts: &PublishOptions) {
        let said = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let where_to = || if self.spool.is_some() { "spooled" } else { "held in memory" };
        let servers = opts.servers.join(",");
        // A first attempt, to say at once what is wrong; then a client that keeps trying in the
        // background while lines are kept.
        let first = match connect_options(opts, &said).await {
            Ok(c) => c.connect(opts.servers.as_slice()).await,
            Err(e) => {
                eprintln!("connlens: error: publishing: {e}");
                return self.offline().await;
            }
        };
        let client = match first {
            Ok(c) => c,
            Err(e) => {
                use async_nats::ConnectErrorKind::{Authentication, AuthorizationViolation};
                let (level, what) = match e.kind() {
                    Authentication | AuthorizationViolation => {
                        ("error", "the server refused the credentials".to_string())
                    }
                    _ => ("warning", format!("cannot reach {servers} yet ({e})")),
                };
                eprintln!(
                    "connlens: {level}: publishing: {what}; lines are {} until it accepts them",
                    where_to()
                );
                let retrying = match connect_options(opts, &said).await {
                    Ok(c) => c.retry_on_initial_connect().connect(opts.servers.as_slice()).await,
                    Err(e) => {
                        eprintln!("connlens: error: publishing: {e}");
                        return self.offline().await;
                    }
                };
                match retrying {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("connlens: error: publishing: cannot connect: {e}");
                        return self.offline().await;
                    }
                }
            }
        };
        let js = jetstream::ContextBuilder::new()
            .timeout(ACK_TIMEOUT)
            .max_ack_inflight(WINDOW * 2)
            .backpressure_on_inflight(true)
            .build(client.clone());
        let config = stream::Config {
            name: opts.stream.clone(),
            subjects: vec![format!("{}.>", opts.subject)],
            storage: stream::StorageType::File,
            max_age: opts.max_age,
            max_bytes: opts.max_bytes,
            num_replicas: opts.replicas,
            duplicate_window: opts.max_age.min(Duration::from_secs(600)),
            ..Default::default()
        };
        let mut stream_ready = false;
        let mut warned = false;
        loop {
            self.intake();
            let connected = client.connection_state() == State::Connected;
            self.connected = connected && stream_ready;
            if connected && !stream_ready {
                match js.get_or_create_stream(config.clone()).await {
                    Ok(_) => stream_ready = true,
                    Err(e) => {
                        // Not yet (a cluster electing its leader, JetStream off): ask again
                        // in a while.
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        if !warned {
                            eprintln!(
                                "connlens: warning: publishing: stream {}: {e}; lines are kept until it can be used",
                                opts.stream
                            );
                            warned = true;
                        }
                    }
                }
            }
            self.refill();
            if connected && stream_ready && !self.queue.is_empty() {
                if !self.send_window(&js).await {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                continue;
            }
            if self.ended() {
                return;
            }
            let pause = if connected { 2 } else { 50 };
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    /// No client: lines go to the spool (or are held) until the end.
    async fn offline(&mut self) {
        loop {
            self.intake();
            if self.ended() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the thread is done: everything stored, or the end's deadline passed. Answers
    /// a pending drain request.
    fn ended(&mut self) -> bool {
        let empty = self.queue.is_empty() && self.spool.as_ref().is_none_or(Spool::is_empty);
        let now = Instant::now();
        if let Some((deadline, _)) = &self.drain
            && (empty || now >= *deadline)
            && let Some((_, reply)) = self.drain.take()
        {
            let _ = reply.send(());
        }
        match self.finish {
            Some(deadline) => empty || now >= deadline,
            None => self.closed && empty,
        }
    }

    /// Takes what the output stage sent.
    fn intake(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(Msg::Line(r)) => self.accept(r),
                Ok(Msg::Drain(deadline, reply)) => self.drain = Some((deadline, reply)),
                Ok(Msg::Finish(deadline)) => self.finish = Some(deadline),
                Err(crossbeam_channel::TryRecvError::Empty) => return,
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    if !self.closed {
                        self.closed = true;
                        self.finish.get_or_insert_with(Instant::now);
                    }
                    return;
                }
            }
        }
    }

    /// A new line: in memory while there is room and nothing older is spooled, else spooled.
    fn accept(&mut self, rec: Record) {
        let size = rec.size();
        let fits = self.queue_bytes + size <= self.queue_max;
        if let Some(spool) = &mut self.spool
            && !self.spool_failed
            && (!fits || !self.connected || !spool.is_empty())
        {
            match spool.append(&rec) {
                Ok(()) => {
                    self.counters.spooled.fetch_add(1, Relaxed);
                    self.count_spool_drops();
                    return;
                }
                Err(e) => {
                    eprintln!(
                        "connlens: error: publishing: the spool: {e}; lines are held in memory"
                    );
                    self.spool_failed = true;
                }
            }
        }
        self.queue_bytes += size;
        self.queue.push_back(Queued { rec, segment: None, sends: 0 });
        // No spool: past the bound the oldest go (never one being sent: sends start at the
        // front and are over by now).
        while self.queue_bytes > self.queue_max.max(size) && self.spool.is_none() {
            match self.queue.pop_front() {
                Some(q) => {
                    self.queue_bytes -= q.rec.size();
                    self.counters.dropped.fetch_add(1, Relaxed);
                }
                None => break,
            }
        }
    }

    fn count_spool_drops(&mut self) {
        if let Some(s) = &self.spool
            && s.dropped > self.spool_dropped
        {
            self.counters.dropped.fetch_add(s.dropped - self.spool_dropped, Relaxed);
            self.spool_dropped = s.dropped;
        }
    }

    /// Moves spooled lines into memory while there is room.
    fn refill(&mut self) {
        let Some(spool) = &mut self.spool else { return };
        while self.queue_bytes < self.queue_max / 2 && self.queue.len() < 4 * WINDOW {
            match spool.read_next() {
                Ok(Some((rec, segment))) => {
                    self.queue_bytes += rec.size();
                    self.queue.push_back(Queued { rec, segment: Some(segment), sends: 0 });
                }
                Ok(None) => return,
                Err(e) => {
                    eprintln!("connlens: error: publishing: reading the spool: {e}");
                    self.spool_failed = true;
                    return;
                }
            }
        }
    }

    /// Publishes up to a window of lines from the front and waits for their
    /// acknowledgements; the acknowledged ones leave the queue. False when none could be
    /// sent or one was not acknowledged (they are sent again later, with the same id).
    async fn send_window(&mut self, js: &jetstream::Context) -> bool {
        let n = self.queue.len().min(WINDOW);
        let mut acks = Vec::with_capacity(n);
        for q in self.queue.iter_mut().take(n) {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", q.rec.id.as_str());
            let payload = bytes::Bytes::from(q.rec.payload.clone());
            match js.publish_with_headers(q.rec.subject.clone(), headers, payload).await {
                Ok(ack) => acks.push(ack),
                Err(_) => break,
            }
            if q.sends > 0 {
                self.counters.resent.fetch_add(1, Relaxed);
            }
            q.sends += 1;
        }
        let sent = acks.len();
        let mut stored = 0;
        for ack in acks {
            match ack.await {
                Ok(a) => {
                    stored += 1;
                    if a.duplicate {
                        self.counters.duplicates.fetch_add(1, Relaxed);
                    }
                }
                Err(_) => break,
            }
        }
        for _ in 0..stored {
            if let Some(q) = self.queue.pop_front() {
                self.queue_bytes -= q.rec.size();
                self.counters.published.fetch_add(1, Relaxed);
                if let (Some(seg), Some(spool)) = (q.segment, &mut self.spool)
                    && let Err(e) = spool.ack(seg)
                {
                    eprintln!("connlens: warning: publishing: the spool: {e}");
                }
            }
        }
        stored == sent && sent > 0
    }

    /// The end: what is still in memory goes to the front of the spool for a later run
    /// (or, without one, is lost and counted).
    fn stop(&mut self) {
        self.intake();
        let held: Vec<Record> = self.queue.drain(..).map(|q| q.rec).collect();
        match &mut self.spool {
            Some(spool) if !self.spool_failed => {
                // Lines read from the spool are written again in front: their copies further on
                // are sent again and stored once (same message id).
                let r = spool.prepend(&held).and_then(|()| spool.flush());
                if let Err(e) = r {
                    eprintln!("connlens: error: publishing: the spool: {e}");
                    self.counters.dropped.fetch_add(held.len() as u64, Relaxed);
                }
                self.counters.left_in_spool.store(spool.unread(), Relaxed);
                self.count_spool_drops();
            }
            _ => {
                self.counters.dropped.fetch_add(held.len() as u64, Relaxed);
            }
        }
        if let Some((_, reply)) = self.drain.take() {
            let _ = reply.send(());
        }
    }
}

/// Every message of a stream, in order, through an ordered consumer (ephemeral: it leaves no
/// state on the server), up to the last message there when the read began.
pub(super) async fn read_stream(
    servers: &[String],
    stream: &str,
    auth: &Auth,
) -> std::io::Result<Vec<super::Stored>> {
    use futures_util::StreamExt;
    let mut connect = async_nats::ConnectOptions::new()
        .name("connlens")
        .connection_timeout(Duration::from_secs(5));
    connect = with_tls(connect, servers)?;
    connect = match auth {
        Auth::None => connect,
        Auth::Token(t) => connect.token(t.clone()),
        Auth::UserPassword(u, p) => connect.user_and_password(u.clone(), p.clone()),
        Auth::CredsFile(f) => connect.credentials_file(f).await?,
    };
    let client = connect.connect(servers).await.map_err(std::io::Error::other)?;
    let js = jetstream::new(client);
    let mut s = js
        .get_stream(stream)
        .await
        .map_err(|e| std::io::Error::other(format!("stream {stream}: {e}")))?;
    let info = s.info().await.map_err(std::io::Error::other)?;
    let last = info.state.last_sequence;
    let mut out = Vec::new();
    if info.state.messages == 0 {
        return Ok(out);
    }
    let consumer = s
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .map_err(std::io::Error::other)?;
    let mut messages = consumer.messages().await.map_err(std::io::Error::other)?;
    while let Some(m) = messages.next().await {
        let m = m.map_err(std::io::Error::other)?;
        let seq = m.info().map(|i| i.stream_sequence).map_err(std::io::Error::other)?;
        out.push(super::Stored {
            seq,
            subject: m.subject.to_string(),
            id: m
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.as_str().to_string()),
            payload: m.payload.to_vec(),
        });
        if seq >= last {
            break;
        }
    }
    Ok(out)
}

/// TLS for `tls://` servers: required, and the certificate authorities of the PEM file
/// `CONNLENS_NATS_CA` trusted besides the built-in ones (a private cluster's own CA).
fn with_tls(
    connect: async_nats::ConnectOptions,
    servers: &[String],
) -> std::io::Result<async_nats::ConnectOptions> {
    if !servers.iter().any(|s| s.starts_with("tls://")) {
        return Ok(connect);
    }
    let mut connect = connect.require_tls(true);
    if let Some(ca) = std::env::var_os("CONNLENS_NATS_CA") {
        let ca = std::path::PathBuf::from(ca);
        // Read here so that a wrong path is one clear line, not a failed handshake.
        std::fs::metadata(&ca).map_err(|e| {
            std::io::Error::other(format!(
                "{}: cannot read the CA (CONNLENS_NATS_CA): {e}",
                ca.display()
            ))
        })?;
        connect = connect.add_root_certificates(ca);
    }
    Ok(connect)
}

/// The client's options (a fresh set for each attempt: they are consumed by `connect`).
async fn connect_options(
    opts: &PublishOptions,
    said: &Arc<std::sync::atomic::AtomicBool>,
) -> Result<async_nats::ConnectOptions, String> {
    let said = Arc::clone(said);
    let mut connect = async_nats::ConnectOptions::new()
        .name("connlens")
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .reconnect_delay_callback(|n| Duration::from_millis((100 * n as u64).min(2000)))
        .event_callback(move |e| {
            let said = Arc::clone(&said);
            async move {
                // Once: the same refusal comes back at every reconnect.
                if let async_nats::Event::ServerError(e) = e
                    && !said.swap(true, Relaxed)
                {
                    eprintln!("connlens: warning: publishing: the server says: {e}");
                }
            }
        });
    connect = with_tls(connect, &opts.servers).map_err(|e| e.to_string())?;
    Ok(match &opts.auth {
        Auth::None => connect,
        Auth::Token(t) => connect.token(t.clone()),
        Auth::UserPassword(u, p) => connect.user_and_password(u.clone(), p.clone()),
        Auth::CredsFile(f) => connect
            .credentials_file(f)
            .await
            .map_err(|e| format!("{}: cannot read the credentials: {e}", f.display()))?,
    })
}
