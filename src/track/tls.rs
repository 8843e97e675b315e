//! TLS as a handshake, not a first record: each side's records followed at the start of its
//! segments (and on, within the payload prefix the decoder keeps), without reassembly — the
//! hellos (server name, versions), the alerts in the clear from either side at any point, the
//! empty Certificate of a client that has none, and, for TLS 1.3, the encrypted records whose
//! lengths tell an alert that ends a handshake from a Finished or application data.
//!
//! Bounded: one [`TlsState`] per conversation that began with a ClientHello (one allocation,
//! [`TLS_STATE_BYTES`] at most), none for the others; following stops once the handshake is
//! over. Pure reading: the causes are decided in [`TlsState::cause`].

use super::tcp::seq_after;

/// The longest record (RFC 8446 §5.2: 2^14 + 256 of ciphertext; TLS 1.2 allows 2^14 + 2048).
const MAX_RECORD: usize = (1 << 14) + 2048;

/// The encrypted record of a TLS 1.3 alert: 2 bytes of alert, 1 of content type, a 16-byte
/// AEAD tag (19), and a little padding some stacks add. A Finished is at least 32 + 4 + 1 + 16.
pub(super) const SHORT_RECORD: std::ops::RangeInclusive<u16> = 19..=26;

/// The encrypted TLS 1.3 Certificate message of a client that has none: 4 bytes of header, an
/// empty request context (1) and an empty list (3), the content type (1) and the tag (16).
const EMPTY_CERTIFICATE_13: u16 = 25;

/// How many bytes of the server name are kept.
const SNI_KEPT: usize = 64;

/// A plaintext alert: level, description, and the packet that carried it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Alert {
    pub(super) level: u8,
    pub(super) description: u8,
    pub(super) packet: u64,
}

/// One side's TLS, as its records show it.
#[derive(Clone, Debug, Default)]
pub(super) struct TlsSide {
    /// Sequence number where its next record begins, when known.
    next_record: Option<u32>,
    /// The packet of its hello (ClientHello, ServerHello).
    pub(super) hello: Option<u64>,
    /// The hello's legacy version (0x0303 for TLS 1.2 and 1.3).
    pub(super) legacy_version: u16,
    /// From supported_versions, if within the prefix: the highest offered (client), the one
    /// chosen (server).
    pub(super) supported_version: u16,
    /// Its first fatal alert in the clear (else its first alert).
    pub(super) alert: Option<Alert>,
    /// It sent ChangeCipherSpec (in TLS 1.2 its later records are encrypted).
    ccs: bool,
    /// Encrypted records (TLS 1.3 application data after the ServerHello; TLS 1.2 records
    /// after its ChangeCipherSpec) seen.
    pub(super) encrypted: u16,
    /// Its last encrypted record: length and packet.
    pub(super) last_encrypted: Option<(u16, u64)>,
    /// It sent an encrypted record longer than an alert (a Finished, handshake messages,
    /// application data): the packet of the first.
    pub(super) first_long: Option<u64>,
    /// Encrypted records since the other side's first long one.
    pub(super) after_peer_long: u16,
    /// It sent application data after its Finished (TLS 1.2: an application-data record;
    /// TLS 1.3: a long record after its first).
    pub(super) data: bool,
    /// (The client.) Its first alert after its Finished, with no application data before it
    /// (TLS 1.2: an encrypted alert record; TLS 1.3: a short record): packet, length, and how
    /// many encrypted records the server had sent since the client's Finished.
    pub(super) closed_after_handshake: Option<(u64, u16, u16)>,
    /// (The client.) Its hello's extensions were read to their end within the prefix: a
    /// version it did not list in supported_versions is not offered.
    pub(super) hello_read: bool,
    /// An encrypted TLS 1.2 alert (longer than 2 bytes): its packet.
    pub(super) encrypted_alert: Option<u64>,
    /// The client sent a Certificate message with no certificate (TLS 1.2 in the clear, or a
    /// TLS 1.3 encrypted record of exactly that length before its Finished): the packet.
    pub(super) empty_certificate: Option<u64>,
}

/// A conversation's TLS handshake (see the module).
#[derive(Clone, Debug)]
pub(super) struct TlsState {
    pub(super) client: TlsSide,
    pub(super) server: TlsSide,
    /// The ClientHello's server name (SNI), when within the prefix: bytes and length.
    sni: [u8; SNI_KEPT],
    sni_len: u8,
    /// The server name was cut (by the prefix, or [`SNI_KEPT`]).
    sni_cut: bool,
    /// The server chose TLS 1.3 (supported_versions, or its encrypted flight right after its
    /// ServerHello).
    pub(super) tls13: bool,
    /// The handshake is over (or cannot be followed): no more records are read.
    done: bool,
}

impl Default for TlsState {
    fn default() -> Self {
        TlsState {
            client: TlsSide::default(),
            server: TlsSide::default(),
            sni: [0; SNI_KEPT],
            sni_len: 0,
            sni_cut: false,
            tls13: false,
            done: false,
        }
    }
}

/// Bytes a conversation's TLS state takes (allocated once, for conversations that begin with
/// a ClientHello).
#[cfg(test)]
pub(super) const TLS_STATE_BYTES: usize = std::mem::size_of::<TlsState>();

/// A record header is plausible at the start of `b`: content type 20–23, version 3.x, a length
/// a record may have. Returns (type, length).
fn header(b: &[u8]) -> Option<(u8, usize)> {
    let [ty, major, minor, l0, l1, ..] = *b else { return None };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    ((20..=23).contains(&ty) && major == 3 && minor <= 4 && len > 0 && len <= MAX_RECORD)
        .then_some((ty, len))
}

