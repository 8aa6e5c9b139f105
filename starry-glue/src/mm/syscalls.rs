//! The memory syscalls of the handler; the work is in `ops`.

use syscall_abi::{LinuxError, MmSyscalls, MmapFd, MmapFlags, MmapProt, MremapFlags, MsyncFlags, SysResult};

use super::ops;
use crate::Handler;

impl MmSyscalls for Handler {
    fn sys_brk(&mut self, addr: usize) -> SysResult<usize> {
        Ok(ops::brk(self.process(), addr))
    }

    fn sys_mmap(
        &mut self,
        addr: usize,
        length: usize,
        prot: MmapProt,
        flags: MmapFlags,
        fd: MmapFd,
        offset: i64,
    ) -> SysResult<usize> {
        let offset = u64::try_from(offset).map_err(|_| LinuxError::EINVAL)?;
        ops::mmap(self.process(), addr, length, prot, flags, fd.get(), offset)
    }

    fn sys_munmap(&mut self, addr: usize, length: usize) -> SysResult<()> {
        ops::munmap(self.process(), addr, length)
    }

    fn sys_mprotect(&mut self, addr: usize, length: usize, prot: MmapProt) -> SysResult<()> {
        ops::mprotect(self.process(), addr, length, prot)
    }

    fn sys_mremap(
        &mut self,
        old_address: usize,
        old_size: usize,
        new_size: usize,
        flags: MremapFlags,
        new_address: usize,
    ) -> SysResult<usize> {
        ops::mremap(self.process(), old_address, old_size, new_size, flags, new_address)
    }

    fn sys_msync(&mut self, addr: usize, length: usize, flags: MsyncFlags) -> SysResult<()> {
        ops::msync(self.process(), addr, length, flags)
    }

    fn sys_madvise(&mut self, addr: usize, length: usize, advice: i32) -> SysResult<()> {
        ops::madvise(self.process(), addr, length, advice)
    }
}
