//! New processes: fork and vfork (clone without CLONE_THREAD), execve and
//! wait4.
//!
//! A child gets a copy of its parent's memory, also for CLONE_VM with
//! CLONE_VFORK (vfork, posix_spawn): the parent waits until the child calls
//! execve or exits, so the copy behaves like the shared memory of a vfork
//! child as long as the child only prepares an execve, as those callers do.

use alloc::{format, string::String, sync::Arc, vec::Vec};
use core::{sync::atomic::Ordering, time::Duration};

use axerrno::LinuxError;
use axhal::context::TrapFrame;
use syscall_abi::{CloneFlags, UserCStrArray, UserPath, WaitOptions};

use super::{
    ExitStatus, Process, Thread, alloc_id, current_thread, exit_current_process, find_process,
    loader, register_process, register_thread, remove_process, signal,
    thread::new_user_task,
};
use crate::UserMem;

type SysResult<T = ()> = Result<T, LinuxError>;

/// Limits of execve's arguments: the number of strings and their bytes
/// (Linux's `MAX_ARG_STRINGS` is larger; 32 pages of bytes is its
/// per-string limit).
const MAX_ARG_COUNT: usize = 0x7fff_ffff;
const MAX_ARG_BYTES: usize = 2 << 20;
/// Nested `#!` interpreters execve follows, as Linux's `BINPRM_MAX_RECURSION`.
const MAX_SHEBANG_DEPTH: usize = 4;
/// How often a waiting wait4 checks for signals.
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(10);

/// clone without CLONE_THREAD: creates a child process that continues from
/// the same point with a copy of the caller's memory, file descriptors and
/// signal actions.
pub fn fork(flags: CloneFlags, stack: usize, parent_tid: usize, tls: usize, child_tid: usize) -> SysResult<isize> {
    let unsupported = CloneFlags::THREAD
        | CloneFlags::SIGHAND
        | CloneFlags::NEWNS
        | CloneFlags::NEWUSER
        | CloneFlags::NEWPID
        | CloneFlags::NEWNET
        | CloneFlags::NEWIPC
        | CloneFlags::NEWUTS
        | CloneFlags::NEWCGROUP
        | CloneFlags::PIDFD;
    if flags.intersects(unsupported) {
        return Err(LinuxError::EINVAL);
    }
    if flags.contains(CloneFlags::VM) && !flags.contains(CloneFlags::VFORK) {
        // A process sharing the caller's memory for good is not supported.
        return Err(LinuxError::ENOSYS);
    }
    let parent_thread = current_thread();
    let parent = parent_thread.process.clone();
    let pid = alloc_id();

    let aspace = parent.aspace.lock().fork_copy()?;
    let page_table_root = aspace.page_table_root();
    let brk = *parent.brk.lock();
    let fs = parent.fs.lock().clone();
    let child = Process::new(pid, parent.pid, parent.exe_path.lock().clone(), aspace, brk.start, fs);
    *child.brk.lock() = brk;
    *child.sigactions.lock() = *parent.sigactions.lock();
    *child.rlimits.lock() = *parent.rlimits.lock();
    *child.creds.lock() = *parent.creds.lock();
    *child.groups.lock() = parent.groups.lock().clone();
    child.nice.store(parent.nice.load(Ordering::Relaxed), Ordering::Relaxed);
    child.pgid.store(parent.pgid(), Ordering::Relaxed);
    child.sid.store(parent.sid(), Ordering::Relaxed);
    let thread = Thread::new(pid, child.clone());
    thread.sigmask.store(parent_thread.sigmask(), Ordering::Relaxed);
    *thread.altstack.lock() = *parent_thread.altstack.lock();
    if flags.contains(CloneFlags::CHILD_CLEARTID) {
        thread.clear_child_tid.store(child_tid, Ordering::Relaxed);
    }
    // Linux ignores a failed write of either tid, and the child is made
    // anyway.
    if flags.contains(CloneFlags::PARENT_SETTID) {
        let _ = parent.aspace.lock().write(parent_tid, &pid.to_ne_bytes());
    }
    if flags.contains(CloneFlags::CHILD_SETTID) {
        let _ = child.aspace.lock().write(child_tid, &pid.to_ne_bytes());
    }

    let mut task = new_user_task(flags, stack, tls, format!("process {pid}"));
    task.ctx_mut().set_page_table_root(page_table_root);
    super::cputime::attach_clock(&mut task, &thread);
    parent.children.lock().push(child.clone());
    register_process(child.clone());
    register_thread(task.id().as_u64(), thread);
    axtask::spawn_task(task);

    if flags.contains(CloneFlags::VFORK) {
        child
            .vfork_wait
            .wait_until(|| child.vfork_done.load(Ordering::Acquire));
    }
    Ok(pid as isize)
}

