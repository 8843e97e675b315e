//! The report as Markdown, for a ticket.

use std::fmt::Write as _;

use super::{Report, causes_text, in_tunnel, incident_evidence, proto_endpoint, utc, width_text};

/// Failed attempts listed in Markdown (a ticket cannot hold 10 000 rows; the HTML and JSON
/// reports list more).
pub const MD_ROWS: usize = 200;

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A table cell whose text between backticks is code (`ss -ltn`), the rest escaped.
fn cell_code(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let n = parts.len();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, part) in parts.iter().enumerate() {
        let code = i % 2 == 1 && !(n.is_multiple_of(2) && i == n - 1);
        if code {
            // Inside a code span nothing is escaped but the table's own pipe.
            out.push('`');
            out.push_str(&part.replace('|', "\\|").replace(|c: char| c.is_control(), " "));
            out.push('`');
        } else {
            if i % 2 == 1 {
                out.push_str("\\`");
            }
            out.push_str(&cell(part));
        }
    }
    out
}

/// `1 capture`, `2 captures`.
fn plural(n: u64, one: &str, many: &str) -> String {
    crate::output::plural(n, one, many)
}

/// Renders the report.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = write(&mut o, r);
    o
}

fn write(o: &mut String, r: &Report) -> std::fmt::Result {
    writeln!(o, "# Connection failures report\n")?;
    match r.span {
        Some((a, b)) => writeln!(o, "- **Time range**: {} – {}", utc(a), utc(b))?,
        None => writeln!(o, "- **Time range**: no attempts")?,
    }
    writeln!(
        o,
        "- **Inputs**: {}, {}",
        plural(r.count_inputs("capture") as u64, "capture", "captures"),
        plural(r.count_inputs("log") as u64, "log", "logs")
    )?;
    writeln!(o, "- **Hosts**: {}{}", r.hosts, if r.hosts_capped { "+" } else { "" })?;
    writeln!(o, "- **Packets** (from captures): {}", r.packets)?;
    writeln!(o, "- **Attempts**: {}", r.attempts)?;
    writeln!(o, "- **Failed**: {} ({:.1} %)", r.failures, r.failure_rate_percent())?;
    writeln!(o, "- **Undecided** (the capture cannot tell): {}", r.undecided)?;
    if !r.fleet.sensors.is_empty() {
        writeln!(
            o,
            "- **Sensors**: {} ({} seen by several)",
            r.fleet.sensors.len(),
            plural(r.fleet.joined_total as u64, "failed attempt", "failed attempts")
        )?;
    }
    if !r.filters.is_empty() {
        writeln!(o, "- **Filters**: {}", cell(&r.filters.join("; ")))?;
    }
    let errors: Vec<&str> = r.errors().collect();
    if !errors.is_empty() {
        writeln!(
            o,
            "- **Input problems**: {} (see Inputs below; the report covers what could be read)",
            errors.len()
        )?;
    }
    writeln!(o)?;
    if r.attempts == 0 {
        writeln!(
            o,
            "**No connection attempts match{}.**\n",
            if r.filters.is_empty() { "" } else { " the filters" }
        )?;
    } else {
        writeln!(o, "## Verdicts\n\n| verdict | attempts |\n|---|---:|")?;
        for (v, n) in &r.by_verdict {
            writeln!(o, "| {v} | {n} |")?;
        }
        writeln!(o, "\n## Timeline\n")?;
        writeln!(
            o,
            "Attempts per verdict, bins of {} (UTC start of each bin; bins without attempts are left out).\n",
            width_text(r.timeline.width_ms)
        )?;
        let shown: Vec<&str> = r.by_verdict.iter().map(|(v, _)| *v).collect();
        writeln!(o, "| bin | {} |", shown.join(" | "))?;
        writeln!(o, "|---|{}", "---:|".repeat(shown.len()))?;
        for b in r.timeline.bins.iter().filter(|b| b.counts.iter().any(|c| c.1 > 0)) {
            let cells: Vec<String> = shown
                .iter()
                .map(|v| b.counts.iter().find(|(k, _)| k == v).map_or(0, |c| c.1).to_string())
                .collect();
            writeln!(o, "| {} | {} |", utc(b.start), cells.join(" | "))?;
        }
        writeln!(o, "\n## Failing services\n")?;
        if r.servers.is_empty() {
            writeln!(o, "No failed attempts.")?;
        } else {
            writeln!(
                o,
                "{} of {}, most failures first.\n",
                r.servers.len(),
                plural(
                    r.servers_total as u64,
                    "failing server:port pair",
                    "failing server:port pairs"
                )
            )?;
            writeln!(
                o,
                "| service | failures | clients | causes | first failure | last failure |\n|---|---:|---:|---|---|---|"
            )?;
            for s in &r.servers {
                writeln!(
                    o,
                    "| {} {} | {} | {} | {} | {} | {} |",
                    s.proto,
                    proto_endpoint(&s.proto, &s.server.to_string(), u64::from(s.port))
                        + &in_tunnel(&s.tunnel),
                    s.failures,
                    s.clients,
                    causes_text(&s.causes),
                    utc(s.first),
                    utc(s.last)
                )?;
            }
        }
        writeln!(o, "\n## Clients most affected\n")?;
        if r.clients.is_empty() {
            writeln!(o, "No failed attempts.")?;
        } else {
            writeln!(
                o,
                "| client | attempts | failed | targets failed | causes |\n|---|---:|---:|---:|---|"
            )?;
            for c in &r.clients {
                writeln!(
                    o,
                    "| {} | {} | {} | {} | {} |",
                    c.client.to_string() + &in_tunnel(&c.tunnel),
                    c.attempts,
                    c.failures,
                    c.targets,
                    causes_text(&c.causes)
                )?;
            }
        }
    }
    fleet(o, r)?;
    writeln!(o, "\n## Incidents\n")?;
    if r.incidents.is_empty() {
        writeln!(o, "No incidents (scans, services down, hosts down, overload) detected.")?;
    } else {
        writeln!(o, "| time | incident | evidence | hint |\n|---|---|---|---|")?;
        for i in &r.incidents {
            writeln!(
                o,
                "| {} | {} | {} | {} |",
                utc(i.ts),
                cell(&crate::output::incident_sentence(&i.kind, &i.subject, &i.evidence)),
                cell(&incident_evidence(i)),
                cell_code(&i.hint)
            )?;
        }
        if r.incidents_more > 0 {
            writeln!(
                o,
                "\n{} not listed.",
                plural(r.incidents_more, "more incident", "more incidents")
            )?;
        }
    }
    if !r.causes.is_empty() {
        writeln!(o, "\n## What the causes mean\n")?;
        writeln!(
            o,
            "| verdict | cause | attempts | what it means | what to check |\n|---|---|---:|---|---|"
        )?;
        for c in &r.causes {
            writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                c.verdict,
                cell(&c.cause),
                c.count,
                cell_code(c.meaning),
                cell_code(c.check)
            )?;
        }
    }
    if r.failures > 0 {
        writeln!(o, "\n## Failed attempts\n")?;
        let listed = r.failed.len().min(MD_ROWS);
        let not_listed = r.failed_more + (r.failed.len() - listed) as u64;
        let sensors = !r.fleet.sensors.is_empty();
        writeln!(
            o,
            "| time | proto | client | server | verdict | cause | evidence | capture | packet |{}\n|---|---|---|---|---|---|---|---|---:|{}",
            if sensors { " sensor |" } else { "" },
            if sensors { "---|" } else { "" }
        )?;
        for f in &r.failed[..listed] {
            let sensor = match (sensors, &f.sensor) {
                (false, _) => String::new(),
                (true, s) => format!(" {} |", cell(s.as_deref().unwrap_or(""))),
            };
            writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |{sensor}",
                utc(f.ts),
                cell(&f.proto),
                proto_endpoint(&f.proto, &f.client.to_string(), u64::from(f.client_port)),
                proto_endpoint(&f.proto, &f.server.to_string(), u64::from(f.server_port))
                    + &in_tunnel(&f.tunnel),
                f.verdict,
                cell(&f.cause),
                cell(&f.sentence),
                cell(&f.capture),
                f.packet.map_or(String::new(), |p| p.to_string())
            )?;
        }
        if not_listed > 0 {
            writeln!(
                o,
                "\n{} not listed here.",
                plural(not_listed, "more failed attempt", "more failed attempts")
            )?;
        }
    }
    writeln!(o, "\n## Inputs\n")?;
    writeln!(o, "| input | kind | status |\n|---|---|---|")?;
    for i in &r.inputs {
        writeln!(o, "| {} | {} | {} |", cell(&i.name), i.kind, cell(&i.status()))?;
    }
    Ok(())
}