/// Whether a conversation whose client's first payload is `b` is followed: a ClientHello.
pub(super) fn starts_handshake(b: &[u8]) -> bool {
    matches!(header(b), Some((22, _))) && b.get(5) == Some(&1)
}

/// The name of a protocol version.
pub(super) fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        other => format!("0x{other:04x}"),
    }
}

impl TlsState {
    /// Reads one segment's records (`b`: the payload prefix of a segment at `seq`, carrying
    /// `len` bytes) from the client or the server. Never allocates.
    pub(super) fn segment(&mut self, b: &[u8], seq: u32, len: u32, from_client: bool, pkt: u64) {
        if self.done {
            return;
        }
        let side = if from_client { &self.client } else { &self.server };
        // Where in this segment a record begins: its start, or where the last record said the
        // next would (a segment that begins inside a record).
        let mut at = match side.next_record {
            Some(n) if n == seq => 0,
            Some(n) if seq_after(n, seq) => {
                let off = n.wrapping_sub(seq) as usize;
                if off >= b.len() {
                    // All within a record (or its next header beyond the prefix).
                    return;
                }
                off
            }
            // No boundary known, or a gap in the capture: a header must be plausible.
            _ => 0,
        };
        let mut next = None;
        while let Some(h) = b.get(at..) {
            let Some((ty, rlen)) = header(h) else { break };
            let body = &h[5..h.len().min(5 + rlen)];
            self.record(ty, rlen, body, from_client, pkt);
            at += 5 + rlen;
            next = Some(seq.wrapping_add(at as u32));
            if at >= len as usize || self.done {
                break;
            }
        }
        // A boundary known only while the walk reached the segment's end (or past it).
        let reached = next.is_some() && at >= len as usize;
        let side = if from_client { &mut self.client } else { &mut self.server };
        side.next_record = if reached { next } else { None };
    }

    /// One record: its content type, length, and the part of its body within the prefix.
    fn record(&mut self, ty: u8, len: usize, body: &[u8], from_client: bool, pkt: u64) {
        let len16 = u16::try_from(len).unwrap_or(u16::MAX);
        // In TLS 1.2 everything after a side's ChangeCipherSpec is encrypted; in TLS 1.3 the
        // ChangeCipherSpec is only for middleboxes, and its encrypted records are application
        // data.
        let me = if from_client { &self.client } else { &self.server };
        let encrypted_12 = me.ccs && !self.tls13;
        let hello_seen = self.server.hello.is_some();
        match ty {
            20 => self.side(from_client).ccs = true,
            21 if len == 2 && !encrypted_12 => {
                if let [level, description, ..] = *body {
                    let me = self.side(from_client);
                    if me.alert.is_none_or(|a| a.level != 2 && level == 2) {
                        me.alert = Some(Alert { level, description, packet: pkt });
                    }
                }
            }
            21 => {
                self.side(from_client).encrypted_alert.get_or_insert(pkt);
                if from_client {
                    self.client_alert_after_handshake(len16, pkt);
                }
            }
            22 if !encrypted_12 => match body.first() {
                Some(1) if from_client => self.client_hello(body, pkt),
                Some(2) if !from_client => self.server_hello(body, pkt),
                // TLS 1.2 Certificate (RFC 5246 §7.4.6) with an empty certificate_list.
                Some(11) if from_client && body.get(4..7) == Some(&[0, 0, 0]) => {
                    self.client.empty_certificate.get_or_insert(pkt);
                }
                _ => {}
            },
            // An encrypted record: TLS 1.2 after the sender's ChangeCipherSpec, or TLS 1.3
            // application data once the server has said hello.
            _ if encrypted_12 || (ty == 23 && hello_seen) => {
                // The server's application data before the client has sent anything
                // encrypted or its ChangeCipherSpec is TLS 1.3's encrypted flight (TLS 1.2's
                // comes after the client's Finished; an abbreviated one's first is a Finished).
                if ty == 23 && !from_client && self.client.encrypted == 0 && !self.client.ccs {
                    self.tls13 = true;
                }
                let tls13 = self.tls13;
                // TLS 1.2 application data comes only after its sender's ChangeCipherSpec,
                // which may have been beyond the kept bytes of its segment (behind a
                // NewSessionTicket): the sender's handshake is over.
                if ty == 23 && !tls13 {
                    self.side(from_client).ccs = true;
                }
                if from_client && self.client.first_long.is_some() {
                    if tls13 && SHORT_RECORD.contains(&len16) {
                        self.client_alert_after_handshake(len16, pkt);
                    } else if ty == 23 {
                        self.client.data = true;
                    }
                }
                let peer_long = self.side(!from_client).first_long.is_some();
                let me = self.side(from_client);
                me.encrypted = me.encrypted.saturating_add(1);
                me.last_encrypted = Some((len16, pkt));
                if from_client && tls13 && len16 == EMPTY_CERTIFICATE_13 && me.first_long.is_none()
                {
                    me.empty_certificate.get_or_insert(pkt);
                }
                if peer_long {
                    me.after_peer_long = me.after_peer_long.saturating_add(1);
                }
                if len16 > *SHORT_RECORD.end() && me.first_long.is_none() {
                    me.first_long = Some(pkt);
                }
                // Past the handshake: the client sent application data, or closed, or the
                // server has gone on long after the client's Finished.
                // (Not at the client's close: the server's answer to its Finished may still
                // come, crossing the close_notify.)
                if self.client.data || self.server.after_peer_long >= 16 {
                    self.done = true;
                }
            }
            _ => {}
        }
    }