/// Reads a whole program file through the process's file-system state:
/// `EACCES` unless it is a regular file with an execute bit.
pub fn read_whole_file(fs: &starry_vfs::FsContext, path: &str) -> SysResult<Vec<u8>> {
    let file = fs.open_file(starry_vfs::AT_FDCWD, path, starry_vfs::OpenFlags::empty(), 0)?;
    let stat = file.stat()?;
    if stat.node_type() != Some(starry_vfs::NodeType::Regular) {
        return Err(LinuxError::EACCES);
    }
    if stat.mode & 0o111 == 0 {
        return Err(LinuxError::EACCES);
    }
    // Only an ELF file or a script is read whole: the size may be that of a
    // sparse file of gigabytes, and the kernel's allocator panics when it
    // cannot satisfy a request.
    let mut magic = [0u8; 4];
    let n = file.read_at(0, &mut magic)?;
    if !(magic[..n].starts_with(b"\x7fELF") || magic[..n].starts_with(b"#!")) {
        return Err(LinuxError::ENOEXEC);
    }
    let free = axalloc::global_allocator().available_pages() * memory_addr::PAGE_SIZE_4K;
    if stat.size > (free / 2) as u64 {
        return Err(LinuxError::ENOMEM);
    }
    let mut data = Vec::with_capacity(stat.size as usize);
    let mut chunk = alloc::vec![0u8; 64 * 1024];
    loop {
        let n = file.read_at(data.len() as u64, &mut chunk)?;
        if n == 0 {
            return Ok(data);
        }
        data.extend_from_slice(&chunk[..n]);
    }
}

/// Splits a `#!` line into the interpreter and its optional argument.
fn parse_shebang(data: &[u8]) -> Option<(String, Option<Vec<u8>>)> {
    let line = data.strip_prefix(b"#!")?;
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    let line = core::str::from_utf8(&line[..end]).ok()?.trim();
    let (interp, arg) = match line.split_once([' ', '\t']) {
        Some((interp, arg)) => (interp, Some(arg.trim().as_bytes().to_vec())),
        None => (line, None),
    };
    if interp.is_empty() {
        return None;
    }
    Some((String::from(interp), arg.filter(|arg| !arg.is_empty())))
}

/// Follows `#!` lines from `path`: each interpreter runs with its optional
/// argument and the script's path in front of the script's arguments, as
/// Linux's binfmt_script does. Returns the ELF program to load and its argv.
pub fn resolve_interpreter(
    fs: &starry_vfs::FsContext,
    mut path: String,
    mut args: Vec<Vec<u8>>,
) -> SysResult<(String, Vec<Vec<u8>>)> {
    let mut depth = 0;
    loop {
        let data = read_whole_file(fs, &path)?;
        let Some((interp, interp_arg)) = parse_shebang(&data) else {
            if data.get(..4) != Some(b"\x7fELF") {
                return Err(LinuxError::ENOEXEC);
            }
            return Ok((path, args));
        };
        depth += 1;
        if depth > MAX_SHEBANG_DEPTH {
            return Err(LinuxError::ELOOP);
        }
        let mut new_args = Vec::new();
        new_args.push(interp.clone().into_bytes());
        new_args.extend(interp_arg);
        new_args.push(path.clone().into_bytes());
        new_args.extend(args.into_iter().skip(1));
        args = new_args;
        path = interp;
    }
}

/// execve, run from the kernel's exception entry with the caller's trap
/// frame (x0 = path, x1 = argv, x2 = envp). On success the frame starts the
/// new program; on failure x0 gets the negated errno.
pub fn execve(tf: &mut TrapFrame) {
    exec_or_fail(tf, starry_vfs::AT_FDCWD, 0, 0);
}

/// execveat(dirfd, path, argv, envp, flags), which musl's fexecve calls
/// with `AT_EMPTY_PATH` and an empty path. Like [`execve`], it runs from
/// the exception entry.
pub fn execveat(tf: &mut TrapFrame) {
    exec_or_fail(tf, tf.r[0] as i32, 1, tf.r[4] as u32);
}

/// Runs [`exec_frame`]; on failure, `tf` returns the errno to the caller.
fn exec_or_fail(tf: &mut TrapFrame, dirfd: i32, first: usize, flags: u32) {
    if let Err(err) = exec_frame(tf, dirfd, first, flags) {
        tf.r[0] = (-(err as i32) as isize) as u64;
    }
}

/// `AT_SYMLINK_NOFOLLOW` and `AT_EMPTY_PATH`, the flags execveat takes.
const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
const AT_EMPTY_PATH: u32 = 0x1000;

