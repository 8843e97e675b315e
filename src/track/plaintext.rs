//! The protocols that reject in plaintext: the server's first answer — its banner, or its first
//! reply after the client's first request — read for a refusal a person can act on. MySQL and
//! MariaDB error packets, PostgreSQL ErrorResponse messages, Redis errors, SMTP and FTP reply
//! codes, an SSH server that turns the client away around its banner. (HTTP statuses are read in
//! `classify`, from the first bytes.)
//!
//! Pure functions over the bounded prefixes the tracker keeps of each side (the first
//! [`PAYLOAD_PREFIX`](crate::decode::PAYLOAD_PREFIX) bytes of a segment); called once, at the
//! verdict, never per packet. Every read is bounds-checked: any bytes give an answer or none,
//! never a panic.
//!
//! A protocol is recognised by its port and by its content: on its own well-known port a
//! protocol's error is read as such; on a port that names another protocol (80 is HTTP) it never
//! is; on any other port only where the bytes cannot be anything else (a MySQL greeting or error
//! packet whose length field matches, sent before the client spoke; a PostgreSQL start-up
//! message from the client; a Redis error with the server's own words).

use crate::verdict::Cause;

/// What a conversation showed, as the reader of plaintext refusals needs it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Exchange<'a> {
    /// The server's port.
    pub(crate) port: u16,
    /// The client's first payload.
    pub(crate) client_first: Option<&'a [u8]>,
    /// The server's first payload.
    pub(crate) server_first: Option<&'a [u8]>,
    /// The server spoke before the client: its first payload is a banner.
    pub(crate) server_spoke_first: bool,
    /// The server's answer to the client's latest message after the server's first payload,
    /// followed for a login's few turns until one is an error (the answer to a login after a
    /// greeting), and which turn it answered (1: the client's first message after the server's
    /// first payload).
    pub(crate) server_reply: Option<&'a [u8]>,
    pub(crate) reply_turn: u8,
    /// The server closed (FIN or RST) before the client did.
    pub(crate) server_closed_first: bool,
    /// Every byte the server sent is in `server_first` (one segment, not cut by the prefix).
    pub(crate) server_sent_only_first: bool,
}

/// The code a protocol gave with its refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    /// A MySQL/MariaDB error number, with its SQLSTATE when the packet carried one.
    Mysql { error: u16, sqlstate: Option<[u8; 5]> },
    /// A PostgreSQL SQLSTATE.
    Sqlstate([u8; 5]),
    /// A Redis error's first word (`DENIED`, `NOAUTH`, `ERR`, …), at most 16 bytes.
    Redis([u8; 16], u8),
    /// An SMTP or FTP reply code.
    Reply(u16),
    /// No code: SSH says it in words.
    None,
}

/// A refusal read from the server's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refusal<'a> {
    pub(crate) cause: Cause,
    /// `mysql`, `postgresql`, `redis`, `smtp`, `ftp`, `ssh`.
    pub(crate) protocol: &'static str,
    pub(crate) code: Code,
    /// The server's own words (raw; escaped when written), within the prefix.
    pub(crate) message: &'a [u8],
    /// The words came in the server's reply to the client's second message (not its first
    /// payload).
    pub(crate) in_reply: bool,
}

/// How long a message may be in the evidence.
pub(crate) const MESSAGE_MAX: usize = 120;

/// The server's words for the evidence: printable ASCII as it is (quotes too), a backslash
/// doubled, control and non-ASCII bytes escaped (`\n`, `\xc3`), cut at [`MESSAGE_MAX`]
/// characters (with `…`).
pub(crate) fn escape_message(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        if s.len() >= MESSAGE_MAX {
            s.push('…');
            break;
        }
        match c {
            b'\\' => s.push_str("\\\\"),
            0x20..0x7f => s.push(char::from(c)),
            _ => s.extend(std::ascii::escape_default(c).map(char::from)),
        }
    }
    s
}