    /// The client's alert (a close_notify, most often) after its Finished: kept if no
    /// application data of its own came first.
    fn client_alert_after_handshake(&mut self, len: u16, pkt: u64) {
        let server_records = self.server.after_peer_long;
        let c = &mut self.client;
        if c.first_long.is_some() && !c.data && c.closed_after_handshake.is_none() {
            c.closed_after_handshake = Some((pkt, len, server_records));
        }
    }

    fn side(&mut self, client: bool) -> &mut TlsSide {
        if client { &mut self.client } else { &mut self.server }
    }

    /// RFC 8446 §4.1.2: legacy_version, random, session id, cipher suites, compression
    /// methods, then the extensions (server_name 0, supported_versions 43).
    fn client_hello(&mut self, body: &[u8], pkt: u64) {
        let c = &mut self.client;
        if c.hello.is_some() {
            return; // a second ClientHello (after a HelloRetryRequest)
        }
        // A hello names SSL 3.0 to TLS 1.2 as its legacy version (TLS 1.3 keeps 0x0303):
        // anything else is not a handshake, whatever its first bytes.
        let Some(version) = be16(body, 4).filter(|v| is_legacy_version(*v)) else { return };
        c.hello = Some(pkt);
        c.legacy_version = version;
        let Some(sid) = body.get(38).map(|&l| usize::from(l)) else { return };
        let mut i = 39 + sid;
        let Some(suites) = be16(body, i) else { return };
        i += 2 + usize::from(suites);
        let Some(&comp) = body.get(i) else { return };
        i += 1 + usize::from(comp);
        let Some(total) = be16(body, i) else { return };
        i += 2;
        let end = i + usize::from(total);
        // Extensions: type, length, data.
        while let (Some(ty), Some(elen)) = (be16(body, i), be16(body, i + 2)) {
            let data_at = i + 4;
            let elen = usize::from(elen);
            match ty {
                0 => self.server_name(body, data_at),
                43 => {
                    // A 1-byte list length, then versions; the highest is kept (GREASE
                    // values, 0x?a?a, skipped).
                    if let Some(&n) = body.get(data_at) {
                        let end = data_at + 1 + usize::from(n);
                        let mut j = data_at + 1;
                        while j + 2 <= end {
                            match be16(body, j) {
                                Some(v) if v & 0x0f0f != 0x0a0a => {
                                    let c = &mut self.client;
                                    c.supported_version = c.supported_version.max(v);
                                }
                                Some(_) => {}
                                None => break,
                            }
                            j += 2;
                        }
                    }
                }
                _ => {}
            }
            i = data_at + elen;
        }
        self.client.hello_read = i == end && end <= body.len();
    }

    /// RFC 6066 §3: a list length, then (type 0, length, name).
    fn server_name(&mut self, body: &[u8], at: usize) {
        if body.get(at + 2) != Some(&0) {
            return;
        }
        let Some(n) = be16(body, at + 3).map(usize::from) else { return };
        let start = at + 5;
        let avail = body.len().saturating_sub(start).min(n);
        let keep = avail.min(SNI_KEPT);
        if let Some(name) = body.get(start..start + keep) {
            self.sni[..keep].copy_from_slice(name);
            self.sni_len = keep as u8;
            self.sni_cut = keep < n;
        }
    }

    /// RFC 8446 §4.1.3: legacy_version, random, session id, cipher suite, compression, then
    /// the extensions (supported_versions 43 says TLS 1.3).
    fn server_hello(&mut self, body: &[u8], pkt: u64) {
        let s = &mut self.server;
        if s.hello.is_some() {
            return;
        }
        let Some(version) = be16(body, 4).filter(|v| is_legacy_version(*v)) else { return };
        s.hello = Some(pkt);
        s.legacy_version = version;
        let Some(sid) = body.get(38).map(|&l| usize::from(l)) else { return };
        let mut i = 39 + sid + 2 + 1 + 2;
        while let (Some(ty), Some(elen)) = (be16(body, i), be16(body, i + 2)) {
            if ty == 43
                && let Some(v) = be16(body, i + 4)
            {
                self.server.supported_version = v;
                self.tls13 |= v == 0x0304;
            }
            i += 4 + usize::from(elen);
        }
    }

    /// The server name, escaped, `…` when cut.
    pub(super) fn sni(&self) -> Option<String> {
        if self.sni_len == 0 {
            return None;
        }
        let mut s: String = self.sni[..usize::from(self.sni_len)]
            .iter()
            .flat_map(|&c| std::ascii::escape_default(c))
            .map(char::from)
            .collect();
        if self.sni_cut {
            s.push('…');
        }
        Some(s)
    }

    /// The version the client offered (its highest supported_versions entry, or its legacy
    /// version when its hello was read to the end without one), and the server's choice.
    pub(super) fn versions(&self) -> (Option<u16>, Option<u16>) {
        let (c, s) = (&self.client, &self.server);
        let offered = match c.supported_version {
            0 if c.hello_read => Some(c.legacy_version),
            0 => None,
            v => Some(v),
        };
        let client = c.hello.and(offered);
        let server = s.hello.map(|_| match s.supported_version {
            0 => s.legacy_version,
            v => v,
        });
        (client, server)
    }
}