/// Replaces the program of the calling process. The path, argv and envp
/// pointers are in registers `first` to `first + 2`; `dirfd` and `flags`
/// are execveat's (`AT_FDCWD` and 0 for execve).
fn exec_frame(tf: &mut TrapFrame, dirfd: i32, first: usize, flags: u32) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(LinuxError::EINVAL);
    }
    let thread = current_thread();
    let process = thread.process.clone();
    let mem = UserMem::new(process.clone());
    let path = UserPath::read_in(&mem, tf.r[first] as usize)?;
    let path = String::from(path.to_str().map_err(|_| LinuxError::ENOENT)?);
    let argv = match UserCStrArray::new_nullable(tf.r[first + 1] as usize)? {
        Some(argv) => argv.read_all(&mem, MAX_ARG_COUNT, MAX_ARG_BYTES)?,
        None => Vec::new(),
    };
    let envp = match UserCStrArray::new_nullable(tf.r[first + 2] as usize)? {
        Some(envp) => envp.read_all(&mem, MAX_ARG_COUNT, MAX_ARG_BYTES)?,
        None => Vec::new(),
    };
    let path = program_path(&process.fs.lock(), dirfd, path, flags)?;

    let (path, args) = resolve_interpreter(&process.fs.lock(), path, argv)?;

    // The point of no return: the other threads leave, and the old
    // program's memory goes away.
    // NOTE: a thread other than the main one keeps its own id after
    // execve, where Linux gives it the process id.
    super::end_other_threads(&thread);
    let mut random = [0u8; 16];
    crate::misc::fill_random(&mut random);
    let loaded = {
        let fs = process.fs.lock().clone();
        let mut aspace = process.aspace.lock();
        aspace.clear();
        loader::load_program(&mut aspace, &path, &args, &envp, &random, &mut |file| {
            read_whole_file(&fs, file)
        })
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(err) => {
            debug!("execve {path}: loading failed after the old image was freed ({err:?})");
            exit_current_process(ExitStatus::Signal(signal::SIGSEGV));
        }
    };
    *process.exe_path.lock() = path;
    process.did_exec.store(true, Ordering::Relaxed);
    *process.brk.lock() = super::Brk {
        start: loaded.brk_start,
        end: loaded.brk_start,
    };
    process.fs.lock().fd_table.close_all_on_exec();
    for action in process.sigactions.lock().iter_mut() {
        // Handlers do not survive execve; ignored signals stay ignored.
        if action.handler != 1 {
            *action = super::SigAction::default();
        }
    }
    *thread.altstack.lock() = super::AltStack {
        sp: 0,
        flags: super::SS_DISABLE,
        size: 0,
    };

    tf.r = [0; 31];
    tf.usp = loaded.sp as u64;
    tf.elr = loaded.entry as u64;
    process.vfork_done.store(true, Ordering::Release);
    process.vfork_wait.notify_all(false);
    Ok(())
}

/// Turns execveat's `dirfd`, `path` and `flags` into a path that the
/// loader opens from the working directory. With `AT_EMPTY_PATH` and an
/// empty path, that is the path the file open as `dirfd` was opened by.
/// A relative path goes below the directory open as `dirfd`, unless
/// `dirfd` is `AT_FDCWD`.
fn program_path(fs: &starry_vfs::FsContext, dirfd: i32, path: String, flags: u32) -> SysResult<String> {
    if path.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(LinuxError::ENOENT);
        }
        // A pipe, socket or device has no path and is not a program.
        let file = fs.fd_table.get(dirfd)?;
        return file.location().map(|location| location.path()).ok_or(LinuxError::EACCES);
    }
    let path = if path.starts_with('/') || dirfd == starry_vfs::AT_FDCWD {
        path
    } else {
        let dir = fs.fd_table.get(dirfd)?;
        let location = dir.location().ok_or(LinuxError::ENOTDIR)?;
        if dir.stat()?.node_type() != Some(starry_vfs::NodeType::Directory) {
            return Err(LinuxError::ENOTDIR);
        }
        format!("{}/{path}", location.path().trim_end_matches('/'))
    };
    if flags & AT_SYMLINK_NOFOLLOW != 0 {
        let stat = fs.stat_at(starry_vfs::AT_FDCWD, &path, false, false)?;
        if stat.node_type() == Some(starry_vfs::NodeType::Symlink) {
            return Err(LinuxError::ELOOP);
        }
    }
    Ok(path)
}

/// Encodes an exit status as the `wait4` status word.
fn wait_status(status: ExitStatus) -> i32 {
    match status {
        ExitStatus::Code(code) => (code & 0xff) << 8,
        ExitStatus::Signal(sig) => sig as i32,
    }
}