/// The protocol a well-known port names, if it names one.
fn port_protocol(port: u16) -> Option<&'static str> {
    Some(match port {
        3306 | 3307 => "mysql",
        5432 | 5433 => "postgresql",
        6379 | 6380 => "redis",
        25 | 587 | 2525 => "smtp",
        21 => "ftp",
        22 | 2222 => "ssh",
        80 | 443 | 8080 | 8443 | 8000 | 8008 | 8888 => "http",
        465 | 990 | 993 | 995 | 636 | 853 => "tls",
        53 => "dns",
        110 => "pop3",
        143 => "imap",
        _ => return None,
    })
}

/// Whether `proto` may be read on `port`: its own port, or one that names no protocol.
fn may_be(port: u16, proto: &str) -> bool {
    port_protocol(port).is_none_or(|p| p == proto)
}

/// The refusal the server's first answer shows, if any.
pub(crate) fn refusal<'a>(x: &Exchange<'a>) -> Option<Refusal<'a>> {
    mysql(x).or_else(|| postgres(x)).or_else(|| redis(x)).or_else(|| smtp_ftp(x)).or_else(|| ssh(x))
}

// ------------------------------------------------------------------------------------ MySQL

/// A MySQL packet's header: payload length (3 bytes, little-endian) and sequence id; the
/// payload as far as the prefix holds it; whether the prefix holds exactly one whole packet.
fn mysql_packet(b: &[u8]) -> Option<(u32, u8, &[u8], bool)> {
    let [l0, l1, l2, seq, ..] = *b else { return None };
    let len = u32::from_le_bytes([l0, l1, l2, 0]);
    let body = b.get(4..)?;
    let whole = body.len() == len as usize;
    // Cut by the prefix: the packet must be at least as long as what was kept.
    if !whole && (body.len() as u64) > u64::from(len) {
        return None;
    }
    Some((len, seq, body, whole))
}

/// A MySQL ERR packet as far as the prefix holds it.
#[derive(Clone, Copy, Debug)]
struct MysqlErr<'a> {
    code: u16,
    sqlstate: Option<[u8; 5]>,
    message: &'a [u8],
    seq: u8,
    /// The prefix holds exactly this one packet.
    whole: bool,
}

/// A MySQL ERR packet (0xff, error code, optional `#` + SQLSTATE, message). Strict: a
/// plausible server error number and printable words.
fn mysql_err(b: &[u8]) -> Option<MysqlErr<'_>> {
    let (len, seq, body, whole) = mysql_packet(b)?;
    let [0xff, c0, c1, ref rest @ ..] = *body else { return None };
    let code = u16::from_le_bytes([c0, c1]);
    if !(1000..5000).contains(&code) || !(4..=0x4000).contains(&len) {
        return None;
    }
    let (sqlstate, message) = match rest {
        [b'#', s @ ..] if s.len() >= 5 => {
            let mut st = [0; 5];
            st.copy_from_slice(&s[..5]);
            if !st.iter().all(u8::is_ascii_alphanumeric) {
                return None;
            }
            (Some(st), &s[5..])
        }
        _ => (None, rest),
    };
    if message.is_empty() || !message.iter().all(|&c| c >= 0x20 || c == b'\t') {
        return None;
    }
    Some(MysqlErr { code, sqlstate, message, seq, whole })
}

/// A MySQL protocol-10 greeting: sequence 0, version 10, a NUL-terminated printable version.
fn mysql_greeting(b: &[u8]) -> bool {
    let Some((len, 0, body, _)) = mysql_packet(b) else { return false };
    let [10, ref rest @ ..] = *body else { return false };
    let Some(end) = rest.iter().position(|&c| c == 0) else { return false };
    (20..0x1000).contains(&len)
        && (1..=60).contains(&end)
        && rest[..end].iter().all(|c| c.is_ascii_graphic())
}

fn mysql_cause(code: u16) -> Option<Cause> {
    Some(match code {
        1040 => Cause::MysqlTooManyConnections,
        1045 => Cause::MysqlAccessDenied,
        1129 => Cause::MysqlHostBlocked,
        1130 => Cause::MysqlHostNotAllowed,
        _ => return None,
    })
}

