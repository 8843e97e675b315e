//! Giving up privileges once a live capture is open. This is the program's business, not the
//! library's: the library opens captures and parses packets; which user the process runs as
//! afterwards is decided here, where the command line is.

/// After the capture device (and the `-w` file) are open, a run started as root needs none of
/// its privileges: switch to `user` (its uid, its primary group, no supplementary groups), as
/// tcpdump's `-Z` does, so that nothing parsing hostile packets runs as root. Returns the user
/// switched to, or `None` when not root (then there is nothing to drop) or when `user` is
/// `root`.
pub fn drop_privileges(user: &str) -> Result<Option<String>, String> {
    use nix::unistd::{Gid, Uid, User, setgid, setgroups, setuid};
    if !Uid::effective().is_root() || user == "root" {
        return Ok(None);
    }
    let u =
        User::from_name(user).map_err(|e| format!("cannot look up user {user}: {e}"))?.ok_or_else(
            || format!("no user {user} to run as (give another with --user, or --user root)"),
        )?;
    let gid: Gid = u.gid;
    setgroups(&[gid]).map_err(|e| format!("cannot drop supplementary groups: {e}"))?;
    setgid(gid).map_err(|e| format!("cannot switch to group {gid}: {e}"))?;
    setuid(u.uid).map_err(|e| format!("cannot switch to user {user}: {e}"))?;
    Ok(Some(user.to_string()))
}