/// wait4: reaps a child that has exited and returns its pid and status word.
/// `pid` -1 means any child, 0 any child in the caller's process group, and
/// below -1 any child in group `-pid`. Returns `Ok(None)` for WNOHANG when
/// children still run.
pub fn wait4(pid: i32, options: WaitOptions) -> SysResult<Option<(Arc<Process>, i32)>> {
    let exited = wait_for_child(pid, options.contains(WaitOptions::NOHANG), true, true)?;
    Ok(exited.map(|(child, status)| (child, wait_status(status))))
}

/// Waits until a child that `pid` selects (as for [`wait4`]) has exited and
/// returns it with its exit status. With `nohang` it returns `Ok(None)` at
/// once while the selected children still run. With `reap` the child is
/// gone afterwards, else it stays a zombie (waitid's WNOWAIT). Without
/// `report_exits` no child is ever found: the caller waits only for stops
/// and continues, which never happen without job control, so the wait
/// ends by a signal, by `nohang` or with `ECHILD`.
pub fn wait_for_child(
    pid: i32,
    nohang: bool,
    reap: bool,
    report_exits: bool,
) -> SysResult<Option<(Arc<Process>, ExitStatus)>> {
    let process = current_thread().process.clone();
    let own_group = process.pgid();
    let matches = |child: &Arc<Process>| match pid {
        -1 => true,
        0 => child.pgid() == own_group,
        _ if pid < 0 => child.pgid() == pid.unsigned_abs(),
        _ => child.pid == pid as u32,
    };
    loop {
        {
            let mut children = process.children.lock();
            if !children.iter().any(&matches) {
                return Err(LinuxError::ECHILD);
            }
            let exited = children
                .iter()
                .position(|child| report_exits && matches(child) && child.exit_status.lock().is_some());
            if let Some(index) = exited {
                let child = children[index].clone();
                let status = child.exit_status.lock().expect("checked above");
                if reap {
                    children.remove(index);
                    remove_process(child.pid);
                    process.cpu.add_reaped_child(&child);
                }
                return Ok(Some((child, status)));
            }
        }
        if nohang {
            return Ok(None);
        }
        if signal::has_pending_signal() {
            return Err(signal::interrupted(signal::Restart::UnlessHandlerWithoutSaRestart));
        }
        process.child_exit.wait_timeout(SIGNAL_CHECK_INTERVAL);
        // A signal that came during the sleep wins over a child that exited
        // meanwhile, as on Linux, where the signal wakes the waiter first.
        // Ctrl-C signals a caller and its child together, and the caller
        // must get EINTR: a reaped child whose status is lost to a handler
        // that raises is gone for good.
        if signal::has_pending_signal() {
            return Err(signal::interrupted(signal::Restart::UnlessHandlerWithoutSaRestart));
        }
    }
}

/// waitid's `idtype`.
const P_ALL: i32 = 0;
const P_PID: i32 = 1;
const P_PGID: i32 = 2;

/// Turns waitid's `which` and `id` into the `pid` selector of
/// [`wait_for_child`]. P_PIDFD and unknown types are `EINVAL`, as are a
/// P_PID id below 1 and a negative P_PGID id.
pub fn waitid_selector(which: i32, id: i32) -> SysResult<i32> {
    match which {
        P_ALL => Ok(-1),
        P_PID if id > 0 => Ok(id),
        // Since Linux 5.4, P_PGID with id 0 means the caller's group.
        P_PGID if id == 0 => Ok(0),
        P_PGID if id > 0 => Ok(-id),
        _ => Err(LinuxError::EINVAL),
    }
}

/// Sends `sig` to every process of group `pgid`; `ESRCH` when the group
/// has no process. The caller, when it belongs to the group, gets the
/// signal through `signal_self` instead, so `skip` names it.
pub fn kill_group(pgid: u32, skip: u32, sig: u32, info: signal::SigInfo) -> SysResult {
    let members = super::group_members(pgid);
    if members.is_empty() {
        return Err(LinuxError::ESRCH);
    }
    for member in members.iter().filter(|member| member.pid != skip) {
        // A process that exits meanwhile is no error for the group.
        let _ = kill_process(member.pid, sig, info);
    }
    Ok(())
}

/// Sends `sig` to process `pid` (its main thread).
pub fn kill_process(pid: u32, sig: u32, info: signal::SigInfo) -> SysResult {
    let process = find_process(pid).ok_or(LinuxError::ESRCH)?;
    if process.exit_status.lock().is_some() {
        // A zombie takes no more signals.
        return Ok(());
    }
    if sig == 0 {
        return match super::process_threads(pid).is_empty() {
            true => Err(LinuxError::ESRCH),
            false => Ok(()),
        };
    }
    if signal::send_process_signal(pid, sig, info) {
        Ok(())
    } else {
        Err(LinuxError::ESRCH)
    }
}