fn mysql<'a>(x: &Exchange<'a>) -> Option<Refusal<'a>> {
    let first = x.server_first?;
    let port_says = port_protocol(x.port) == Some("mysql");
    if !(port_says || (may_be(x.port, "mysql") && x.server_spoke_first)) {
        return None;
    }
    let refusal = |e: MysqlErr<'a>, in_reply| {
        Some(Refusal {
            cause: mysql_cause(e.code)?,
            protocol: "mysql",
            code: Code::Mysql { error: e.code, sqlstate: e.sqlstate },
            message: e.message,
            in_reply,
        })
    };
    // The greeting replaced by an error (too many connections, host blocked or not allowed):
    // sequence 0, sent before the client spoke. Off the MySQL port, only a whole packet.
    if let Some(e) = mysql_err(first)
        && e.seq == 0
        && x.server_spoke_first
        && (port_says || e.whole)
    {
        return refusal(e, false);
    }
    // The greeting, then the answer to the client's login (sequence 2, or more after an
    // authentication switch).
    if mysql_greeting(first)
        && let Some(e) = x.server_reply.and_then(mysql_err)
        && e.seq >= 2
    {
        return refusal(e, true);
    }
    None
}

// ------------------------------------------------------------------------------- PostgreSQL

/// A PostgreSQL start-up packet from the client: a StartupMessage (protocol 3.0), an
/// SSLRequest or a GSSENCRequest (int32 length, int32 code).
fn pg_startup(b: &[u8]) -> bool {
    let (Some(l), Some(c)) = (b.get(..4), b.get(4..8)) else { return false };
    let len = u32::from_be_bytes([l[0], l[1], l[2], l[3]]);
    let code = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
    match code {
        0x0003_0000 => (9..10_000).contains(&len),
        80_877_103 | 80_877_104 => len == 8,
        _ => false,
    }
}

/// The fields of a PostgreSQL ErrorResponse (`E`, int32 length, then fields of a code byte and
/// a NUL-terminated string, ended by a 0 byte) that the prefix holds: (severity, SQLSTATE,
/// message). The message may be cut by the prefix.
fn pg_error(b: &[u8]) -> Option<(&[u8], [u8; 5], &[u8])> {
    let [b'E', l0, l1, l2, l3, ref fields @ ..] = *b else { return None };
    let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
    if !(8..0x1_0000).contains(&len) || fields.len() + 4 > len {
        return None;
    }
    let (mut severity, mut state, mut message) = (None, None, None);
    let mut rest = fields;
    while let [code, ref tail @ ..] = *rest {
        if code == 0 {
            break;
        }
        if !code.is_ascii_alphabetic() {
            return None;
        }
        let (value, next, whole) = match tail.iter().position(|&c| c == 0) {
            Some(end) => (&tail[..end], &tail[end + 1..], true),
            None => (tail, &[][..], false),
        };
        match code {
            b'S' if whole => severity = Some(value),
            b'C' if whole => {
                let st: [u8; 5] = value.try_into().ok()?;
                if !st.iter().all(u8::is_ascii_alphanumeric) {
                    return None;
                }
                state = Some(st);
            }
            b'M' => message = Some(value),
            _ => {}
        }
        rest = next;
    }
    let severity = severity?;
    if severity.is_empty() || !severity.iter().all(|c| c.is_ascii_graphic() || *c >= 0x80) {
        return None;
    }
    Some((severity, state?, message.unwrap_or_default()))
}

fn postgres<'a>(x: &Exchange<'a>) -> Option<Refusal<'a>> {
    let port_says = port_protocol(x.port) == Some("postgresql");
    let client_says = x.client_first.is_some_and(pg_startup);
    if !(port_says || (client_says && may_be(x.port, "postgresql"))) {
        return None;
    }
    // Without TLS the error is the server's first answer; after an SSLRequest answered `N`
    // (or a GSSENCRequest), it answers the start-up message that follows.
    let (b, in_reply) = match x.server_first? {
        [b'N'] | [b'G'] => (x.server_reply?, true),
        first => (first, false),
    };
    let (_, state, message) = pg_error(b)?;
    let cause = match &state {
        b"28000" if contains(message, b"pg_hba") => Cause::PgHbaRejected,
        b"28000" | b"28P01" => Cause::PgAuthFailed,
        b"53300" => Cause::PgTooManyConnections,
        b"57P03" => Cause::PgStartingUp,
        _ => return None,
    };
    Some(Refusal { cause, protocol: "postgresql", code: Code::Sqlstate(state), message, in_reply })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// ------------------------------------------------------------------------------------ Redis