/// A big-endian u16 at `i`.
/// SSL 3.0 to TLS 1.2: the legacy versions a hello may carry (RFC 8446 §4.1.2, §D).
fn is_legacy_version(v: u16) -> bool {
    (0x0300..=0x0303).contains(&v)
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

/// How a conversation's two sides closed, as the TLS causes need it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Closing {
    /// The client closed (FIN or RST) before the server did (or the server never did).
    pub(super) client_first: bool,
    /// The server closed (FIN or RST) before the client did (or the client never did).
    pub(super) server_first: bool,
    /// The client closed (FIN or RST), first or not.
    pub(super) client: bool,
    /// The server closed (FIN or RST), first or not.
    pub(super) server: bool,
    /// The server sent no payload at all.
    pub(super) server_silent: bool,
    /// The conversation timed out (idle).
    pub(super) timed_out: bool,
}

/// The facts behind a TLS cause (evidence keys `tls_*`).
#[derive(Clone, Debug, Default)]
pub(super) struct TlsFacts {
    pub(super) sni: Option<String>,
    pub(super) client_hello_packet: Option<u64>,
    pub(super) client_version: Option<u16>,
    /// The ClientHello's legacy version, when the versions it offers are beyond the prefix.
    pub(super) client_legacy_version: Option<u16>,
    pub(super) server_hello_packet: Option<u64>,
    pub(super) server_version: Option<u16>,
    /// The alert in the clear that decided: from which side, and its packet.
    pub(super) alert_from: Option<&'static str>,
    pub(super) alert_packet: Option<u64>,
    /// A TLS 1.3 encrypted record read as an alert by its length: side, packet, length.
    pub(super) encrypted_alert: Option<(&'static str, u64, u16)>,
    /// The client's empty Certificate message: its packet.
    pub(super) empty_certificate_packet: Option<u64>,
}

impl TlsFacts {
    pub(super) fn record(self, ev: &mut crate::verdict::Evidence) {
        if let Some(s) = self.sni {
            ev.insert("tls_sni", s);
        }
        if let Some(p) = self.client_hello_packet {
            ev.insert("tls_client_hello_packet", p);
        }
        if let Some(v) = self.client_version {
            ev.insert("tls_client_version", version_name(v));
        }
        if let Some(v) = self.client_legacy_version {
            ev.insert("tls_client_legacy_version", version_name(v));
        }
        if let Some(p) = self.server_hello_packet {
            ev.insert("tls_server_hello_packet", p);
        }
        if let Some(v) = self.server_version {
            ev.insert("tls_server_version", version_name(v));
        }
        if let Some(side) = self.alert_from {
            ev.insert("tls_alert_from", side);
        }
        if let Some(p) = self.alert_packet {
            ev.insert("tls_alert_packet", p);
        }
        if let Some((side, p, len)) = self.encrypted_alert {
            ev.insert("tls_encrypted_alert_from", side);
            ev.insert("tls_encrypted_alert_packet", p);
            ev.insert("tls_encrypted_alert_length", len);
        }
        if let Some(p) = self.empty_certificate_packet {
            ev.insert("tls_client_certificate", "empty");
            ev.insert("tls_empty_certificate_packet", p);
        }
    }
}

/// Alerts about the peer's certificate (RFC 8446 §6.2): bad_certificate,
/// unsupported_certificate, certificate_revoked, certificate_expired, certificate_unknown,
/// unknown_ca.
fn is_certificate_alert(d: u8) -> bool {
    matches!(d, 42..=46 | 48)
}

impl TlsState {
    /// The TLS cause of an established conversation that began with a ClientHello, if its
    /// handshake says who refused whom; the alert (name, code) that decided, and the facts.
    pub(super) fn cause(
        &self,
        close: Closing,
    ) -> Option<(crate::verdict::Cause, Option<Alert>, TlsFacts)> {
        use crate::verdict::Cause;
        let (c, s) = (&self.client, &self.server);
        c.hello?;
        let (client_version, server_version) = self.versions();
        let mut facts = TlsFacts {
            sni: self.sni(),
            client_hello_packet: c.hello,
            client_version,
            client_legacy_version: client_version.is_none().then_some(c.legacy_version),
            server_hello_packet: s.hello,
            server_version,
            ..TlsFacts::default()
        };
        // The first fatal alert in the clear, from either side.
        let fatal = |a: Option<Alert>| a.filter(|a| a.level == 2);
        let first = match (fatal(c.alert), fatal(s.alert)) {
            (Some(a), Some(b)) if b.packet < a.packet => Some((false, b)),
            (Some(a), _) => Some((true, a)),
            (None, Some(b)) => Some((false, b)),
            (None, None) => None,
        };
        if let Some((from_client, a)) = first {
            facts.alert_from = Some(if from_client { "client" } else { "server" });
            facts.alert_packet = Some(a.packet);
            let d = a.description;
            let cause = match (from_client, d) {
                (_, 70) => Cause::TlsVersionMismatch,
                (true, d) if is_certificate_alert(d) => Cause::TlsCertificateRejected,
                (true, _) => Cause::TlsClientAlert,
                (false, 116) => Cause::TlsClientCertificateRequired,
                (false, 40 | 42) if c.empty_certificate.is_some() => {
                    Cause::TlsClientCertificateRequired
                }
                (false, 40 | 71) if s.hello.is_none() => Cause::TlsNoCommonCipher,
                (false, _) => Cause::TlsAlert,
            };
            facts.empty_certificate_packet =
                c.empty_certificate.filter(|_| cause == Cause::TlsClientCertificateRequired);
            return Some((cause, Some(a), facts));
        }
        let short = |side: &TlsSide| {
            side.last_encrypted.filter(|(len, _)| SHORT_RECORD.contains(len)).map(|(l, p)| (p, l))
        };
        if self.tls13 {
            // The client's only encrypted record, short, then it closed: it ended the handshake
            // with an alert instead of its Finished.
            if let Some((p, len)) = short(c).filter(|_| c.encrypted == 1 && close.client) {
                facts.encrypted_alert = Some(("client", p, len));
                return Some((Cause::TlsClientAbortedHandshake, None, facts));
            }
            // The server's only record after the client's Finished, short, then it closed:
            // after the client's empty Certificate, the certificate it required (even when
            // the client's own close crossed it); else the server's refusal, unless the
            // client had closed first.
            let client_closed_first = c.closed_after_handshake.is_some_and(|(_, _, n)| n == 0);
            if let Some((p, len)) = short(s)
                .filter(|_| c.first_long.is_some() && s.after_peer_long == 1 && close.server)
            {
                let cause = match c.empty_certificate {
                    Some(e) => {
                        facts.empty_certificate_packet = Some(e);
                        Some(Cause::TlsClientCertificateRequired)
                    }
                    None if client_closed_first => None,
                    None => Some(Cause::TlsServerAbortedHandshake),
                };
                if let Some(cause) = cause {
                    facts.encrypted_alert = Some(("server", p, len));
                    return Some((cause, None, facts));
                }
            }
        }
        // The handshake ended, then the client closed (close_notify) before sending anything
        // while the server had sent at most its Finished and session tickets.
        if let Some((p, len, _)) = c.closed_after_handshake.filter(|&(_, _, n)| n <= 2) {
            facts.encrypted_alert = Some(("client", p, len));
            return Some((Cause::TlsClientClosedAfterHandshake, None, facts));
        }
        if close.server_silent && (close.client_first || (close.timed_out && !close.server)) {
            return Some((Cause::TlsHelloUnanswered, None, facts));
        }
        // The server said hello, then closed before its Finished (TLS 1.2: its
        // ChangeCipherSpec; TLS 1.3: the client's Finished never came either).
        // (A client sends application data only once it has the server's Finished: then the
        // handshake is over, whatever of the server's flight the kept bytes missed.)
        let unfinished = !c.data && if self.tls13 { c.first_long.is_none() } else { !s.ccs };
        if s.hello.is_some() && unfinished && close.server_first {
            return Some((Cause::TlsServerClosedHandshake, None, facts));
        }
        None
    }
}

impl super::tcp::TcpState {
    /// Follows one segment's TLS records (see the module): a conversation is followed from
    /// the client's first payload, when it is a ClientHello.
    pub(super) fn follow_tls(&mut self, b: &[u8], seq: u32, len: u32, from_client: bool, pkt: u64) {
        match self.tls.as_deref_mut() {
            Some(tls) => tls.segment(b, seq, len, from_client, pkt),
            None if from_client && self.client.first.is_none() && starts_handshake(b) => {
                let mut tls = Box::<TlsState>::default();
                tls.segment(b, seq, len, from_client, pkt);
                self.tls = Some(tls);
            }
            None => {}
        }
    }

