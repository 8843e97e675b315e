//! Which attempts a run shows: the same filters for `analyze`, `live` and `report`
//! (`--since`, `--until`, `--server`, `--client`, `--port`, `--verdict`, `--failed`).

use std::net::IpAddr;

use super::record::{FlowRecord, IncidentRecord};
use super::time::TimeBound;
use crate::verdict::{Judgement, VerdictKind};

/// An address, with a port or not: `10.0.0.5`, `10.0.0.5:443`, `2001:db8::5`,
/// `[2001:db8::5]:443`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostPort {
    /// The address.
    pub ip: IpAddr,
    /// The port, when one was given.
    pub port: Option<u16>,
}

impl HostPort {
    /// Whether `ip:port` is this one (any port when none was given).
    pub fn matches(&self, ip: IpAddr, port: u16) -> bool {
        self.ip == ip && self.port.is_none_or(|p| p == port)
    }
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.ip, self.port) {
            (ip, None) => write!(f, "{ip}"),
            (IpAddr::V6(ip), Some(p)) => write!(f, "[{ip}]:{p}"),
            (ip, Some(p)) => write!(f, "{ip}:{p}"),
        }
    }
}

/// Parses `HOST[:PORT]` (`--server`, `--client`): an IPv4 or IPv6 address (no names: the
/// captures are read offline, with no resolver), an IPv6 one in brackets when a port follows.
pub fn parse_host_port(s: &str) -> Result<HostPort, String> {
    let bad = || {
        format!(
            "`{s}` is not ADDRESS or ADDRESS:PORT (10.0.0.5, 10.0.0.5:443, 2001:db8::5, [2001:db8::5]:443)"
        )
    };
    let bare = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(HostPort { ip, port: None });
    }
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let ip: IpAddr = host.parse().map_err(|_| bad())?;
    if ip.is_ipv6() && !s.starts_with('[') {
        return Err(bad());
    }
    let port = port.parse::<u16>().map_err(|_| bad())?;
    Ok(HostPort { ip, port: Some(port) })
}

/// Which attempts are shown and counted.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Attempts from this time on.
    pub since: Option<TimeBound>,
    /// Attempts before this time.
    pub until: Option<TimeBound>,
    /// Only these servers (any when empty).
    pub servers: Vec<HostPort>,
    /// Only these clients (any when empty).
    pub clients: Vec<HostPort>,
    /// Only these server ports (any when empty).
    pub ports: Vec<u16>,
    /// Only these verdicts (any when empty).
    pub verdicts: Vec<VerdictKind>,
    /// Only failures (by the rule of "What is a failure").
    pub failed: bool,
}

impl Filter {
    /// Whether it lets everything through.
    pub fn is_empty(&self) -> bool {
        self.since.is_none()
            && self.until.is_none()
            && self.servers.is_empty()
            && self.clients.is_empty()
            && self.ports.is_empty()
            && self.verdicts.is_empty()
            && !self.failed
    }

    /// The filters as a person would write them, for headlines and summaries.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        let list = |v: Vec<String>| v.join(", ");
        if let Some(b) = &self.since {
            out.push(format!("since {b}"));
        }
        if let Some(b) = &self.until {
            out.push(format!("until {b}"));
        }
        if !self.servers.is_empty() {
            out.push(format!(
                "server {}",
                list(self.servers.iter().map(|a| a.to_string()).collect())
            ));
        }
        if !self.clients.is_empty() {
            out.push(format!(
                "client {}",
                list(self.clients.iter().map(|a| a.to_string()).collect())
            ));
        }
        if !self.ports.is_empty() {
            out.push(format!("port {}", list(self.ports.iter().map(|a| a.to_string()).collect())));
        }
        if !self.verdicts.is_empty() {
            out.push(format!(
                "verdict {}",
                list(self.verdicts.iter().map(|a| a.as_str().to_string()).collect())
            ));
        }
        if self.failed {
            out.push("failed".to_string());
        }
        out
    }
}