/// A RESP error line (`-WORD message\r\n`): its first word and the whole text after `-`.
fn resp_error(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let text = b.strip_prefix(b"-")?;
    let end = text.iter().position(|&c| c == b'\r' || c == b'\n').unwrap_or(text.len());
    let line = &text[..end];
    let word_end = line.iter().position(|&c| c == b' ').unwrap_or(line.len());
    let word = &line[..word_end];
    if word.is_empty()
        || word.len() > 16
        || !word.iter().all(u8::is_ascii_uppercase)
        || !line.iter().all(|&c| (0x20..0x7f).contains(&c))
    {
        return None;
    }
    Some((word, line))
}

fn redis<'a>(x: &Exchange<'a>) -> Option<Refusal<'a>> {
    let port_says = port_protocol(x.port) == Some("redis");
    if !may_be(x.port, "redis") {
        return None;
    }
    let (word, line) = resp_error(x.server_first?)?;
    let rest = line.get(word.len()..).unwrap_or_default();
    // Off the Redis port, only Redis' own words.
    let cause = match word {
        b"DENIED" if port_says || rest.starts_with(b" Redis is running in protected mode") => {
            Cause::RedisProtectedMode
        }
        b"ERR" if rest.starts_with(b" max number of clients reached") => Cause::RedisMaxClients,
        b"NOAUTH" | b"WRONGPASS" | b"NOPERM" if port_says => Cause::RedisAuthRequired,
        b"NOAUTH" if rest.starts_with(b" Authentication required") => Cause::RedisAuthRequired,
        b"WRONGPASS" if rest.starts_with(b" invalid username-password pair") => {
            Cause::RedisAuthRequired
        }
        _ => return None,
    };
    let mut w = [0; 16];
    w[..word.len()].copy_from_slice(word);
    Some(Refusal {
        cause,
        protocol: "redis",
        code: Code::Redis(w, word.len() as u8),
        message: line,
        in_reply: false,
    })
}

// ------------------------------------------------------------------------------- SMTP, FTP

/// An SMTP/FTP reply line (RFC 5321 §4.2, RFC 959 §4.2): three digits, then a space, a `-` or
/// the end of the line; the code and the line.
fn reply_line(b: &[u8]) -> Option<(u16, &[u8])> {
    let [d0, d1, d2, ref rest @ ..] = *b else { return None };
    if !(b'1'..=b'5').contains(&d0) || !d1.is_ascii_digit() || !d2.is_ascii_digit() {
        return None;
    }
    if !matches!(rest.first(), None | Some(b' ' | b'-' | b'\r' | b'\n')) {
        return None;
    }
    let end = b.iter().position(|&c| c == b'\r' || c == b'\n').unwrap_or(b.len());
    let line = &b[..end];
    if !line.iter().all(|&c| (0x20..0x7f).contains(&c) || c == b'\t') {
        return None;
    }
    let code = u16::from(d0 - b'0') * 100 + u16::from(d1 - b'0') * 10 + u16::from(d2 - b'0');
    Some((code, line))
}

