//! What the first payload bytes of each side say: TLS records and alerts, HTTP request and
//! status lines, SSH banners, DNS headers. Pure functions over the bounded prefix the decoder
//! keeps, so application-level causes need no reassembly and no allocation per packet.

/// What a side's first payload looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FirstBytes {
    /// A TLS handshake record carrying a ClientHello.
    TlsClientHello,
    /// A TLS alert record: level (1 warning, 2 fatal) and description.
    TlsAlert { level: u8, description: u8 },
    /// Another TLS record (ServerHello, change cipher spec, application data).
    TlsRecord,
    /// An HTTP/1.x response status line.
    HttpResponse { status: u16 },
    /// Printable text: an HTTP request, an SSH/SMTP/FTP banner, a line protocol.
    Text,
    /// Anything else.
    Binary,
}

/// RFC 8446 §5.1: content type 20–23, legacy version 3.x.
fn is_tls_record(b: &[u8]) -> bool {
    b.len() >= 3 && (20..=23).contains(&b[0]) && b[1] == 3 && b[2] <= 4
}

/// Reads a side's first payload bytes.
pub(crate) fn classify(b: &[u8]) -> FirstBytes {
    if is_tls_record(b) {
        return match b[0] {
            22 if b.len() > 5 && b[5] == 1 => FirstBytes::TlsClientHello,
            21 if b.len() >= 7 => FirstBytes::TlsAlert { level: b[5], description: b[6] },
            _ => FirstBytes::TlsRecord,
        };
    }
    if let Some(status) = http_status(b) {
        return FirstBytes::HttpResponse { status };
    }
    let head = &b[..b.len().min(16)];
    if !head.is_empty()
        && head.iter().all(|&c| c == b'\r' || c == b'\n' || c == b'\t' || (0x20..0x7f).contains(&c))
    {
        return FirstBytes::Text;
    }
    FirstBytes::Binary
}

/// `HTTP/1.1 403 Forbidden` → 403.
fn http_status(b: &[u8]) -> Option<u16> {
    let rest = b.strip_prefix(b"HTTP/1.")?;
    let digits = rest.get(2..5)?;
    if rest.get(1) != Some(&b' ') || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let s = digits.iter().fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    (100..600).contains(&s).then_some(s)
}

/// RFC 8446 §6 / RFC 5246 §7.2 alert descriptions.
pub(crate) fn tls_alert_name(description: u8) -> &'static str {
    match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown_alert",
    }
}

/// The first line of a text payload, cut at 60 characters, control characters escaped: safe
/// to print and enough to recognise `HTTP/1.1 400 Bad Request` or `SSH-2.0-OpenSSH_9.2`.
pub(crate) fn first_line(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == b'\r' || c == b'\n').unwrap_or(b.len()).min(60);
    b[..end].iter().flat_map(|&c| std::ascii::escape_default(c)).map(char::from).collect()
}

/// The facts of a DNS message header (RFC 1035 §4.1.1), read without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DnsHeader {
    pub(crate) id: u16,
    pub(crate) response: bool,
    pub(crate) rcode: u8,
    pub(crate) questions: u16,
    pub(crate) answers: u16,
}

/// Reads a DNS header from a UDP payload (or a TCP payload after its 2-byte length).
pub(crate) fn dns_header(b: &[u8]) -> Option<DnsHeader> {
    if b.len() < 12 {
        return None;
    }
    let opcode = (b[2] >> 3) & 0x0f;
    let questions = u16::from_be_bytes([b[4], b[5]]);
    // Standard queries with one question are what resolvers send.
    if opcode != 0 || questions != 1 {
        return None;
    }
    Some(DnsHeader {
        id: u16::from_be_bytes([b[0], b[1]]),
        response: b[2] & 0x80 != 0,
        rcode: b[3] & 0x0f,
        questions,
        answers: u16::from_be_bytes([b[6], b[7]]),
    })
}

/// Whether `b` looks like a response in DNS's header format (DNS, mDNS, LLMNR, NetBIOS name
/// service, RFC 1002 §4.2.1): the response bit set, at most one question, and a question or
/// an answer (a NetBIOS positive name answer carries no question, one answer).
pub(crate) fn is_dns_format_response(b: &[u8]) -> bool {
    let [_, _, flags, _, q0, q1, a0, a1, ..] = *b else { return false };
    let (questions, answers) = (u16::from_be_bytes([q0, q1]), u16::from_be_bytes([a0, a1]));
    b.len() >= 12 && flags & 0x80 != 0 && questions <= 1 && questions + answers.min(1) >= 1
}