    /// The TLS cause of an established conversation, if its handshake decides one; the
    /// alert and the `tls_*` facts go into `facts`.
    pub(super) fn tls_cause(
        &self,
        flow: &super::attempt::Flow,
        ending: super::Ending,
        facts: &mut super::evidence::EstablishedFacts,
    ) -> Option<crate::verdict::Cause> {
        let tls = self.tls.as_deref()?;
        let at = |fin: Option<(crate::time::Timestamp, crate::capture::Origin)>, client: bool| {
            let rst = self.rst.filter(|r| r.from_client == client).map(|r| (r.ts, r.origin.number));
            let fin = fin.map(|(ts, o)| (ts, o.number));
            match (fin, rst) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let (c, s) = (at(self.client.fin, true), at(self.server.fin, false));
        let close = Closing {
            client_first: c.is_some_and(|c| s.is_none_or(|s| c < s)),
            server_first: s.is_some_and(|s| c.is_none_or(|c| s < c)),
            client: c.is_some(),
            server: s.is_some(),
            server_silent: flow.s2c.bytes == 0,
            timed_out: ending == super::Ending::Timeout,
        };
        let (cause, alert, tls_facts) = tls.cause(close)?;
        if let Some(a) = alert {
            facts.tls_alert = Some((super::payload::tls_alert_name(a.description), a.description));
        }
        facts.tls = Some(tls_facts);
        Some(cause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Cause;

    /// A record: type, version 3.3, length, body.
    fn record(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ty, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    /// A handshake message: type, 24-bit length, body.
    fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
        let n = body.len() as u32;
        let mut m = vec![ty, (n >> 16) as u8, (n >> 8) as u8, n as u8];
        m.extend_from_slice(body);
        m
    }

    fn ext(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut e = ty.to_be_bytes().to_vec();
        e.extend_from_slice(&(data.len() as u16).to_be_bytes());
        e.extend_from_slice(data);
        e
    }

    /// RFC 8446 §4.1.2 ClientHello (record version 3.1, as clients send it): no session id,
    /// one suite, then server_name and supported_versions (GREASE, 1.3, 1.2).
    fn client_hello(name: &str) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0x11; 32]);
        b.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
        let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        sni.push(0);
        sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sni.extend_from_slice(name.as_bytes());
        let mut exts = ext(0, &sni);
        exts.extend(ext(43, &[6, 0x3a, 0x3a, 3, 4, 3, 3]));
        b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        b.extend(exts);
        let mut r = record(22, &handshake(1, &b));
        r[2] = 1;
        r
    }

