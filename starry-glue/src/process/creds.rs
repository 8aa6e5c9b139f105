//! User and group ids: setreuid, setregid, setresuid, setresgid and the
//! supplementary groups.
//!
//! Every process starts as root. A process whose effective uid is 0 has
//! the capabilities CAP_SETUID and CAP_SETGID that these calls check;
//! file permission checks ignore the ids.

use alloc::{sync::Arc, vec, vec::Vec};
use core::sync::atomic::Ordering;

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

/// Computes the new real, effective and saved ids of setreuid or
/// setregid from `current` and the requested real and effective ids.
fn new_re_ids(current: [u32; 3], real: u32, effective: u32, privileged: bool) -> SysResult<[u32; 3]> {
    let [old_real, old_effective, old_saved] = current;
    let real_allowed = real == KEEP || privileged || real == old_real || real == old_effective;
    let effective_allowed =
        effective == KEEP || privileged || [old_real, old_effective, old_saved].contains(&effective);
    if !real_allowed || !effective_allowed {
        return Err(LinuxError::EPERM);
    }
    let new_real = if real == KEEP { old_real } else { real };
    let new_effective = if effective == KEEP { old_effective } else { effective };
    // The saved id follows the effective one when the real id is set or
    // the effective one moves away from the old real id.
    let new_saved = if real != KEEP || (effective != KEEP && effective != old_real) {
        new_effective
    } else {
        old_saved
    };
    Ok([new_real, new_effective, new_saved])
}

/// Replaces the real, effective and saved uids with what `compute` makes
/// of the current ones and of whether the caller has root's rights. The
/// file-system uid follows the effective uid.
fn update_uids(process: &Process, compute: impl FnOnce([u32; 3], bool) -> SysResult<[u32; 3]>) -> SysResult {
    let mut creds = process.creds.lock();
    let [uid, euid, suid] = compute([creds.uid, creds.euid, creds.suid], creds.euid == 0)?;
    (creds.uid, creds.euid, creds.suid) = (uid, euid, suid);
    process.fs.lock().uid = euid;
    Ok(())
}

/// Replaces the real, effective and saved gids as [`update_uids`] does
/// the uids. Root's rights still come from the effective uid.
fn update_gids(process: &Process, compute: impl FnOnce([u32; 3], bool) -> SysResult<[u32; 3]>) -> SysResult {
    let mut creds = process.creds.lock();
    let [gid, egid, sgid] = compute([creds.gid, creds.egid, creds.sgid], creds.euid == 0)?;
    (creds.gid, creds.egid, creds.sgid) = (gid, egid, sgid);
    process.fs.lock().gid = egid;
    Ok(())
}

/// setreuid.
pub fn set_re_uid(process: &Process, real: u32, effective: u32) -> SysResult {
    update_uids(process, |current, privileged| new_re_ids(current, real, effective, privileged))
}

/// setregid.
pub fn set_re_gid(process: &Process, real: u32, effective: u32) -> SysResult {
    update_gids(process, |current, privileged| new_re_ids(current, real, effective, privileged))
}

/// setresuid.
pub fn set_res_uid(process: &Process, requested: [u32; 3]) -> SysResult {
    update_uids(process, |current, privileged| new_ids(current, requested, privileged))
}

/// setresgid.
pub fn set_res_gid(process: &Process, requested: [u32; 3]) -> SysResult {
    update_gids(process, |current, privileged| new_ids(current, requested, privileged))
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

/// getpriority and setpriority's `which`.
const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;

/// Returns the processes that getpriority or setpriority's `which` and
/// `who` select: `EINVAL` for an unknown `which`, `ESRCH` when none.
fn priority_targets(caller: &Arc<Process>, which: i32, who: i32) -> SysResult<Vec<Arc<Process>>> {
    if !(PRIO_PROCESS..=PRIO_USER).contains(&which) {
        return Err(LinuxError::EINVAL);
    }
    let who = u32::try_from(who).map_err(|_| LinuxError::ESRCH)?;
    let live = |process: &Arc<Process>| process.exit_status.lock().is_none();
    let targets: Vec<Arc<Process>> = match which {
        PRIO_PROCESS if who == 0 => vec![caller.clone()],
        PRIO_PROCESS => super::find_process(who).into_iter().filter(live).collect(),
        PRIO_PGRP => {
            let group = if who == 0 { caller.pgid() } else { who };
            super::group_members(group).into_iter().filter(live).collect()
        }
        PRIO_USER => {
            let uid = if who == 0 { caller.creds.lock().uid } else { who };
            super::all_processes()
                .into_iter()
                .filter(|process| live(process) && process.creds.lock().uid == uid)
                .collect()
        }
        _ => unreachable!("checked above"),
    };
    if targets.is_empty() {
        return Err(LinuxError::ESRCH);
    }
    Ok(targets)
}

/// getpriority: 20 minus the lowest nice value among the targets.
pub fn get_priority(caller: &Arc<Process>, which: i32, who: i32) -> SysResult<isize> {
    let targets = priority_targets(caller, which, who)?;
    let lowest = targets
        .iter()
        .map(|process| process.nice.load(Ordering::Relaxed))
        .min()
        .unwrap_or(0);
    Ok(20 - lowest as isize)
}

/// setpriority: sets the nice value of every target, clamped to -20..19.
/// Only an effective uid of 0 may lower a nice value (`EACCES`).
pub fn set_priority(caller: &Arc<Process>, which: i32, who: i32, prio: i32) -> SysResult {
    let nice = prio.clamp(-20, 19);
    let privileged = caller.creds.lock().euid == 0;
    let targets = priority_targets(caller, which, who)?;
    for process in targets {
        if nice < process.nice.load(Ordering::Relaxed) && !privileged {
            return Err(LinuxError::EACCES);
        }
        process.nice.store(nice, Ordering::Relaxed);
    }
    Ok(())
}
