//! Mock user memory shared by the integration tests.

use std::cell::RefCell;

use syscall_abi::{LinuxError, SysResult, UserMemory};

/// User memory: `data.len()` bytes mapped at `base`, everything else faults.
pub struct MockMemory {
    base: usize,
    data: RefCell<Vec<u8>>,
    /// Every read request as (address, length), in order.
    pub reads: RefCell<Vec<(usize, usize)>>,
}

impl MockMemory {
    pub fn new(base: usize, size: usize) -> Self {
        Self {
            base,
            data: RefCell::new(vec![0; size]),
            reads: RefCell::new(Vec::new()),
        }
    }

    fn offset(&self, addr: usize, len: usize) -> SysResult<usize> {
        let start = addr.checked_sub(self.base).ok_or(LinuxError::EFAULT)?;
        let end = start.checked_add(len).ok_or(LinuxError::EFAULT)?;
        if end > self.data.borrow().len() {
            return Err(LinuxError::EFAULT);
        }
        Ok(start)
    }

    #[allow(dead_code)]
    pub fn put(&self, addr: usize, bytes: &[u8]) {
        let start = addr - self.base;
        self.data.borrow_mut()[start..start + bytes.len()].copy_from_slice(bytes);
    }

    #[allow(dead_code)]
    pub fn get(&self, addr: usize, len: usize) -> Vec<u8> {
        let start = addr - self.base;
        self.data.borrow()[start..start + len].to_vec()
    }
}

impl UserMemory for MockMemory {
    fn read(&self, addr: usize, buf: &mut [u8]) -> SysResult<()> {
        self.reads.borrow_mut().push((addr, buf.len()));
        let start = self.offset(addr, buf.len())?;
        buf.copy_from_slice(&self.data.borrow()[start..start + buf.len()]);
        Ok(())
    }

    fn write(&self, addr: usize, data: &[u8]) -> SysResult<()> {
        let start = self.offset(addr, data.len())?;
        self.data.borrow_mut()[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }
}