/// A [`Filter`] at work: `--since`/`--until` given as a time of day mean that time on the day
/// of the first attempt seen, fixed then.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    filter: Filter,
    /// `since`/`until` in seconds, once the day of the data is known.
    bounds: Option<(Option<f64>, Option<f64>)>,
    empty: bool,
}

impl Matcher {
    /// A matcher for `filter`.
    pub fn new(filter: Filter) -> Self {
        let empty = filter.is_empty();
        Matcher { filter, bounds: None, empty }
    }

    /// The filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Whether it lets everything through.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    fn in_time(&mut self, ts: f64) -> bool {
        let f = &self.filter;
        let (since, until) = *self.bounds.get_or_insert_with(|| {
            (f.since.as_ref().map(|b| b.resolve(ts)), f.until.as_ref().map(|b| b.resolve(ts)))
        });
        since.is_none_or(|s| ts >= s) && until.is_none_or(|u| ts < u)
    }

    /// Whether an attempt passes.
    pub fn attempt(&mut self, r: &FlowRecord<'_>) -> bool {
        if self.empty {
            return true;
        }
        let f = &self.filter;
        // A ping has no ports (its port fields hold ICMP types): a port filter never keeps
        // one, and `HOST` without a port does.
        let ports = r.proto != "icmp";
        let (sp, cp) = (ports.then_some(r.server_port), ports.then_some(r.client_port));
        let matches = |h: &HostPort, ip, port: Option<u16>| {
            h.ip == ip && h.port.is_none_or(|want| port == Some(want))
        };
        let pass = (f.servers.is_empty() || f.servers.iter().any(|h| matches(h, r.server, sp)))
            && (f.clients.is_empty() || f.clients.iter().any(|h| matches(h, r.client, cp)))
            && (f.ports.is_empty() || sp.is_some_and(|p| f.ports.contains(&p)))
            && (f.verdicts.is_empty() || f.verdicts.contains(&r.kind))
            && (!f.failed || r.cause.judgement(r.kind) == Judgement::Failure);
        pass && self.in_time(r.ts)
    }

    /// Whether an incident passes: its time, and its subject where it names what a filter
    /// names (the verdict filters do not apply: every incident is about failures).
    pub fn incident(&mut self, i: &IncidentRecord) -> bool {
        if self.empty {
            return true;
        }
        let f = &self.filter;
        let port = i.server_port();
        let keep = (f.servers.is_empty()
            || i.subject_ip("server").is_some_and(|a| {
                f.servers.iter().any(|h| {
                    h.ip == a && h.port.is_none_or(|p| port.is_none_or(|q| q == u64::from(p)))
                })
            }))
            && (f.clients.is_empty()
                || i.subject_ip("client").is_some_and(|a| f.clients.iter().any(|h| h.ip == a)))
            && (f.ports.is_empty()
                || port.is_some_and(|p| f.ports.iter().any(|x| u64::from(*x) == p)));
        keep && self.in_time(i.ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        let hp = |s: &str| parse_host_port(s).map(|h| h.to_string());
        assert_eq!(hp("10.0.0.5"), Ok("10.0.0.5".into()));
        assert_eq!(hp("10.0.0.5:443"), Ok("10.0.0.5:443".into()));
        assert_eq!(hp("2001:db8::5"), Ok("2001:db8::5".into()));
        assert_eq!(hp("[2001:db8::5]:443"), Ok("[2001:db8::5]:443".into()));
        assert_eq!(parse_host_port("[2001:db8::5]").map(|h| h.port), Ok(None));
        for bad in ["", "example.com", "10.0.0.5:", "10.0.0.5:70000", "10.0.0.5:x", "::1:80:z"] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
        let h = parse_host_port("10.0.0.5:443").unwrap();
        assert!(h.matches("10.0.0.5".parse().unwrap(), 443));
        assert!(!h.matches("10.0.0.5".parse().unwrap(), 80));
        assert!(parse_host_port("10.0.0.5").unwrap().matches("10.0.0.5".parse().unwrap(), 80));
    }
}
