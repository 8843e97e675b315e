//! The report as one self-contained HTML page: inline CSS, inline SVG charts and a small inline
//! script (sort by a header click, filter by typed text); no network access, no external
//! resources, readable printed. Every string from the data is HTML-escaped.
//!
//! The script also reads the URL fragment — `#filter=TEXT` applies a filter and `#sort=N` sorts
//! by column N on load — and records what it did on the `<html>` element (`data-visible-rows`,
//! `data-sorted-by`, `data-chart-width`, and `data-js-errors` for any script error), so that a
//! headless browser's dumped DOM shows that the page works.

use std::fmt::Write as _;

use super::{
    Report, in_tunnel, incident_evidence, incident_subject, proto_endpoint, utc, width_text,
};

/// HTML-escapes text (element content and quoted attribute values).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// HTML-escapes text and shows what is between backticks as code (`ss -ltn`).
pub fn esc_code(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len() < 3 {
        return esc(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let last = parts.len() - 1;
    for (i, part) in parts.iter().enumerate() {
        // Between a pair of backticks; the last part after an unpaired one is not.
        let code = i % 2 == 1 && (i < last || !parts.len().is_multiple_of(2));
        if code {
            out.push_str("<code>");
            out.push_str(&esc(part));
            out.push_str("</code>");
        } else {
            if i % 2 == 1 {
                // An unpaired backtick stays one.
                out.push('`');
            }
            out.push_str(&esc(part));
        }
    }
    out
}

/// Causes of a row (`reset ×3, host-reset ×1`), each kept on one line: a browser would break
/// `closed-before-request` at its hyphens.
fn causes_cell(causes: &[(String, u64)]) -> String {
    causes
        .iter()
        .map(|(c, n)| format!("<span class=\"t\">{} ×{n}</span>", esc(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1 capture`, `2 captures`.
fn plural(n: u64, one: &str, many: &str) -> String {
    crate::output::plural(n, one, many)
}

/// Each verdict's colour in the charts, with the SHA-256 (base64) of the legend's `style`
/// attribute that shows it (`background:COLOUR`), which the page's [`csp`] allows by hash.
const COLOURS: [(&str, &str, &str); 10] = [
    ("established", "#4caf50", "FCYqMDmEd6Y83ocmfnlzVi+pCcBdkNO/C91ANkswIqY="),
    ("answered", "#8bc34a", "Oe9tu6W9NgLqg9umoKO4QO71HyGxvjeMzbfpCOjdxL0="),
    ("one-way", "#90caf9", "8FmbmzEGHUYElJcEJlrf4NeDYcrJeSclMqqjXGtzyxk="),
    ("rejected", "#ff9800", "/E8bJJcwD8AKWHbfA97QUTo+4CYL4Rt2cvYk+5Y0b5E="),
    ("mismatch", "#9c27b0", "jcTp5DdWo+GjbMrOztlOdLmQDUU+zRlFN0kCvU8w4Yo="),
    ("dns-failure", "#795548", "JkPrBdtgK0cYi/S0+KinsDiKp+FOR45enOa6Z9im9so="),
    ("refused", "#f44336", "4mkEbgFWIKS8D2mv4yh7vVPE9P4H65SEMDp95OaJtS4="),
    ("unreachable", "#e91e63", "utcjSNsrLvghdVmiTb32QyL/7B3zPveVVrlSZ0J4eXk="),
    ("time-exceeded", "#673ab7", "pyaVTh45KFWgKlpq4+dbe3oHB0P1UGtTHxqL1Qt4tAI="),
    ("unanswered", "#607d8b", "C0KDX/SgSyvj5rA5gSvrA9NsYLtoPdTULPhkYUSbDFc="),
];
/// The colour of any other verdict, and the hash of its legend's `style` attribute.
const OTHER_COLOUR: (&str, &str) = ("#bdbdbd", "Qxq2M29Ft2CP9URz9wm/KrhxgnZBrrUP3y9iw+GseXU=");

/// Colour of each verdict in the charts.
fn colour(verdict: &str) -> &'static str {
    COLOURS.iter().find(|c| c.0 == verdict).map_or(OTHER_COLOUR.0, |c| c.1)
}

/// SHA-256 (base64) of [`CSS`], the page's only `<style>` element. The tests recompute it
/// (and the browser test sees the page unstyled, or the script blocked, when a hash is stale):
/// change the code and its hash together.
const CSS_SHA256: &str = "ul9zbBTt9dYvXBLDZ9ZiqDcDCDR1P0xFwcbRix3JKNg=";
/// SHA-256 (base64) of [`SCRIPT`], the page's only `<script>` element.
const SCRIPT_SHA256: &str = "WEC20eFFydh2lqTEHEvAuGMKebylnYFBOCBTRZTP+mA=";

/// The page's Content-Security-Policy. Nothing may load from anywhere, and of inline code
/// only what this file wrote may run or apply: the script and the style sheet by their
/// SHA-256, and the legend's `style` attributes by theirs (`'unsafe-hashes'` lets exactly
/// those attribute values through, not inline styles in general). So markup that slipped past
/// the escaping could neither run a script nor restyle the page. (The script's own changes
/// through `element.style` are not inline styles and need no permission.)
fn csp() -> String {
    let mut styles = format!("'sha256-{CSS_SHA256}' 'unsafe-hashes'");
    for hash in COLOURS.iter().map(|c| c.2).chain([OTHER_COLOUR.1]) {
        let _ = write!(styles, " 'sha256-{hash}'");
    }
    format!(
        "default-src 'none'; style-src {styles}; script-src 'sha256-{SCRIPT_SHA256}'; \
         img-src data:; base-uri 'none'; form-action 'none'"
    )
}

const CSS: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th,td.t,span.t{white-space:nowrap}td.w{min-width:18em}.scroll{overflow-x:auto;max-width:100%}
code{font:12px ui-monospace,monospace;background:#f1f1f1;padding:0 2px;white-space:nowrap}
details summary{cursor:pointer;color:#555;font-size:12px}svg{max-width:100%;height:auto}
th{background:#f3f3f3}td.n{text-align:right}
#failed th{cursor:pointer;user-select:none}#failed th.sorted-asc::after{content:' \\25B2'}
#failed th.sorted-desc::after{content:' \\25BC'}
.headline{display:flex;flex-wrap:wrap;gap:1em}.headline div{background:#f7f7f7;padding:.5em 1em;border-radius:4px}
.headline b{display:block;font-size:1.4em}.bad{color:#b71c1c}.empty{font-weight:bold;padding:1em;background:#fff8e1}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
.errors{background:#ffebee;padding:.5em 1em}
@media (max-width:600px){body{margin:.6em}}
@media print{body{margin:0;font-size:11px}.scroll{overflow:visible}#filter-box{display:none}h2{page-break-after:avoid}tr{page-break-inside:avoid}svg{max-width:100%}}
";

const SCRIPT: &str = r#"
(function(){
  var root=document.documentElement;
  window.onerror=function(m,src,line){root.setAttribute('data-js-errors',(root.getAttribute('data-js-errors')||'')+m+' at '+line+'; ');};
  var table=document.getElementById('failed');
  var svg=document.getElementById('timeline');
  if(svg){var r=svg.getBoundingClientRect();root.setAttribute('data-chart-width',Math.round(r.width));root.setAttribute('data-chart-height',Math.round(r.height));}
  var tokens=document.querySelectorAll('td.t,span.t'),broken=0;
  for(var t=0;t<tokens.length;t++){var range=document.createRange();range.selectNodeContents(tokens[t]);if(range.getClientRects().length>1)broken++;}
  root.setAttribute('data-broken-tokens',String(broken));root.setAttribute('data-viewport-width',String(root.clientWidth));
  if(!table){root.setAttribute('data-visible-rows','0');return;}
  var body=table.tBodies[0], input=document.getElementById('filter');
  function visible(){var n=0;for(var i=0;i<body.rows.length;i++){if(body.rows[i].style.display!=='none')n++;}
    root.setAttribute('data-visible-rows',String(n));document.getElementById('shown').textContent=n+' of '+body.rows.length+' rows shown';}
  function applyFilter(){var words=input.value.toLowerCase().split(/\s+/).filter(function(w){return w;});
    for(var i=0;i<body.rows.length;i++){var t=body.rows[i].textContent.toLowerCase();var ok=true;
      for(var j=0;j<words.length;j++){if(t.indexOf(words[j])<0){ok=false;break;}}
      body.rows[i].style.display=ok?'':'none';}
    visible();}
  input.addEventListener('input',applyFilter);
  var heads=table.tHead.rows[0].cells;
  function sortBy(col){var th=heads[col];var asc=!th.classList.contains('sorted-asc');
    for(var i=0;i<heads.length;i++){heads[i].classList.remove('sorted-asc','sorted-desc');}
    th.classList.add(asc?'sorted-asc':'sorted-desc');
    var num=th.getAttribute('data-type')==='num';
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var x=a.cells[col].getAttribute('data-v')||a.cells[col].textContent,y=b.cells[col].getAttribute('data-v')||b.cells[col].textContent;
      var c=num?(parseFloat(x)||0)-(parseFloat(y)||0):x.localeCompare(y);return asc?c:-c;});
    rows.forEach(function(r){body.appendChild(r);});
    root.setAttribute('data-sorted-by',col+(asc?' asc':' desc'));
    root.setAttribute('data-first-row',body.rows.length?body.rows[0].cells[col].textContent:'');}
  for(var i=0;i<heads.length;i++){(function(c){heads[c].addEventListener('click',function(){sortBy(c);});})(i);}
  var h=location.hash.replace(/^#/,'').split('&');
  for(var k=0;k<h.length;k++){var kv=h[k].split('=');var v=decodeURIComponent(kv[1]||'');
    if(kv[0]==='filter'){input.value=v;input.dispatchEvent(new Event('input'));}
    if(kv[0]==='sort'){heads[parseInt(v,10)||0].click();}}
  visible();
})();
"#;

/// Renders the page.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = write(&mut o, r);
    o
}

fn timeline_svg(o: &mut String, r: &Report) -> std::fmt::Result {
    let bins = &r.timeline.bins;
    let max =
        bins.iter().map(|b| b.counts.iter().map(|c| c.1).sum::<u64>()).max().unwrap_or(0).max(1);
    let (w, h, left, bottom) = (1000.0, 260.0, 50.0, 30.0);
    let plot_w = w - left - 10.0;
    let plot_h = h - bottom - 10.0;
    let bar = plot_w / bins.len().max(1) as f64;
    writeln!(
        o,
        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"attempts per verdict over time\">"
    )?;
    writeln!(
        o,
        "<line x1=\"{left}\" y1=\"10\" x2=\"{left}\" y2=\"{}\" stroke=\"#999\"/>",
        10.0 + plot_h
    )?;
    writeln!(
        o,
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#999\"/>",
        10.0 + plot_h,
        left + plot_w
    )?;
    writeln!(
        o,
        "<text x=\"{}\" y=\"16\" font-size=\"11\" text-anchor=\"end\">{max}</text>",
        left - 4.0
    )?;
    writeln!(
        o,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">0</text>",
        left - 4.0,
        10.0 + plot_h
    )?;
    for (i, b) in bins.iter().enumerate() {
        let x = left + i as f64 * bar;
        let mut y = 10.0 + plot_h;
        for (v, n) in &b.counts {
            if *n == 0 {
                continue;
            }
            let bh = *n as f64 / max as f64 * plot_h;
            y -= bh;
            writeln!(
                o,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} {v}: {n}</title></rect>",
                (bar - 1.0).max(0.5),
                colour(v),
                esc(&utc(b.start))
            )?;
        }
    }
    // Time ticks: the first bin's date and time, then every few bins the time of day, or the
    // date and time when the span crosses days (every tick would read 00:00 otherwise).
    let every = bins.len().div_ceil(6).max(1);
    let day = |t: f64| utc(t).get(..10).unwrap_or_default().to_string();
    let days = bins.first().zip(bins.last()).is_some_and(|(a, b)| day(a.start) != day(b.start));
    for (i, b) in bins.iter().enumerate().step_by(every) {
        let x = left + i as f64 * bar;
        let label = utc(b.start);
        let label = match (i, days) {
            (0, _) => label,
            (_, true) => label.get(5..16).unwrap_or_default().to_string(),
            _ => label.get(11..).unwrap_or_default().to_string(),
        };
        writeln!(
            o,
            "<line x1=\"{x:.1}\" y1=\"{0}\" x2=\"{x:.1}\" y2=\"{1}\" stroke=\"#999\"/><text x=\"{x:.1}\" y=\"{2}\" font-size=\"11\">{3}</text>",
            10.0 + plot_h,
            14.0 + plot_h,
            h - 8.0,
            esc(&label)
        )?;
    }
    writeln!(o, "</svg>")?;
    write!(o, "<div class=\"legend\">")?;
    for (v, n) in &r.by_verdict {
        write!(o, "<span><i style=\"background:{}\"></i>{v} ({n})</span>", colour(v))?;
    }
    writeln!(o, "</div>")
}

fn verdict_bars(o: &mut String, r: &Report) -> std::fmt::Result {
    let max = r.by_verdict.iter().map(|v| v.1).max().unwrap_or(1).max(1);
    let h = 22 * r.by_verdict.len() + 4;
    writeln!(
        o,
        "<svg id=\"verdicts\" xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"{h}\" viewBox=\"0 0 600 {h}\">"
    )?;
    for (i, (v, n)) in r.by_verdict.iter().enumerate() {
        let y = i * 22 + 2;
        let bw = (*n as f64 / max as f64 * 400.0).max(1.0);
        writeln!(
            o,
            "<text x=\"110\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{v}</text><rect x=\"115\" y=\"{y}\" width=\"{bw:.1}\" height=\"18\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{n}</text>",
            y + 14,
            colour(v),
            120.0 + bw,
            y + 14
        )?;
    }
    writeln!(o, "</svg>")
}

fn write(o: &mut String, r: &Report) -> std::fmt::Result {
    writeln!(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")?;
    writeln!(o, "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">", csp())?;
    writeln!(
        o,
        "<title>Connection failures report</title>\n<style>{CSS}</style>\n</head>\n<body>"
    )?;
    writeln!(o, "<h1>Connection failures report</h1>")?;
    let range = match r.span {
        Some((a, b)) => {
            format!("<span class=\"t\">{}</span> – <span class=\"t\">{}</span>", utc(a), utc(b))
        }
        None => "no attempts".into(),
    };
    writeln!(o, "<p>{range}</p>")?;
    writeln!(o, "<div class=\"headline\">")?;
    let word = |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    let (captures, logs) = (r.count_inputs("capture") as u64, r.count_inputs("log") as u64);
    let cells = [
        (word(captures, "capture", "captures"), captures.to_string()),
        (word(logs, "log", "logs"), logs.to_string()),
        (
            word(r.hosts, "host", "hosts"),
            format!("{}{}", r.hosts, if r.hosts_capped { "+" } else { "" }),
        ),
        (word(r.packets, "packet (captures)", "packets (captures)"), r.packets.to_string()),
        (word(r.attempts, "attempt", "attempts"), r.attempts.to_string()),
        ("failed", format!("{} ({:.1} %)", r.failures, r.failure_rate_percent())),
        ("undecided", r.undecided.to_string()),
    ];
    for (k, v) in cells {
        writeln!(o, "<div><b>{}</b>{k}</div>", esc(&v))?;
    }
    let sensors = r.fleet.sensors.len() as u64;
    if sensors > 0 {
        writeln!(o, "<div><b>{sensors}</b>{}</div>", word(sensors, "sensor", "sensors"))?;
    }
    writeln!(o, "</div>")?;
    if !r.filters.is_empty() {
        writeln!(o, "<p>Filters: {}</p>", esc(&r.filters.join("; ")))?;
    }
    let errors: Vec<&str> = r.errors().collect();
    if !errors.is_empty() {
        writeln!(
            o,
            "<p class=\"errors\">{}: the report covers what could be read (see <a href=\"#inputs\">Inputs</a>).</p>",
            plural(errors.len() as u64, "input problem", "input problems")
        )?;
    }
    if r.attempts == 0 {
        let what = if r.filters.is_empty() { "" } else { " the filters" };
        writeln!(o, "<p class=\"empty\" id=\"empty\">No connection attempts match{what}.</p>")?;
    } else {
        writeln!(o, "<h2>Verdicts</h2>")?;
        verdict_bars(o, r)?;
        writeln!(
            o,
            "<h2>Timeline</h2>\n<p>Attempts per verdict, bins of {}.</p>",
            width_text(r.timeline.width_ms)
        )?;
        timeline_svg(o, r)?;
        writeln!(o, "<h2>Failing services</h2>")?;
        if r.servers.is_empty() {
            writeln!(o, "<p>No failed attempts.</p>")?;
        } else {
            writeln!(
                o,
                "<p>{} of {}, most failures first.</p>",
                r.servers.len(),
                plural(
                    r.servers_total as u64,
                    "failing server:port pair",
                    "failing server:port pairs"
                )
            )?;
            writeln!(
                o,
                "<div class=\"scroll\"><table id=\"servers\"><thead><tr><th>service</th><th>failures</th><th>clients</th><th>causes</th><th>first failure</th><th>last failure</th></tr></thead><tbody>"
            )?;
            for s in &r.servers {
                writeln!(
                    o,
                    "<tr><td class=\"t\">{} {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td></tr>",
                    esc(&s.proto),
                    esc(&(proto_endpoint(&s.proto, &s.server.to_string(), u64::from(s.port))
                        + &in_tunnel(&s.tunnel))),
                    s.failures,
                    s.clients,
                    causes_cell(&s.causes),
                    utc(s.first),
                    utc(s.last)
                )?;
            }
            writeln!(o, "</tbody></table></div>")?;
        }
        writeln!(o, "<h2>Clients most affected</h2>")?;
        if r.clients.is_empty() {
            writeln!(o, "<p>No failed attempts.</p>")?;
        } else {
            writeln!(
                o,
                "<div class=\"scroll\"><table id=\"clients\"><thead><tr><th>client</th><th>attempts</th><th>failed</th><th>targets failed</th><th>causes</th></tr></thead><tbody>"
            )?;
            for c in &r.clients {
                writeln!(
                    o,
                    "<tr><td class=\"t\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                    esc(&(c.client.to_string() + &in_tunnel(&c.tunnel))),
                    c.attempts,
                    c.failures,
                    c.targets,
                    causes_cell(&c.causes)
                )?;
            }
            writeln!(o, "</tbody></table></div>")?;
        }
    }
    fleet(o, r)?;
    writeln!(o, "<h2>Incidents</h2>")?;
    if r.incidents.is_empty() {
        writeln!(o, "<p>No incidents (scans, services down, hosts down, overload) detected.</p>")?;
    } else {
        writeln!(
            o,
            "<div class=\"scroll\"><table id=\"incidents\"><thead><tr><th>time</th><th>incident</th><th>hint</th></tr></thead><tbody>"
        )?;
        for i in &r.incidents {
            writeln!(
                o,
                "<tr><td class=\"t\">{}</td><td class=\"w\">{}<details><summary>evidence of the {} {}</summary>{}</details></td><td class=\"w\">{}</td></tr>",
                utc(i.ts),
                esc(&crate::output::incident_sentence(&i.kind, &i.subject, &i.evidence)),
                esc(&i.kind),
                esc(&incident_subject(i)),
                esc(&incident_evidence(i)),
                esc_code(&i.hint)
            )?;
        }
        writeln!(o, "</tbody></table></div>")?;
        if r.incidents_more > 0 {
            writeln!(
                o,
                "<p>{} not listed.</p>",
                plural(r.incidents_more, "more incident", "more incidents")
            )?;
        }
    }
    if !r.causes.is_empty() {
        writeln!(o, "<h2>What the causes mean</h2>")?;
        writeln!(
            o,
            "<div class=\"scroll\"><table id=\"causes\"><thead><tr><th>verdict</th><th>cause</th><th>attempts</th><th>what it means</th><th>what to check</th></tr></thead><tbody>"
        )?;
        for c in &r.causes {
            writeln!(
                o,
                "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"n\">{}</td><td class=\"w\">{}</td><td class=\"w\">{}</td></tr>",
                c.verdict,
                esc(&c.cause),
                c.count,
                esc_code(c.meaning),
                esc_code(c.check)
            )?;
        }
        writeln!(o, "</tbody></table></div>")?;
    }
    if r.failures > 0 {
        writeln!(o, "<h2>Failed attempts</h2>")?;
        writeln!(
            o,
            "<p id=\"filter-box\"><label>Filter: <input id=\"filter\" type=\"search\" placeholder=\"words, e.g. refused 10.0.0.5\" size=\"40\"></label> <span id=\"shown\"></span> — click a column header to sort.</p>"
        )?;
        writeln!(
            o,
            "<div class=\"scroll\"><table id=\"failed\"><thead><tr><th data-type=\"num\">time</th><th>proto</th><th>client</th><th>server</th><th>verdict</th><th>cause</th><th>evidence</th><th>capture</th><th data-type=\"num\">packet</th>{}</tr></thead><tbody>",
            if sensors > 0 { "<th>sensor</th>" } else { "" }
        )?;
        for f in &r.failed {
            let sensor = match (sensors > 0, &f.sensor) {
                (false, _) => String::new(),
                (true, s) => format!("<td class=\"t\">{}</td>", esc(s.as_deref().unwrap_or(""))),
            };
            writeln!(
                o,
                "<tr><td class=\"t\" data-v=\"{}\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"w\">{}<details><summary>all facts</summary>{}</details></td><td class=\"t\">{}</td><td class=\"n\">{}</td>{sensor}</tr>",
                f.ts,
                utc(f.ts),
                esc(&f.proto),
                esc(&proto_endpoint(&f.proto, &f.client.to_string(), u64::from(f.client_port))),
                esc(&(proto_endpoint(&f.proto, &f.server.to_string(), u64::from(f.server_port))
                    + &in_tunnel(&f.tunnel))),
                f.verdict,
                esc(&f.cause),
                esc(&f.sentence),
                esc(&f.evidence),
                esc(&f.capture),
                f.packet.map_or(String::new(), |p| p.to_string())
            )?;
        }
        writeln!(o, "</tbody></table></div>")?;
        if r.failed_more > 0 {
            writeln!(
                o,
                "<p>{} not listed.</p>",
                plural(r.failed_more, "more failed attempt", "more failed attempts")
            )?;
        }
    }
    writeln!(o, "<h2 id=\"inputs\">Inputs</h2>")?;
    writeln!(
        o,
        "<div class=\"scroll\"><table id=\"inputs-table\"><thead><tr><th>input</th><th>kind</th><th>status</th></tr></thead><tbody>"
    )?;
    for i in &r.inputs {
        let status = if i.errors.is_empty() && i.warnings.is_empty() {
            esc(&i.status())
        } else {
            format!("<span class=\"bad\">{}</span>", esc(&i.status()).replace("; ", "<br>"))
        };
        writeln!(
            o,
            "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"w\">{status}</td></tr>",
            esc(&i.name),
            i.kind
        )?;
    }
    writeln!(o, "</tbody></table></div>")?;
    writeln!(o, "<script>{SCRIPT}</script>\n</body>\n</html>")
}

/// The per-sensor table and the attempts several sensors saw (nothing without sensors).
fn fleet(o: &mut String, r: &Report) -> std::fmt::Result {
    let f = &r.fleet;
    if f.sensors.is_empty() {
        return Ok(());
    }
    writeln!(o, "<h2>Sensors</h2>")?;
    writeln!(
        o,
        "<div class=\"scroll\"><table id=\"sensors\"><thead><tr><th>sensor</th><th>attempts</th><th>failed</th><th>failures another sensor saw too</th><th>causes</th><th>first attempt</th><th>last attempt</th></tr></thead><tbody>"
    )?;
    for s in &f.sensors {
        writeln!(
            o,
            "<tr><td class=\"t\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td></tr>",
            esc(&s.name),
            s.attempts,
            s.failures,
            s.joined,
            causes_cell(&s.causes),
            utc(s.first),
            utc(s.last)
        )?;
    }
    writeln!(o, "</tbody></table></div>")?;
    if f.unlisted > 0 {
        writeln!(
            o,
            "<p>{} of more sensors not listed.</p>",
            plural(f.unlisted, "attempt", "attempts")
        )?;
    }
    writeln!(o, "<h2>Seen by several sensors</h2>")?;
    writeln!(o, "<p>{}</p>", esc(&super::fleet::joined_intro(f.within)))?;
    if f.joined.is_empty() {
        writeln!(o, "<p>None.</p>")?;
    } else {
        writeln!(
            o,
            "<div class=\"scroll\"><table id=\"joined\"><thead><tr><th>time</th><th>proto</th><th>client</th><th>server</th><th>what each sensor saw</th><th>in short</th></tr></thead><tbody>"
        )?;
        for j in &f.joined {
            let seen = j
                .seen
                .iter()
                .map(|s| {
                    let mut t =
                        format!("<b>{}</b>: {} ({})", esc(&s.sensor), s.verdict, esc(&s.cause));
                    if !s.sentence.is_empty() {
                        t.push_str(" — ");
                        t.push_str(&esc(&s.sentence));
                    }
                    t
                })
                .collect::<Vec<_>>()
                .join("<br>");
            writeln!(
                o,
                "<tr><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"w\">{seen}</td><td class=\"w\">{}</td></tr>",
                utc(j.ts),
                esc(&match &j.tunnel {
                    Some(t) => format!("{} in {t}", j.proto),
                    None => j.proto.clone(),
                }),
                esc(&proto_endpoint(&j.proto, &j.client.to_string(), u64::from(j.client_port))),
                esc(&proto_endpoint(&j.proto, &j.server.to_string(), u64::from(j.server_port))),
                esc(&j.note)
            )?;
        }
        writeln!(o, "</tbody></table></div>")?;
        let more = f.joined_total - f.joined.len();
        if more > 0 {
            writeln!(
                o,
                "<p>{} not listed.</p>",
                plural(more as u64, "more joined attempt", "more joined attempts")
            )?;
        }
    }
    if f.not_joined > 0 {
        writeln!(
            o,
            "<p>{} past the join's memory bound were counted, not joined.</p>",
            plural(f.not_joined, "attempt", "attempts")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    use super::*;

    fn sha256(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    }

    /// The pinned hashes are those of the code the page carries: a change to the script, the
    /// style sheet or a colour without its hash fails here (the browser would block it).
    #[test]
    fn csp_hashes_are_those_of_the_inline_code() {
        assert_eq!(sha256(SCRIPT), SCRIPT_SHA256, "SCRIPT changed: update SCRIPT_SHA256");
        assert_eq!(sha256(CSS), CSS_SHA256, "CSS changed: update CSS_SHA256");
        for (verdict, colour, hash) in
            COLOURS.iter().copied().chain([("other", OTHER_COLOUR.0, OTHER_COLOUR.1)])
        {
            assert_eq!(sha256(&format!("background:{colour}")), hash, "colour of {verdict}");
        }
        let csp = csp();
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains(&format!("script-src 'sha256-{SCRIPT_SHA256}';")), "{csp}");
    }

    /// Commands in hints and checks show as code; what is around them is still escaped, and
    /// an unpaired backtick stays one.
    #[test]
    fn backticks_are_code() {
        assert_eq!(esc_code("check `ss -ltn` on <h>"), "check <code>ss -ltn</code> on &lt;h&gt;");
        assert_eq!(esc_code("a `<b>` c `d"), "a <code>&lt;b&gt;</code> c `d");
        assert_eq!(esc_code("no code"), "no code");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