/// Whether `b` looks like a DNS query and nothing else: a standard query with one question,
/// no answer or authority records, and a well-formed question name. Strict, because a query
/// is recognised on any port and a false match would make a silent datagram a "DNS failure".
pub(crate) fn is_dns_query(b: &[u8]) -> bool {
    let Some(h) = dns_header(b) else { return false };
    if h.response || h.answers != 0 || b[8] != 0 || b[9] != 0 {
        return false;
    }
    matches!(dns_question(b), Some((name, qtype)) if qtype != 0 && !name.ends_with('…'))
}

/// The question's name and type, if the prefix holds all of it (a name cut by the prefix
/// ends in `…`). Names are escaped: labels may hold any byte.
pub(crate) fn dns_question(b: &[u8]) -> Option<(String, u16)> {
    let mut i = 12;
    let mut name = String::new();
    loop {
        let Some(&len) = b.get(i) else {
            name.push('…');
            return Some((name, 0));
        };
        let len = len as usize;
        if len == 0 {
            i += 1;
            break;
        }
        if len & 0xc0 != 0 {
            return None; // compression pointers do not occur in a question
        }
        let Some(label) = b.get(i + 1..i + 1 + len) else {
            name.push('…');
            return Some((name, 0));
        };
        if !name.is_empty() {
            name.push('.');
        }
        for &c in label {
            if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
                name.push(char::from(c));
            } else {
                name.extend(std::ascii::escape_default(c).map(char::from));
            }
        }
        i += 1 + len;
    }
    let qtype = u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]);
    Some((if name.is_empty() { ".".into() } else { name }, qtype))
}

/// Names the common query types.
pub(crate) fn dns_type_name(t: u16) -> String {
    match t {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        64 => "SVCB".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        other => format!("TYPE{other}"),
    }
}

/// The RFC 1035/6895 name of a response code.
pub(crate) fn dns_rcode_name(rcode: u8) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_first_bytes() {
        assert_eq!(classify(&[22, 3, 1, 0, 200, 1, 0, 0]), FirstBytes::TlsClientHello);
        assert_eq!(
            classify(&[21, 3, 3, 0, 2, 2, 40]),
            FirstBytes::TlsAlert { level: 2, description: 40 }
        );
        assert_eq!(classify(&[22, 3, 3, 0, 90, 2]), FirstBytes::TlsRecord);
        assert_eq!(
            classify(b"HTTP/1.1 403 Forbidden\r\n"),
            FirstBytes::HttpResponse { status: 403 }
        );
        assert_eq!(classify(b"HTTP/1.0 200 OK\r\n"), FirstBytes::HttpResponse { status: 200 });
        assert_eq!(classify(b"GET / HTTP/1.1\r\nHost: x\r\n"), FirstBytes::Text);
        assert_eq!(classify(b"SSH-2.0-OpenSSH_9.2\r\n"), FirstBytes::Text);
        assert_eq!(classify(&[0, 1, 2, 3]), FirstBytes::Binary);
        assert_eq!(classify(b"HTTP/1.1 9x"), FirstBytes::Text);
    }

    #[test]
    fn first_line_is_cut_and_escaped() {
        assert_eq!(
            first_line(b"HTTP/1.1 400 Bad Request\r\nServer: x"),
            "HTTP/1.1 400 Bad Request"
        );
        assert_eq!(first_line(b"a\x1b[31mb"), "a\\x1b[31mb");
    }

    #[test]
    fn reads_dns_queries_and_responses() {
        // id 0x1234, response, NXDOMAIN, 1 question, example.com A.
        let mut m = vec![0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 1, 0, 0];
        m.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
        let h = dns_header(&m).unwrap();
        assert_eq!((h.id, h.response, h.rcode, h.answers), (0x1234, true, 3, 0));
        assert_eq!(dns_question(&m), Some(("example.com".into(), 1)));
        assert_eq!(
            crate::verdict::Cause::dns_rcode(h.rcode),
            Some(crate::verdict::Cause::Nxdomain)
        );
        assert_eq!(dns_question(&m[..20]), Some(("example…".into(), 0)));
        assert_eq!(dns_header(&m[..11]), None);
    }

    #[test]
    fn dns_names_escape_control_bytes() {
        let mut m = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(b"\x03a\x1bb\x00\x00\x1c\x00\x01");
        assert_eq!(dns_question(&m), Some(("a\\x1bb".into(), 28)));
        assert_eq!(dns_type_name(28), "AAAA");
    }
}
