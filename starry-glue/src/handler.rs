//! The syscall handler: the calling thread and its memory, and the entry
//! that the kernel's trap handler calls.

use alloc::sync::Arc;

use syscall_abi::{LinuxError, SysResult, SyscallContext, UserMemory};

use crate::process::{Process, Thread, current_thread};

/// The user memory of one process, checked against its memory areas.
pub struct UserMem {
    process: Arc<Process>,
}

impl UserMem {
    /// The user memory of `process`.
    pub fn new(process: Arc<Process>) -> Self {
        Self { process }
    }
}

impl UserMemory for UserMem {
    fn read(&self, addr: usize, buf: &mut [u8]) -> SysResult<()> {
        self.process.aspace.lock().read(addr, buf)
    }

    fn write(&self, addr: usize, data: &[u8]) -> SysResult<()> {
        self.process.aspace.lock().write(addr, data)
    }

    fn write_parts(&self, addr: usize, parts: &mut dyn Iterator<Item = &[u8]>) -> usize {
        self.process.aspace.lock().write_parts(addr, parts)
    }
}

/// The handler of one syscall: the calling thread and its process's memory.
pub struct Handler {
    thread: Arc<Thread>,
    mem: UserMem,
}

impl Handler {
    /// The handler for a syscall of the current thread.
    pub fn current() -> Self {
        let thread = current_thread();
        let mem = UserMem {
            process: thread.process.clone(),
        };
        Self { thread, mem }
    }

    pub fn thread(&self) -> &Arc<Thread> {
        &self.thread
    }

    pub fn process(&self) -> &Arc<Process> {
        &self.thread.process
    }
}

impl SyscallContext for Handler {
    type Mem = UserMem;

    fn mem(&self) -> &UserMem {
        &self.mem
    }

    fn check_fd(&self, fd: i32) -> SysResult<()> {
        if self.process().fs.lock().fd_table.contains(fd) {
            Ok(())
        } else {
            Err(LinuxError::EBADF)
        }
    }
}

/// Runs syscall `nr` of the current thread; returns the value for x0.
pub fn handle_syscall(nr: usize, args: [usize; 6]) -> isize {
    let mut handler = Handler::current();
    let ret = crate::trace::dispatch(&mut handler, nr, args);
    trace!(
        "syscall {}({nr}) {args:#x?} -> {ret:#x}",
        syscall_abi::syscall_name(nr).unwrap_or("?")
    );
    ret
}