/// Which of SMTP and FTP a conversation speaks: by port, else by the banner's words, else by
/// the client's first command.
fn smtp_or_ftp(x: &Exchange<'_>, banner: &[u8]) -> Option<&'static str> {
    match port_protocol(x.port) {
        Some(p @ ("smtp" | "ftp")) => return Some(p),
        Some(_) => return None,
        None => {}
    }
    let upper = |b: &[u8]| -> [u8; 128] {
        let mut u = [0; 128];
        for (d, s) in u.iter_mut().zip(b) {
            *d = s.to_ascii_uppercase();
        }
        u
    };
    let b = upper(banner);
    let b = &b[..banner.len().min(128)];
    if contains(b, b"SMTP") {
        return Some("smtp");
    }
    if contains(b, b"FTP") {
        return Some("ftp");
    }
    let c = upper(x.client_first.unwrap_or_default());
    match c.get(..5) {
        Some(b"EHLO " | b"HELO ") => Some("smtp"),
        Some(b"USER " | b"AUTH " | b"FEAT\r") => Some("ftp"),
        _ => None,
    }
}

fn smtp_ftp<'a>(x: &Exchange<'a>) -> Option<Refusal<'a>> {
    if !x.server_spoke_first {
        return None; // both greet the client first
    }
    let banner = x.server_first?;
    let protocol = smtp_or_ftp(x, banner)?;
    let (greeting, _) = reply_line(banner)?;
    // The banner's code, else the reply to the client's first command after a 220 greeting.
    // (SMTP: the answer to the first command, EHLO; FTP: to USER or to PASS.)
    let turns = if protocol == "smtp" { 1 } else { 2 };
    let (code, message, in_reply) = match greeting {
        220 if x.reply_turn <= turns => {
            let (code, line) = reply_line(x.server_reply?)?;
            (code, line, true)
        }
        220 => return None,
        _ => (greeting, reply_line(banner)?.1, false),
    };
    let cause = match (protocol, code) {
        ("smtp", 421) => Cause::SmtpServiceUnavailable,
        ("smtp", 554) => Cause::SmtpRejected,
        ("ftp", 421) => Cause::FtpServiceUnavailable,
        ("ftp", 530) => Cause::FtpLoginDenied,
        _ => return None,
    };
    Some(Refusal { cause, protocol, code: Code::Reply(code), message, in_reply })
}

// -------------------------------------------------------------------------------------- SSH

fn ssh<'a>(x: &Exchange<'a>) -> Option<Refusal<'a>> {
    let first = x.server_first?;
    let client_ssh = x.client_first.is_some_and(|c| c.starts_with(b"SSH-"));
    let port_says = port_protocol(x.port) == Some("ssh");
    if !(port_says || (client_ssh && may_be(x.port, "ssh"))) || !x.server_spoke_first {
        return None;
    }
    let end = first.iter().position(|&c| c == b'\r' || c == b'\n').unwrap_or(first.len());
    let line = &first[..end];
    if !line.iter().all(|&c| (0x20..0x7f).contains(&c)) {
        return None;
    }
    // OpenSSH's listener: over MaxStartups unauthenticated connections it writes this line and
    // closes; a source under PerSourcePenalties gets the other.
    let cause = if line == b"Exceeded MaxStartups" {
        Cause::SshMaxStartups
    } else if line == b"Not allowed at this time" {
        Cause::SshNotAllowed
    } else if line.starts_with(b"SSH-") && x.server_closed_first && x.server_sent_only_first {
        Cause::SshClosedAfterBanner
    } else {
        return None;
    };
    Some(Refusal { cause, protocol: "ssh", code: Code::None, message: line, in_reply: false })
}

// ------------------------------------------------------------------------------------- HTTP