/// The per-sensor section and the attempts several sensors saw (nothing without sensors).
fn fleet(o: &mut String, r: &Report) -> std::fmt::Result {
    let f = &r.fleet;
    if f.sensors.is_empty() {
        return Ok(());
    }
    writeln!(o, "\n## Sensors\n")?;
    writeln!(
        o,
        "| sensor | attempts | failed | failures another sensor saw too | causes | first attempt | last attempt |\n|---|---:|---:|---:|---|---|---|"
    )?;
    for s in &f.sensors {
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&s.name),
            s.attempts,
            s.failures,
            s.joined,
            cell(&causes_text(&s.causes)),
            utc(s.first),
            utc(s.last)
        )?;
    }
    if f.unlisted > 0 {
        writeln!(o, "\n{} of more sensors not listed.", plural(f.unlisted, "attempt", "attempts"))?;
    }
    writeln!(o, "\n## Seen by several sensors\n")?;
    writeln!(o, "{}\n", super::fleet::joined_intro(f.within))?;
    if f.joined.is_empty() {
        writeln!(o, "None.")?;
    } else {
        writeln!(
            o,
            "| time | proto | client | server | what each sensor saw | in short |\n|---|---|---|---|---|---|"
        )?;
        for j in &f.joined {
            let seen = j
                .seen
                .iter()
                .map(|s| {
                    let mut t = format!("{}: {} ({})", s.sensor, s.verdict, s.cause);
                    if !s.sentence.is_empty() {
                        t.push_str(" — ");
                        t.push_str(&s.sentence);
                    }
                    t
                })
                .collect::<Vec<_>>()
                .join("; ");
            writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                utc(j.ts),
                cell(&match &j.tunnel {
                    Some(t) => format!("{} in {t}", j.proto),
                    None => j.proto.clone(),
                }),
                proto_endpoint(&j.proto, &j.client.to_string(), u64::from(j.client_port)),
                proto_endpoint(&j.proto, &j.server.to_string(), u64::from(j.server_port)),
                cell(&seen),
                cell(&j.note)
            )?;
        }
        let more = f.joined_total - f.joined.len();
        if more > 0 {
            writeln!(
                o,
                "\n{} not listed.",
                plural(more as u64, "more joined attempt", "more joined attempts")
            )?;
        }
    }
    if f.not_joined > 0 {
        writeln!(
            o,
            "\n{} past the join's memory bound were counted, not joined.",
            plural(f.not_joined, "attempt", "attempts")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commands show as code in a ticket; the rest is escaped as before.
    #[test]
    fn backticks_are_code_spans() {
        assert_eq!(cell_code("check `ss -ltn` on a_b"), "check `ss -ltn` on a\\_b");
        assert_eq!(cell_code("`a|b` c `d"), "`a\\|b` c \\`d");
    }
}
