//! User and group ids: setresuid, setresgid and the supplementary groups.
//!
//! Every process starts as root. A process whose effective uid is 0 has
//! the capabilities CAP_SETUID and CAP_SETGID that these calls check;
//! file permission checks ignore the ids.

use alloc::vec::Vec;

use axerrno::LinuxError;

use super::Process;

type SysResult<T = ()> = Result<T, LinuxError>;

/// `-1` as an id argument: keep the current id.
const KEEP: u32 = u32::MAX;

/// Computes the new real, effective and saved ids from `requested`, where
/// `KEEP` keeps one. Without `privileged`, each new id must be one of the
/// three current ones (`EPERM`).
fn new_ids(current: [u32; 3], requested: [u32; 3], privileged: bool) -> SysResult<[u32; 3]> {
    let allowed = |id: u32| id == KEEP || privileged || current.contains(&id);
    if !requested.iter().all(|&id| allowed(id)) {
        return Err(LinuxError::EPERM);
    }
    let mut ids = current;
    for (slot, id) in ids.iter_mut().zip(requested) {
        if id != KEEP {
            *slot = id;
        }
    }
    Ok(ids)
}

/// setresuid: the file-system uid follows the effective uid.
pub fn set_res_uid(process: &Process, requested: [u32; 3]) -> SysResult {
    let mut creds = process.creds.lock();
    let [uid, euid, suid] = new_ids([creds.uid, creds.euid, creds.suid], requested, creds.euid == 0)?;
    (creds.uid, creds.euid, creds.suid) = (uid, euid, suid);
    process.fs.lock().uid = euid;
    Ok(())
}

/// setresgid: the file-system gid follows the effective gid.
pub fn set_res_gid(process: &Process, requested: [u32; 3]) -> SysResult {
    let mut creds = process.creds.lock();
    let [gid, egid, sgid] = new_ids([creds.gid, creds.egid, creds.sgid], requested, creds.euid == 0)?;
    (creds.gid, creds.egid, creds.sgid) = (gid, egid, sgid);
    process.fs.lock().gid = egid;
    Ok(())
}

/// getgroups: the supplementary groups when `size` is 0 or large enough
/// for them, else `EINVAL`.
pub fn groups_for(process: &Process, size: usize) -> SysResult<Vec<u32>> {
    let groups = process.groups.lock().clone();
    if size != 0 && size < groups.len() {
        return Err(LinuxError::EINVAL);
    }
    Ok(groups)
}

/// setgroups: replaces the supplementary groups, which Linux keeps sorted.
pub fn set_groups(process: &Process, mut groups: Vec<u32>) -> SysResult {
    if process.creds.lock().euid != 0 {
        return Err(LinuxError::EPERM);
    }
    groups.sort_unstable();
    *process.groups.lock() = groups;
    Ok(())
}