/// The value of a `Retry-After` header in an HTTP response's prefix, when its whole line is
/// there.
pub(crate) fn retry_after(b: &[u8]) -> Option<&[u8]> {
    const NAME: &[u8] = b"\nretry-after:";
    let at = b.windows(NAME.len()).position(|w| w.eq_ignore_ascii_case(NAME))?;
    let value = b.get(at + NAME.len()..)?;
    let end = value.iter().position(|&c| c == b'\r' || c == b'\n')?;
    let v = value[..end].trim_ascii();
    (!v.is_empty() && v.len() <= 40 && v.iter().all(|&c| (0x20..0x7f).contains(&c))).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A MySQL packet: 3-byte length, sequence id, payload.
    pub(crate) fn mysql_pkt(seq: u8, payload: &[u8]) -> Vec<u8> {
        let n = payload.len() as u32;
        let mut v = n.to_le_bytes()[..3].to_vec();
        v.push(seq);
        v.extend_from_slice(payload);
        v
    }

    fn mysql_err_pkt(seq: u8, code: u16, state: Option<&[u8; 5]>, msg: &[u8]) -> Vec<u8> {
        let mut p = vec![0xff];
        p.extend_from_slice(&code.to_le_bytes());
        if let Some(s) = state {
            p.push(b'#');
            p.extend_from_slice(s);
        }
        p.extend_from_slice(msg);
        mysql_pkt(seq, &p)
    }

    #[test]
    fn a_mysql_error_in_place_of_the_greeting() {
        let b = mysql_err_pkt(0, 1040, None, b"Too many connections");
        let x = Exchange {
            port: 3306,
            server_first: Some(&b),
            server_spoke_first: true,
            ..Exchange::default()
        };
        let r = refusal(&x).unwrap();
        assert_eq!(r.cause, Cause::MysqlTooManyConnections);
        assert_eq!(r.code, Code::Mysql { error: 1040, sqlstate: None });
        assert_eq!(r.message, b"Too many connections");
        // On an unknown port the whole packet, sent first, is unambiguous; on port 80 never.
        assert!(refusal(&Exchange { port: 13306, ..x }).is_some());
        assert!(refusal(&Exchange { port: 80, ..x }).is_none());
        assert!(refusal(&Exchange { port: 13306, server_spoke_first: false, ..x }).is_none());
    }

    #[test]
    fn strings_cut_by_the_prefix_are_read_as_far_as_they_go() {
        let long = [b'x'; 200];
        assert_eq!(escape_message(&long).chars().count(), MESSAGE_MAX + 1);
        assert_eq!(escape_message(b"a\x1bb\xc3'\"\\"), "a\\x1bb\\xc3'\"\\\\");
        assert_eq!(retry_after(b"HTTP/1.1 503 x\r\nRetry-After: 120\r\n\r\n"), Some(&b"120"[..]));
        assert_eq!(retry_after(b"HTTP/1.1 503 x\r\nretry-after:5"), None);
    }

    proptest! {
        /// No bytes make a reader panic, in any position of the exchange, on any port.
        #[test]
        fn any_bytes_are_read_without_panicking(
            a in proptest::collection::vec(any::<u8>(), 0..140),
            b in proptest::collection::vec(any::<u8>(), 0..140),
            c in proptest::collection::vec(any::<u8>(), 0..140),
            port in prop_oneof![Just(3306u16), Just(5432), Just(6379), Just(25), Just(21), Just(22), Just(80), any::<u16>()],
            flags in any::<[bool; 3]>(),
            head in 0usize..8,
        ) {
            // Also with a real protocol's first bytes in front, so the readers go deep.
            let heads: [&[u8]; 8] = [b"", b"\x17\x00\x00\x00\xff", b"E\x00\x00\x00\x40S", b"-", b"220 ", b"SSH-", b"\x4a\x00\x00\x00\x0a", b"-DENIED "];
            let mut s = heads[head].to_vec();
            s.extend_from_slice(&a);
            s.truncate(128);
            let mut r = heads[(head + 1) % 8].to_vec();
            r.extend_from_slice(&c);
            r.truncate(128);
            let x = Exchange {
                port,
                client_first: Some(&b),
                server_first: Some(&s),
                server_spoke_first: flags[0],
                server_reply: Some(&r),
                reply_turn: head as u8 % 5,
                server_closed_first: flags[1],
                server_sent_only_first: flags[2],
            };
            if let Some(f) = refusal(&x) {
                prop_assert_eq!(f.cause.kind(), crate::verdict::VerdictKind::Rejected);
                prop_assert!(escape_message(f.message).len() <= MESSAGE_MAX + 8);
            }
            let _ = retry_after(&s);
            let _ = pg_error(&s);
            let _ = mysql_err(&s);
            let _ = mysql_greeting(&s);
            let _ = resp_error(&s);
            let _ = reply_line(&s);
        }
    }
}