    /// RFC 8446 §4.1.3 ServerHello with a 32-byte session id, TLS_AES_128_GCM_SHA256, and
    /// supported_versions when `v13`.
    fn server_hello(v13: bool) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0x22; 32]);
        b.push(32);
        b.extend_from_slice(&[0x33; 32]);
        b.extend_from_slice(&[0x13, 0x01, 0]);
        let exts = if v13 { ext(43, &[3, 4]) } else { ext(0xff01, &[0]) };
        b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        b.extend(exts);
        record(22, &handshake(2, &b))
    }

    fn alert(level: u8, description: u8) -> Vec<u8> {
        record(21, &[level, description])
    }

    /// An encrypted record of `len` bytes of ciphertext.
    fn sealed(len: usize) -> Vec<u8> {
        record(23, &vec![0x5a; len])
    }

    const CCS: [u8; 6] = [20, 3, 3, 0, 1, 1];

    /// Feeds whole segments in order; each side's sequence numbers start at 1000.
    struct Feed {
        tls: TlsState,
        seq: [u32; 2],
        pkt: u64,
    }

    impl Feed {
        fn new() -> Self {
            Feed { tls: TlsState::default(), seq: [1000, 1000], pkt: 0 }
        }
        fn send(&mut self, from_client: bool, payload: &[u8]) -> u64 {
            self.pkt += 1;
            let i = usize::from(!from_client);
            let prefix = &payload[..payload.len().min(crate::decode::PAYLOAD_PREFIX)];
            self.tls.segment(prefix, self.seq[i], payload.len() as u32, from_client, self.pkt);
            self.seq[i] = self.seq[i].wrapping_add(payload.len() as u32);
            self.pkt
        }
        fn cause(&self, close: Closing) -> Option<(Cause, Option<Alert>, TlsFacts)> {
            self.tls.cause(close)
        }
    }

    const CLIENT_CLOSED: Closing = Closing {
        client_first: true,
        server_first: false,
        client: true,
        server: true,
        server_silent: false,
        timed_out: false,
    };
    const SERVER_CLOSED: Closing = Closing {
        client_first: false,
        server_first: true,
        client: true,
        server: true,
        server_silent: false,
        timed_out: false,
    };

    /// TLS 1.2 whose server's ChangeCipherSpec was beyond the kept bytes (behind a long
    /// NewSessionTicket), then its application data, then the server's close: a finished
    /// handshake, not one the server closed.
    #[test]
    fn tls12_application_data_means_the_handshake_ended() {
        let mut f = Feed::new();
        f.send(true, &client_hello("www.example.test"));
        f.send(false, &server_hello(false));
        let mut flight = record(22, &[16; 70]);
        flight.extend_from_slice(&CCS);
        flight.extend(sealed(40));
        f.send(true, &flight);
        let mut tickets = record(22, &[4; 200]);
        tickets.extend_from_slice(&CCS);
        tickets.extend(sealed(40));
        f.send(false, &tickets);
        f.send(false, &sealed(1400));
        assert_eq!(f.cause(SERVER_CLOSED).map(|c| c.0), None);
        // The client's request before the server's application data: the same.
        let mut f = Feed::new();
        f.send(true, &client_hello("www.example.test"));
        f.send(false, &server_hello(false));
        f.send(true, &flight);
        let mut long_ticket = record(22, &[4; 200]);
        long_ticket.extend_from_slice(&CCS);
        f.send(false, &long_ticket[..150]);
        f.send(true, &sealed(300));
        assert_eq!(f.cause(SERVER_CLOSED).map(|c| c.0), None);
    }

    /// A record that looks like a handshake but whose hello names no SSL/TLS version
    /// (random bytes behind a 0x16 0x03 header) is no hello: no handshake is followed.
    #[test]
    fn a_hello_with_no_tls_version_is_not_a_hello() {
        let mut ch = client_hello("x.test");
        ch[9..11].copy_from_slice(&[0x37, 0x76]);
        let mut sh = server_hello(false);
        sh[9..11].copy_from_slice(&[0x56, 0x68]);
        let mut f = Feed::new();
        f.send(true, &ch);
        f.send(false, &sh);
        assert_eq!((f.tls.client.hello, f.tls.server.hello), (None, None));
    }

    #[test]
    fn reads_the_hellos() {
        let ch = client_hello("db.example.test");
        assert!(starts_handshake(&ch));
        assert!(!starts_handshake(&server_hello(true)));
        let mut f = Feed::new();
        f.send(true, &ch);
        f.send(false, &server_hello(true));
        assert_eq!(f.tls.sni().as_deref(), Some("db.example.test"));
        assert_eq!(f.tls.versions(), (Some(0x0304), Some(0x0304)));
        assert!(f.tls.tls13);
        assert_eq!((f.tls.client.hello, f.tls.server.hello), (Some(1), Some(2)));
        // A name cut by the prefix keeps what is there, and says so.
        let long = "a".repeat(100);
        let mut f = Feed::new();
        f.send(true, &client_hello(&long));
        let sni = f.tls.sni().unwrap();
        assert!(sni.ends_with('…') && sni.len() < 70, "{sni}");
        assert_eq!(version_name(0x0303), "TLS 1.2");
        assert_eq!(version_name(0x7f1c), "0x7f1c");
    }

    /// TLS 1.2: the client's fatal unknown_ca (`15 03 03 00 02 02 30`) after the server's
    /// flight; the server's flight spans segments and its last record begins mid-segment.
    #[test]
    fn client_alert_in_the_clear_rejects_the_certificate() {
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        let mut flight = server_hello(false);
        let mut cert = record(22, &handshake(11, &vec![0x44; 1500]));
        flight.append(&mut cert);
        flight.extend(record(22, &handshake(14, &[])));
        f.send(false, &flight[..1000]);
        f.send(false, &flight[1000..]);
        let p = f.send(true, &alert(2, 48));
        let (cause, a, facts) = f.cause(CLIENT_CLOSED).unwrap();
        assert_eq!(cause, Cause::TlsCertificateRejected);
        assert_eq!(a, Some(Alert { level: 2, description: 48, packet: p }));
        assert_eq!((facts.alert_from, facts.alert_packet), (Some("client"), Some(p)));
        assert_eq!(facts.server_version, Some(0x0303));
        assert!(!f.tls.tls13);
        // handshake_failure from the client is its own refusal, not named a certificate's.
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        f.send(false, &server_hello(false));
        f.send(true, &alert(2, 40));
        assert_eq!(f.cause(CLIENT_CLOSED).unwrap().0, Cause::TlsClientAlert);
    }

    /// TLS 1.3: ServerHello, the compatibility ChangeCipherSpec and the encrypted flight; the
    /// client answers ChangeCipherSpec and one 19-byte record, then closes.
    #[test]
    fn a_short_encrypted_record_then_close_is_the_clients_alert() {
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        let mut flight = server_hello(true);
        flight.extend_from_slice(&CCS);
        flight.extend(sealed(2000));
        f.send(false, &flight[..1400]);
        f.send(false, &flight[1400..]);
        let mut answer = CCS.to_vec();
        answer.extend(sealed(19));
        let p = f.send(true, &answer);
        let (cause, a, facts) = f.cause(CLIENT_CLOSED).unwrap();
        assert_eq!((cause, a), (Cause::TlsClientAbortedHandshake, None));
        assert_eq!(facts.encrypted_alert, Some(("client", p, 19)));
        // Its Finished (53 bytes) instead: the handshake went on.
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        f.send(false, &flight);
        let mut fin = CCS.to_vec();
        fin.extend(sealed(53));
        f.send(true, &fin);
        assert!(f.cause(CLIENT_CLOSED).is_none());
    }

    /// TLS 1.3 with `-Verify 1`: the client's empty Certificate (25 bytes sealed) and
    /// Finished; the server's one 19-byte record (certificate_required) and close.
    #[test]
    fn a_servers_short_record_after_an_empty_certificate_requires_one() {
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        let mut flight = server_hello(true);
        flight.extend_from_slice(&CCS);
        flight.extend(sealed(900));
        f.send(false, &flight);
        let mut answer = CCS.to_vec();
        answer.extend(sealed(25));
        answer.extend(sealed(53));
        let e = f.send(true, &answer);
        let p = f.send(false, &sealed(19));
        let (cause, _, facts) = f.cause(SERVER_CLOSED).unwrap();
        assert_eq!(cause, Cause::TlsClientCertificateRequired);
        assert_eq!(facts.encrypted_alert, Some(("server", p, 19)));
        assert_eq!(facts.empty_certificate_packet, Some(e));
        // The client's close_notify crossed the server's alert (s_client at the end of its
        // input): still the certificate the server required.
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        f.send(false, &flight);
        f.send(true, &answer);
        f.send(true, &sealed(19));
        f.send(false, &sealed(19));
        assert_eq!(f.cause(SERVER_CLOSED).unwrap().0, Cause::TlsClientCertificateRequired);
        // Without the empty Certificate, the client closed first: its refusal, not the
        // server's answer to it (a close_notify for a close_notify).
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        f.send(false, &flight);
        let mut fin = CCS.to_vec();
        fin.extend(sealed(53));
        f.send(true, &fin);
        f.send(true, &sealed(19));
        f.send(false, &sealed(19));
        assert_eq!(f.cause(SERVER_CLOSED).unwrap().0, Cause::TlsClientClosedAfterHandshake);
        // Session tickets after the Finished: the handshake is over, no longer followed.
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        f.send(false, &flight);
        let mut fin = CCS.to_vec();
        fin.extend(sealed(53));
        f.send(true, &fin);
        f.send(false, &sealed(250));
        f.send(false, &sealed(250));
        f.send(false, &sealed(19));
        assert!(f.cause(SERVER_CLOSED).is_none());
        // The client's request: the handshake is over, no longer followed.
        f.send(true, &sealed(120));
        assert!(f.tls.done);
    }

    /// The handshake ends, then the client's close_notify before any request: curl's own
    /// name check after the handshake. TLS 1.3 (a 19-byte record after its 69-byte
    /// Finished) and TLS 1.2 (an encrypted alert record, 26 bytes, after the server's
    /// ChangeCipherSpec and Finished).
    #[test]
    fn a_client_that_closes_right_after_the_handshake_refused_it() {
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        let mut flight = server_hello(true);
        flight.extend_from_slice(&CCS);
        flight.extend(sealed(900));
        f.send(false, &flight);
        let mut fin = CCS.to_vec();
        fin.extend(sealed(69));
        f.send(true, &fin);
        let p = f.send(true, &sealed(19));
        f.send(false, &sealed(250));
        let (cause, _, facts) = f.cause(CLIENT_CLOSED).unwrap();
        assert_eq!(cause, Cause::TlsClientClosedAfterHandshake);
        assert_eq!(facts.encrypted_alert, Some(("client", p, 19)));
        // A request first, then the close_notify: a conversation, not a refusal.
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        f.send(false, &flight);
        f.send(true, &fin);
        f.send(true, &sealed(90));
        f.send(true, &sealed(19));
        assert!(f.cause(CLIENT_CLOSED).is_none());

        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        f.send(false, &server_hello(false));
        let mut answer = record(22, &handshake(16, &[0x20; 33]));
        answer.extend_from_slice(&CCS);
        answer.extend(record(22, &[0x66; 40]));
        f.send(true, &answer);
        let mut fin = CCS.to_vec();
        fin.extend(record(22, &[0x77; 40]));
        f.send(false, &fin);
        let p = f.send(true, &record(21, &[0x88; 26]));
        let (cause, _, facts) = f.cause(SERVER_CLOSED).unwrap();
        assert_eq!(cause, Cause::TlsClientClosedAfterHandshake);
        assert_eq!(facts.encrypted_alert, Some(("client", p, 26)));
    }

    /// Without supported_versions in the kept bytes, the hello's own version is only its
    /// legacy one; a hello read to its end without the extension offers just that.
    #[test]
    fn a_version_not_read_is_not_claimed() {
        let mut ch = client_hello("x");
        let mut f = Feed::new();
        f.send(true, &ch);
        assert_eq!(f.tls.versions().0, Some(0x0304));
        // Cut the supported_versions extension off (the last 11 bytes) and fix the lengths.
        ch.truncate(ch.len() - 11);
        let n = ch.len();
        let fix = |ch: &mut Vec<u8>, at: usize, v: usize| {
            ch[at..at + 2].copy_from_slice(&(v as u16).to_be_bytes());
        };
        fix(&mut ch, 3, n - 5);
        ch[6..9].copy_from_slice(&[0, ((n - 9) >> 8) as u8, (n - 9) as u8]);
        let ext_at = 5 + 4 + 2 + 32 + 1 + 4 + 2;
        fix(&mut ch, ext_at, n - ext_at - 2);
        let mut f = Feed::new();
        f.send(true, &ch);
        assert_eq!(f.tls.versions().0, Some(0x0303));
        // A hello whose extensions run beyond the prefix: no version claimed.
        let mut f = Feed::new();
        f.send(true, &client_hello(&"b".repeat(100)));
        assert_eq!(f.tls.versions().0, None);
        let facts = f.cause(Closing { server_silent: true, ..CLIENT_CLOSED }).unwrap().2;
        assert_eq!((facts.client_version, facts.client_legacy_version), (None, Some(0x0303)));
    }

    /// TLS 1.2 with a required client certificate: the client's empty Certificate
    /// (`16 03 03 00 07 0b 00 00 03 00 00 00`), ClientKeyExchange, ChangeCipherSpec and
    /// Finished; the server's fatal handshake_failure.
    #[test]
    fn tls12_empty_certificate_then_handshake_failure() {
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        f.send(false, &server_hello(false));
        let mut answer = record(22, &handshake(11, &[0, 0, 0]));
        assert_eq!(&answer[..], &[0x16, 3, 3, 0, 7, 0x0b, 0, 0, 3, 0, 0, 0]);
        answer.extend(record(22, &handshake(16, &[0x20; 33])));
        answer.extend_from_slice(&CCS);
        answer.extend(record(22, &[0x66; 40]));
        let e = f.send(true, &answer);
        assert_eq!(f.tls.client.first_long, Some(e));
        f.send(false, &alert(2, 40));
        let (cause, a, facts) = f.cause(SERVER_CLOSED).unwrap();
        assert_eq!(cause, Cause::TlsClientCertificateRequired);
        assert_eq!(a.map(|a| a.description), Some(40));
        assert_eq!(facts.empty_certificate_packet, Some(e));
    }

    #[test]
    fn the_servers_answer_to_the_hello() {
        // protocol_version (`15 03 03 00 02 02 46`), handshake_failure, another alert.
        for (d, cause) in [
            (70, Cause::TlsVersionMismatch),
            (40, Cause::TlsNoCommonCipher),
            (71, Cause::TlsNoCommonCipher),
            (80, Cause::TlsAlert),
        ] {
            let mut f = Feed::new();
            f.send(true, &client_hello("x"));
            f.send(false, &alert(2, d));
            assert_eq!(f.cause(SERVER_CLOSED).unwrap().0, cause, "{d}");
        }
        // A warning (unrecognized_name) decides nothing; the fatal one after it does.
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        let mut two = alert(1, 112);
        two.extend(alert(2, 116));
        f.send(false, &two);
        assert_eq!(f.cause(SERVER_CLOSED).unwrap().0, Cause::TlsClientCertificateRequired);
        // Nothing back, the client gave up: unanswered; the server closing first is not.
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        let silent = Closing { server_silent: true, server: false, ..CLIENT_CLOSED };
        assert_eq!(f.cause(silent).unwrap().0, Cause::TlsHelloUnanswered);
        let idle = Closing { client_first: false, client: false, timed_out: true, ..silent };
        assert_eq!(f.cause(idle).unwrap().0, Cause::TlsHelloUnanswered);
        let closed = Closing { server_silent: true, ..SERVER_CLOSED };
        assert!(f.cause(closed).is_none());
        // The server said hello and closed: closed during the handshake.
        f.send(false, &server_hello(false));
        assert_eq!(f.cause(SERVER_CLOSED).unwrap().0, Cause::TlsServerClosedHandshake);
    }

    #[test]
    fn segments_inside_records_are_not_read_as_headers() {
        let mut f = Feed::new();
        f.send(true, &client_hello("x"));
        // A record whose body, at the next segment's start, looks like an alert.
        let mut big = record(22, &handshake(11, &[0; 300]));
        big[200..207].copy_from_slice(&alert(2, 48));
        f.send(false, &server_hello(false));
        f.send(false, &big[..200]);
        f.send(false, &big[200..]);
        assert_eq!(f.tls.server.alert, None);
        // Sealed bytes that are not a record header are not followed.
        f.send(false, &[0x17, 9, 9, 9, 9, 9]);
        assert_eq!(f.tls.server.encrypted, 0);
        const { assert!(TLS_STATE_BYTES <= 448) };
    }
}
