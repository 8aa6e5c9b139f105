//! getrandom, uname, sysinfo, membarrier, the sockets, and the kernel's
//! entropy pool.

mod socket;

use core::sync::atomic::Ordering;

use axalloc::global_allocator;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use spin::Mutex;
use syscall_abi::{
    Fd, FdPair, GetrandomFlags, LinuxError, MiscSyscalls, SysResult, SyscallContext, Sysinfo, UTSNAME_FIELD_LEN,
    UserInBytes, UserInOut, UserOut, UserOutBytes, Utsname,
};

use crate::Handler;

/// The kernel's CSPRNG: ChaCha20 seeded at boot from the device tree's
/// `rng-seed` (fresh random bytes from QEMU on every boot). It serves
/// getrandom, AT_RANDOM, /dev/random and /dev/urandom.
static ENTROPY: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);

/// Seeds the entropy pool. XOR-folding turns `seed` into the 32-byte
/// ChaCha20 key and keeps all of its entropy up to 256 bits. The boot time in
/// nanoseconds is mixed in so that an empty seed still varies.
pub fn seed_entropy(seed: &[u8]) {
    let mut key = [0u8; 32];
    for (i, byte) in seed.iter().enumerate() {
        key[i % 32] ^= byte;
    }
    for (i, byte) in axhal::time::monotonic_time_nanos().to_le_bytes().iter().enumerate() {
        key[24 + i] ^= byte;
    }
    *ENTROPY.lock() = Some(ChaCha20Rng::from_seed(key));
}

/// Fills `buf` with random bytes. Panics when the pool was never seeded,
/// which is a kernel bug (the kernel seeds it before any user code runs).
pub fn fill_random(buf: &mut [u8]) {
    ENTROPY
        .lock()
        .as_mut()
        .expect("entropy pool used before seed_entropy")
        .fill_bytes(buf);
}

/// The `struct utsname` fields: Linux 6.1 as far as the ABI goes.
const UTS_SYSNAME: &str = "Linux";
const UTS_NODENAME: &str = "starry";
const UTS_RELEASE: &str = "6.1.0-starry";
const UTS_VERSION: &str = "#1 SMP starry-python-kernel";
const UTS_MACHINE: &str = "aarch64";
const UTS_DOMAINNAME: &str = "(none)";

/// The maximum bytes one getrandom call returns, as on Linux (32 MiB - 1).
const GETRANDOM_MAX: usize = (32 << 20) - 1;

const MEMBARRIER_CMD_QUERY: i32 = 0;
const MEMBARRIER_CMD_GLOBAL: i32 = 1;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: i32 = 8;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: i32 = 16;

fn uts_field(value: &str) -> [u8; UTSNAME_FIELD_LEN] {
    let mut field = [0u8; UTSNAME_FIELD_LEN];
    field[..value.len()].copy_from_slice(value.as_bytes());
    field
}

impl MiscSyscalls for Handler {
    fn sys_uname(&mut self, buf: UserOut<Utsname>) -> SysResult<()> {
        let uts = Utsname {
            sysname: uts_field(UTS_SYSNAME),
            nodename: uts_field(UTS_NODENAME),
            release: uts_field(UTS_RELEASE),
            version: uts_field(UTS_VERSION),
            machine: uts_field(UTS_MACHINE),
            domainname: uts_field(UTS_DOMAINNAME),
        };
        buf.write(self.mem(), &uts)
    }

    fn sys_sysinfo(&mut self, info: UserOut<Sysinfo>) -> SysResult<()> {
        let allocator = global_allocator();
        let page = memory_addr::PAGE_SIZE_4K as u64;
        let free = allocator.available_pages() as u64 * page;
        let used = allocator.used_pages() as u64 * page;
        let value = Sysinfo {
            uptime: crate::time::monotonic().as_secs() as i64,
            totalram: free + used,
            freeram: free,
            procs: 1,
            mem_unit: 1,
            ..Sysinfo::default()
        };
        info.write(self.mem(), &value)
    }

    fn sys_getrandom(&mut self, buf: UserOutBytes, buflen: usize, flags: GetrandomFlags) -> SysResult<usize> {
        // getrandom(2): GRND_RANDOM and GRND_INSECURE contradict each other.
        if flags.contains(GetrandomFlags::RANDOM | GetrandomFlags::INSECURE) {
            return Err(LinuxError::EINVAL);
        }
        // The pool is seeded before init starts, so no other flag changes anything.
        let total = buflen.min(GETRANDOM_MAX);
        let mut chunk = [0u8; 256];
        let mut done = 0;
        while done < total {
            let len = chunk.len().min(total - done);
            fill_random(&mut chunk[..len]);
            buf.write_from(self.mem(), done, &chunk[..len])?;
            done += len;
        }
        Ok(total)
    }

