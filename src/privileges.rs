//! Giving up privileges once a live capture is open. This is the program's business, not the
//! library's: the library opens captures and parses packets; what the process may still do
//! afterwards is decided here, where the command line is.
//!
//! Opening the capture socket is the only privileged step of a run (with libpcap on Linux it
//! needs CAP_NET_RAW, and CAP_NET_ADMIN for some interfaces). Whether those came from root or
//! from `setcap` file capabilities, nothing after that needs them, and everything after that
//! parses packets a stranger may have crafted: so every capability set is emptied. On Linux
//! capabilities belong to each thread, and a new thread starts with its creator's: this runs
//! before the pipeline spawns its threads, so they start with none (tests/live.rs reads
//! every thread's sets in /proc while packets are parsed).

use nix::unistd::{Gid, Uid, User, setgid, setgroups, setuid};
use rustix::io::Errno;
use rustix::thread::{
    CapabilitySet, CapabilitySets, capabilities, capability_is_in_bounding_set,
    clear_ambient_capability_set, remove_capability_from_bounding_set, set_capabilities,
    set_no_new_privs,
};

/// After the capture device (and the `-w` file) are open: when started as root, switch to
/// `user` (its uid, its primary group, no supplementary groups), as tcpdump's `-Z` does, so
/// that nothing parsing hostile packets runs as root (`root` keeps uid 0); then, as root or
/// not, give up every capability. Must run on the only thread of the process.
pub fn drop_privileges(user: &str) -> Result<(), String> {
    // Capabilities and user IDs are per thread on Linux: a thread started before this would
    // keep them while it parses packets. Refuse rather than leave one behind.
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        let threads = tasks.count();
        if threads > 1 {
            return Err(format!(
                "cannot drop privileges safely: {threads} threads already run (connlens must drop them before it starts any)"
            ));
        }
    }
    let switch_to = if Uid::effective().is_root() && user != "root" {
        Some(
            User::from_name(user)
                .map_err(|e| format!("cannot look up user {user}: {e}"))?
                .ok_or_else(|| {
                    format!("no user {user} to run as (give another with --user, or --user root)")
                })?,
        )
    } else {
        None
    };
    // First, while CAP_SETPCAP (root's) is still there: the switch of user takes it away.
    empty_bounding_set()?;
    if let Some(u) = switch_to {
        let gid: Gid = u.gid;
        setgroups(&[gid]).map_err(|e| format!("cannot drop supplementary groups: {e}"))?;
        setgid(gid).map_err(|e| format!("cannot switch to group {gid}: {e}"))?;
        setuid(u.uid).map_err(|e| format!("cannot switch to user {user}: {e}"))?;
    }
    clear_capabilities()
}

/// Empties the bounding set, so that no later execve can bring a capability back even from a
/// file's capabilities. Needs CAP_SETPCAP: a `setcap` binary without it keeps its bounding
/// set, and `no_new_privs` (in [`clear_capabilities`]) stands guard instead.
fn empty_bounding_set() -> Result<(), String> {
    let held = capabilities(None)
        .map_err(|e| format!("cannot read the process' capabilities (capget): {e}"))?;
    if !held.effective.contains(CapabilitySet::SETPCAP) {
        return Ok(());
    }
    // Capabilities are numbered from 0; the kernel answers EINVAL past its last one.
    for n in 0..64 {
        let cap = CapabilitySet::from_bits_retain(1 << n);
        match capability_is_in_bounding_set(cap) {
            Ok(true) => remove_capability_from_bounding_set(cap).map_err(|e| {
                format!("cannot drop capability {n} from the bounding set (PR_CAPBSET_DROP): {e}")
            })?,
            Ok(false) => {}
            Err(Errno::INVAL) => break,
            Err(e) => {
                return Err(format!(
                    "cannot read the capability bounding set (PR_CAPBSET_READ): {e}"
                ));
            }
        }
    }
    Ok(())
}

/// Empties the effective, permitted, inheritable and ambient sets of the calling thread and
/// sets `no_new_privs`, then checks that nothing is left.
fn clear_capabilities() -> Result<(), String> {
    set_no_new_privs(true)
        .map_err(|e| format!("cannot set no_new_privs (PR_SET_NO_NEW_PRIVS): {e}"))?;
    let none = CapabilitySets {
        effective: CapabilitySet::empty(),
        permitted: CapabilitySet::empty(),
        inheritable: CapabilitySet::empty(),
    };
    set_capabilities(None, none)
        .map_err(|e| format!("cannot clear the process' capabilities (capset): {e}"))?;
    // Emptying the permitted set empties the ambient one too; said once more for clarity. A
    // kernel without ambient capabilities (before 4.3) answers EINVAL: nothing to clear.
    match clear_ambient_capability_set() {
        Ok(()) | Err(Errno::INVAL) => {}
        Err(e) => {
            return Err(format!(
                "cannot clear the ambient capabilities (PR_CAP_AMBIENT_CLEAR_ALL): {e}"
            ));
        }
    }
    let left = capabilities(None)
        .map_err(|e| format!("cannot read the process' capabilities (capget): {e}"))?;
    if left != none {
        return Err(format!("capabilities still held after clearing them: {left:?}"));
    }
    Ok(())
}
