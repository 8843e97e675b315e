//! Which of `report`'s inputs are captures and which are JSON-lines verdict logs (written
//! earlier by `analyze` or `live`): files by their name or first byte, folders for both.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::capture::expand_inputs;

/// The arguments of a report, sorted by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportInputs {
    /// Arguments to read as captures: files, folders of captures, `-` (stdin); expanded later
    /// with [`expand_inputs`].
    pub captures: Vec<PathBuf>,
    /// Log files: those named, and the logs in each folder (by name).
    pub logs: Vec<PathBuf>,
    /// One line for each argument that could not be used (it names the path).
    pub errors: Vec<String>,
}

/// Whether `path` is a JSON-lines log: by its extension (`jsonl`, `json`, `ndjson`, in any
/// case), else by a first byte `{` (a capture never starts with one). A file that cannot be
/// read is not a log: read as a capture, its error is reported there.
pub fn is_log(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if matches!(ext.as_str(), "jsonl" | "json" | "ndjson") {
        return true;
    }
    let mut first = [0u8; 1];
    fs::File::open(path)
        .and_then(|mut f| f.read(&mut first))
        .is_ok_and(|n| n == 1 && first[0] == b'{')
}

/// Sorts the arguments into captures and logs. A folder gives both: its logs (in name order)
/// join the logs, and the folder itself joins the captures when it holds any; a folder with
/// neither is an error, one with logs only is not.
pub fn sort_inputs(args: &[PathBuf]) -> ReportInputs {
    let mut sorted = ReportInputs::default();
    for arg in args {
        if arg.as_os_str() == "-" {
            sorted.captures.push(arg.clone());
            continue;
        }
        match fs::metadata(arg) {
            Ok(m) if m.is_dir() => {
                let found = match crate::capture::inputs::files_under(arg) {
                    Ok(found) => found,
                    Err(e) => {
                        sorted.errors.push(format!("{}: {e}", arg.display()));
                        continue;
                    }
                };
                let before = sorted.logs.len();
                sorted.logs.extend(found.iter().filter(|p| is_log(p)).cloned());
                match expand_inputs(std::slice::from_ref(arg)) {
                    Ok(_) => sorted.captures.push(arg.clone()),
                    Err(_) if sorted.logs.len() > before => {}
                    Err(e) => sorted.errors.push(e.to_string()),
                }
            }
            Ok(_) if is_log(arg) => sorted.logs.push(arg.clone()),
            Ok(_) => sorted.captures.push(arg.clone()),
            Err(e) => sorted.errors.push(format!("{}: {e}", arg.display())),
        }
    }
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh scratch folder for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("connlens-report-inputs-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A classic pcap header (microseconds, little-endian): enough to count as a capture.
    const PCAP: [u8; 24] =
        [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    const LOG: &[u8] = b"{\"type\":\"flow\"}\n";

    #[test]
    fn logs_are_told_by_extension_or_first_byte() {
        let dir = scratch("is-log");
        for (name, bytes, log) in [
            ("a.jsonl", &b"not even json"[..], true),
            ("b.JSON", &PCAP[..], true),
            ("c.ndjson", &b""[..], true),
            ("d.log", LOG, true),
            ("e.pcap", &PCAP[..], false),
            ("f.txt", &b" {"[..], false),
            ("g", &b""[..], false),
        ] {
            let path = dir.join(name);
            fs::write(&path, bytes).unwrap();
            assert_eq!(is_log(&path), log, "{name}");
        }
        assert!(!is_log(&dir.join("missing")));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn files_and_stdin_go_by_kind_and_missing_paths_are_errors() {
        let dir = scratch("files");
        let (cap, log) = (dir.join("x.pcap"), dir.join("x.jsonl"));
        fs::write(&cap, PCAP).unwrap();
        fs::write(&log, LOG).unwrap();
        let missing = dir.join("nope.pcap");
        let got = sort_inputs(&[cap.clone(), PathBuf::from("-"), log.clone(), missing.clone()]);
        assert_eq!(got.captures, [cap, PathBuf::from("-")]);
        assert_eq!(got.logs, [log]);
        assert_eq!(got.errors.len(), 1);
        assert!(got.errors[0].starts_with(&format!("{}: ", missing.display())), "{:?}", got.errors);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_gives_its_logs_in_name_order_and_itself_for_its_captures() {
        let dir = scratch("folder");
        fs::write(dir.join("b.jsonl"), LOG).unwrap();
        fs::write(dir.join("a.out"), LOG).unwrap();
        fs::write(dir.join("c.pcap"), PCAP).unwrap();
        fs::write(dir.join("notes.txt"), "hello").unwrap();
        fs::create_dir(dir.join("sub")).unwrap();
        let got = sort_inputs(std::slice::from_ref(&dir));
        assert_eq!(got.captures, std::slice::from_ref(&dir));
        assert_eq!(got.logs, [dir.join("a.out"), dir.join("b.jsonl")]);
        assert!(got.errors.is_empty(), "{:?}", got.errors);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_of_logs_only_is_fine_and_one_with_neither_is_an_error() {
        let logs = scratch("logs-only");
        fs::write(logs.join("a.jsonl"), LOG).unwrap();
        let got = sort_inputs(std::slice::from_ref(&logs));
        assert!(got.captures.is_empty() && got.errors.is_empty(), "{got:?}");
        assert_eq!(got.logs, [logs.join("a.jsonl")]);

        let empty = scratch("neither");
        fs::write(empty.join("notes.txt"), "hello").unwrap();
        let got = sort_inputs(std::slice::from_ref(&empty));
        assert!(got.captures.is_empty() && got.logs.is_empty(), "{got:?}");
        assert_eq!(
            got.errors,
            [format!("{}: folder holds no pcap or pcapng files", empty.display())]
        );
        let _ = fs::remove_dir_all(&logs);
        let _ = fs::remove_dir_all(&empty);
    }
}