    fn sys_membarrier(&mut self, cmd: i32, flags: u32, _cpu_id: i32) -> SysResult<isize> {
        if flags != 0 {
            return Err(LinuxError::EINVAL);
        }
        let registered = &self.process().membarrier_registered;
        match cmd {
            MEMBARRIER_CMD_QUERY => Ok((MEMBARRIER_CMD_GLOBAL
                | MEMBARRIER_CMD_PRIVATE_EXPEDITED
                | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) as isize),
            // One CPU runs everything, so every barrier is already done.
            MEMBARRIER_CMD_GLOBAL => Ok(0),
            MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED => {
                registered.store(true, Ordering::Relaxed);
                Ok(0)
            }
            MEMBARRIER_CMD_PRIVATE_EXPEDITED if registered.load(Ordering::Relaxed) => Ok(0),
            MEMBARRIER_CMD_PRIVATE_EXPEDITED => Err(LinuxError::EPERM),
            _ => Err(LinuxError::EINVAL),
        }
    }

    fn sys_socket(&mut self, domain: i32, sock_type: i32, protocol: i32) -> SysResult<i32> {
        socket::socket(self, domain, sock_type, protocol)
    }

    fn sys_socketpair(&mut self, domain: i32, sock_type: i32, _protocol: i32, sv: UserOut<FdPair>) -> SysResult<()> {
        let fds = socket::socketpair(self, domain, sock_type)?;
        if let Err(err) = sv.write(self.mem(), &FdPair { fds }) {
            let mut fs = self.process().fs.lock();
            let _ = fs.fd_table.remove(fds[0]);
            let _ = fs.fd_table.remove(fds[1]);
            return Err(err);
        }
        Ok(())
    }

    fn sys_bind(&mut self, sockfd: Fd, addr: UserInBytes, addrlen: i32) -> SysResult<()> {
        socket::bind(self, sockfd, addr, addrlen)
    }

    fn sys_listen(&mut self, sockfd: Fd, _backlog: i32) -> SysResult<()> {
        socket::as_socket(&socket::get(self, sockfd)?).listen()
    }

    fn sys_connect(&mut self, sockfd: Fd, addr: UserInBytes, addrlen: i32) -> SysResult<()> {
        socket::connect(self, sockfd, addr, addrlen)
    }

    fn sys_getsockname(&mut self, sockfd: Fd, addr: usize, addrlen: UserInOut<u32>) -> SysResult<()> {
        socket::getsockname(self, sockfd, addr, addrlen)
    }

    fn sys_getpeername(&mut self, sockfd: Fd, _addr: usize, _addrlen: UserInOut<u32>) -> SysResult<()> {
        socket::get(self, sockfd)?;
        Err(LinuxError::ENOTCONN)
    }

    fn sys_sendto(
        &mut self,
        sockfd: Fd,
        buf: UserInBytes,
        len: usize,
        _flags: i32,
        _dest_addr: Option<UserInBytes>,
        _addrlen: i32,
    ) -> SysResult<usize> {
        socket::send(self, sockfd, &buf, len)
    }

    fn sys_recvfrom(
        &mut self,
        sockfd: Fd,
        buf: UserOutBytes,
        len: usize,
        _flags: i32,
        _src_addr: usize,
        _addrlen: Option<UserInOut<u32>>,
    ) -> SysResult<usize> {
        socket::recv(self, sockfd, &buf, len)
    }

    fn sys_setsockopt(&mut self, sockfd: Fd, _level: i32, _optname: i32, optval: UserInBytes, _optlen: i32) -> SysResult<()> {
        socket::get(self, sockfd)?;
        // Options are accepted and have no effect: no data ever flows.
        optval.read_to_vec(self.mem())?;
        Ok(())
    }

    fn sys_getsockopt(&mut self, sockfd: Fd, level: i32, optname: i32, optval: usize, optlen: UserInOut<u32>) -> SysResult<()> {
        socket::getsockopt(self, sockfd, level, optname, optval, optlen)
    }

    fn sys_shutdown(&mut self, sockfd: Fd, how: i32) -> SysResult<()> {
        socket::get(self, sockfd)?;
        if !(0..=2).contains(&how) {
            return Err(LinuxError::EINVAL);
        }
        Err(LinuxError::ENOTCONN)
    }
}
