//! Minimal sockets: enough for programs that create, bind and close them
//! (Python's `socket` module and its users at import time). There is no
//! network device, so no data flows through them: sends and receives fail
//! with `ENOTCONN`, and connecting fails as it would with nothing listening.
//! The exception is socketpair, whose two ends carry data to each other
//! over a pair of pipes (multiprocessing's duplex `Pipe`).

use alloc::{sync::Arc, vec::Vec};
use core::any::Any;

use spin::Mutex;
use starry_vfs::{FileLike, NodeType, OpenFlags, S_IFSOCK, Stat, VfsResult};
use syscall_abi::{Fd, LinuxError, SysResult, SyscallContext, UserInBytes, UserInOut, UserMemory, UserOutBytes};

use crate::{Handler, fs::io::wait_while_blocked};

const AF_UNIX: i32 = 1;
const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;

const SOCK_STREAM: i32 = 1;
const SOCK_DGRAM: i32 = 2;
const SOCK_RAW: i32 = 3;
const SOCK_SEQPACKET: i32 = 5;
const SOCK_TYPE_MASK: i32 = 0xf;
const SOCK_NONBLOCK: i32 = 0o4000;
const SOCK_CLOEXEC: i32 = 0o2000000;

const SIGPIPE: u32 = 13;

const SOL_SOCKET: i32 = 1;
const SO_TYPE: i32 = 3;
const SO_ERROR: i32 = 4;
const SO_DOMAIN: i32 = 39;
const SO_PROTOCOL: i32 = 38;
const SO_ACCEPTCONN: i32 = 30;

/// The largest socket address (`struct sockaddr_storage`).
const SOCKADDR_MAX: usize = 128;

/// A socket without a network behind it.
pub struct Socket {
    domain: i32,
    sock_type: i32,
    protocol: i32,
    flags: Mutex<OpenFlags>,
    /// The address given to bind, as the caller passed it.
    local: Mutex<Option<Vec<u8>>>,
    listening: Mutex<bool>,
}

impl Socket {
    fn new(domain: i32, sock_type: i32, protocol: i32, flags: OpenFlags) -> Self {
        Self {
            domain,
            sock_type,
            protocol,
            flags: Mutex::new(flags),
            local: Mutex::new(None),
            listening: Mutex::new(false),
        }
    }

    pub fn listen(&self) -> SysResult<()> {
        if self.sock_type == SOCK_DGRAM || self.sock_type == SOCK_RAW {
            return Err(LinuxError::EOPNOTSUPP);
        }
        *self.listening.lock() = true;
        Ok(())
    }
}

impl FileLike for Socket {
    fn read(&self, _buf: &mut [u8]) -> VfsResult<usize> {
        Err(LinuxError::ENOTCONN)
    }

    fn write(&self, _buf: &[u8]) -> VfsResult<usize> {
        Err(LinuxError::ENOTCONN)
    }

    fn stat(&self) -> VfsResult<Stat> {
        Ok(Stat {
            mode: S_IFSOCK | 0o777,
            nlink: 1,
            blksize: 4096,
            ..Stat::default()
        })
    }

    fn status_flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let settable = OpenFlags::from_bits_retain(OpenFlags::SETFL_MASK);
        let mut current = self.flags.lock();
        *current = (*current & !settable) | (flags & settable);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One end of a connected AF_UNIX stream pair: it reads what the other end
/// writes. read and write follow pipe semantics (end of file once the
/// other end is closed).
pub struct SocketPairEnd {
    /// The socket's own state (type, options, name).
    socket: Socket,
    rx: Arc<dyn FileLike>,
    tx: Arc<dyn FileLike>,
}

impl FileLike for SocketPairEnd {
    fn read(&self, buf: &mut [u8]) -> VfsResult<usize> {
        self.rx.read(buf)
    }

    fn write(&self, buf: &[u8]) -> VfsResult<usize> {
        self.tx.write(buf)
    }

    fn stat(&self) -> VfsResult<Stat> {
        Ok(Stat {
            mode: S_IFSOCK | 0o777,
            nlink: 1,
            blksize: 4096,
            ..Stat::default()
        })
    }

    fn status_flags(&self) -> OpenFlags {
        self.socket.status_flags()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        self.socket.set_status_flags(flags);
        let current = self.socket.status_flags();
        self.rx.set_status_flags(current);
        self.tx.set_status_flags(current);
    }

    fn poll(&self) -> starry_vfs::file::PollState {
        let rx = self.rx.poll();
        let tx = self.tx.poll();
        starry_vfs::file::PollState {
            readable: rx.readable,
            writable: tx.writable,
            hangup: rx.hangup || tx.hangup,
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Sends `len` bytes of `buf` on a socketpair end (send, sendto without an
/// address). Other sockets are not connected: `ENOTCONN`.
pub fn send(handler: &Handler, fd: Fd, buf: &UserInBytes, len: usize) -> SysResult<usize> {
    let file = get(handler, fd)?;
    let Some(end) = file.as_any().downcast_ref::<SocketPairEnd>() else {
        return Err(LinuxError::ENOTCONN);
    };
    let data = buf.read_to_vec(handler.mem())?;
    let data = &data[..len.min(data.len())];
    match wait_while_blocked(&*file, || end.write(data)) {
        // Writing to a closed peer raises SIGPIPE, as on Linux.
        Err(LinuxError::EPIPE) => {
            crate::process::signal::send_signal(
                handler.thread(),
                SIGPIPE,
                crate::process::signal::SigInfo { code: 0, value: handler.process().pid as usize },
            );
            Err(LinuxError::EPIPE)
        }
        result => result,
    }
}

/// Receives up to `len` bytes into `buf` from a socketpair end (recv,
/// recvfrom). Other sockets are not connected: `ENOTCONN`.
pub fn recv(handler: &Handler, fd: Fd, buf: &UserOutBytes, len: usize) -> SysResult<usize> {
    let file = get(handler, fd)?;
    let Some(end) = file.as_any().downcast_ref::<SocketPairEnd>() else {
        return Err(LinuxError::ENOTCONN);
    };
    let mut data = alloc::vec![0u8; len.min(64 * 1024)];
    let n = wait_while_blocked(&*file, || end.read(&mut data))?;
    buf.write_from(handler.mem(), 0, &data[..n])?;
    Ok(n)
}

/// socketpair for AF_UNIX stream sockets: two connected ends.
pub fn socketpair(handler: &mut Handler, domain: i32, sock_type: i32) -> SysResult<[i32; 2]> {
    if domain != AF_UNIX {
        return Err(LinuxError::EOPNOTSUPP);
    }
    if sock_type & !(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(LinuxError::EINVAL);
    }
    if sock_type & SOCK_TYPE_MASK != SOCK_STREAM {
        // NOTE: only stream pairs; datagram and seqpacket pairs would need
        // message boundaries.
        return Err(LinuxError::EOPNOTSUPP);
    }
    let mut flags = OpenFlags::O_RDWR;
    if sock_type & SOCK_NONBLOCK != 0 {
        flags |= OpenFlags::O_NONBLOCK;
    }
    let (a_rx, b_tx) = starry_vfs::new_pipe(flags & OpenFlags::O_NONBLOCK);
    let (b_rx, a_tx) = starry_vfs::new_pipe(flags & OpenFlags::O_NONBLOCK);
    let end_a = Arc::new(SocketPairEnd {
        socket: Socket::new(AF_UNIX, SOCK_STREAM, 0, flags),
        rx: a_rx,
        tx: a_tx,
    });
    let end_b = Arc::new(SocketPairEnd {
        socket: Socket::new(AF_UNIX, SOCK_STREAM, 0, flags),
        rx: b_rx,
        tx: b_tx,
    });
    let close_on_exec = sock_type & SOCK_CLOEXEC != 0;
    let mut fs = handler.process().fs.lock();
    let fd_a = fs.fd_table.insert(end_a, close_on_exec)?;
    match fs.fd_table.insert(end_b, close_on_exec) {
        Ok(fd_b) => Ok([fd_a, fd_b]),
        Err(err) => {
            let _ = fs.fd_table.remove(fd_a);
            Err(err)
        }
    }
}

/// Returns the open file behind `fd` if it is a socket, else `ENOTSOCK`.
/// Callers reach the socket with [`as_socket`].
pub fn get(handler: &Handler, fd: Fd) -> SysResult<Arc<dyn FileLike>> {
    let file = handler.process().fs.lock().fd_table.get(fd.raw())?;
    if file.as_any().is::<Socket>() || file.as_any().is::<SocketPairEnd>() {
        Ok(file)
    } else {
        Err(LinuxError::ENOTSOCK)
    }
}

/// Returns the socket inside a file that [`get`] returned.
pub fn as_socket(file: &Arc<dyn FileLike>) -> &Socket {
    let any = file.as_any();
    match any.downcast_ref::<SocketPairEnd>() {
        Some(end) => &end.socket,
        None => any.downcast_ref::<Socket>().expect("`get` returns only sockets"),
    }
}

pub fn socket(handler: &mut Handler, domain: i32, sock_type: i32, protocol: i32) -> SysResult<i32> {
    if !matches!(domain, AF_UNIX | AF_INET | AF_INET6) {
        return Err(LinuxError::EAFNOSUPPORT);
    }
    if sock_type & !(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(LinuxError::EINVAL);
    }
    let kind = sock_type & SOCK_TYPE_MASK;
    if !matches!(kind, SOCK_STREAM | SOCK_DGRAM | SOCK_RAW | SOCK_SEQPACKET) {
        return Err(LinuxError::EINVAL);
    }
    // Linux's AF_UNIX checks the protocol first and creates a SOCK_RAW
    // socket as SOCK_DGRAM (unix_create in net/unix/af_unix.c, 6.x).
    if domain == AF_UNIX && protocol != 0 && protocol != AF_UNIX {
        return Err(LinuxError::EPROTONOSUPPORT);
    }
    let kind = if domain == AF_UNIX && kind == SOCK_RAW { SOCK_DGRAM } else { kind };
    let mut flags = OpenFlags::O_RDWR;
    if sock_type & SOCK_NONBLOCK != 0 {
        flags |= OpenFlags::O_NONBLOCK;
    }
    let socket = Arc::new(Socket::new(domain, kind, protocol, flags));
    let close_on_exec = sock_type & SOCK_CLOEXEC != 0;
    handler
        .process()
        .fs
        .lock()
        .fd_table
        .insert(socket, close_on_exec)
}

/// Reads a socket address argument and checks its family and length.
fn read_address(handler: &Handler, socket: &Socket, addr: &UserInBytes, addrlen: i32) -> SysResult<Vec<u8>> {
    if addrlen < 2 || addrlen as usize > SOCKADDR_MAX {
        return Err(LinuxError::EINVAL);
    }
    let bytes = addr.read_to_vec(handler.mem())?;
    let family = u16::from_ne_bytes([bytes[0], bytes[1]]) as i32;
    if family != socket.domain {
        return Err(if socket.domain == AF_UNIX {
            LinuxError::EINVAL
        } else {
            LinuxError::EAFNOSUPPORT
        });
    }
    let min_len = match socket.domain {
        AF_INET => 16,
        AF_INET6 => 24,
        _ => 2,
    };
    if bytes.len() < min_len {
        return Err(LinuxError::EINVAL);
    }
    Ok(bytes)
}

pub fn bind(handler: &mut Handler, fd: Fd, addr: UserInBytes, addrlen: i32) -> SysResult<()> {
    let file = get(handler, fd)?;
    let socket = as_socket(&file);
    let address = read_address(handler, socket, &addr, addrlen)?;
    let mut local = socket.local.lock();
    if local.is_some() {
        return Err(LinuxError::EINVAL);
    }
    if socket.domain == AF_UNIX {
        if let Some(path) = unix_path(&address)? {
            // The socket's node: mode 0777 less the umask, as on Linux. An
            // existing name of any type is EADDRINUSE.
            let fs = handler.process().fs.lock();
            fs.mknod_at(starry_vfs::AT_FDCWD, path, NodeType::Socket, 0o777)
                .map_err(|err| if err == LinuxError::EEXIST { LinuxError::EADDRINUSE } else { err })?;
        }
    }
    *local = Some(address);
    Ok(())
}

/// Returns the path of an AF_UNIX address: the bytes after the family up
/// to the first NUL; `None` for an abstract or unnamed address.
fn unix_path(address: &[u8]) -> SysResult<Option<&str>> {
    let path = &address[2..];
    let path = &path[..path.iter().position(|&b| b == 0).unwrap_or(path.len())];
    if path.is_empty() {
        return Ok(None);
    }
    core::str::from_utf8(path).map(Some).map_err(|_| LinuxError::ENOENT)
}

pub fn connect(handler: &mut Handler, fd: Fd, addr: UserInBytes, addrlen: i32) -> SysResult<()> {
    let file = get(handler, fd)?;
    let socket = as_socket(&file);
    let address = read_address(handler, socket, &addr, addrlen)?;
    if socket.domain != AF_UNIX {
        return Err(LinuxError::ENETUNREACH);
    }
    // An AF_UNIX address is a path; nothing can listen on it here.
    let Some(path) = unix_path(&address)? else {
        // An abstract address: no socket here can be bound to one.
        return Err(LinuxError::ECONNREFUSED);
    };
    let fs = handler.process().fs.lock();
    fs.stat_at(starry_vfs::AT_FDCWD, path, true, false)?;
    Err(LinuxError::ECONNREFUSED)
}

pub fn getsockname(handler: &mut Handler, fd: Fd, addr: usize, addrlen: UserInOut<u32>) -> SysResult<()> {
    let file = get(handler, fd)?;
    let socket = as_socket(&file);
    let capacity = addrlen.read(handler.mem())? as usize;
    let address = match socket.local.lock().clone() {
        Some(address) => address,
        // An unbound socket has the family's wildcard address.
        None => {
            let len = match socket.domain {
                AF_INET => 16,
                AF_INET6 => 28,
                _ => 2,
            };
            let mut address = alloc::vec![0u8; len];
            address[..2].copy_from_slice(&(socket.domain as u16).to_ne_bytes());
            address
        }
    };
    let copy = capacity.min(address.len());
    handler.mem().write(addr, &address[..copy])?;
    handler.mem().write_val(addrlen.addr(), &(address.len() as u32))
}

pub fn getsockopt(
    handler: &mut Handler,
    fd: Fd,
    level: i32,
    optname: i32,
    optval: usize,
    optlen: UserInOut<u32>,
) -> SysResult<()> {
    let file = get(handler, fd)?;
    let socket = as_socket(&file);
    let capacity = optlen.read(handler.mem())? as usize;
    let value: i32 = match (level, optname) {
        (SOL_SOCKET, SO_TYPE) => socket.sock_type,
        (SOL_SOCKET, SO_DOMAIN) => socket.domain,
        (SOL_SOCKET, SO_PROTOCOL) => socket.protocol,
        (SOL_SOCKET, SO_ERROR) => 0,
        (SOL_SOCKET, SO_ACCEPTCONN) => *socket.listening.lock() as i32,
        (SOL_SOCKET, _) => 0,
        _ => return Err(LinuxError::ENOPROTOOPT),
    };
    let bytes = value.to_ne_bytes();
    let copy = capacity.min(bytes.len());
    handler.mem().write(optval, &bytes[..copy])?;
    handler.mem().write_val(optlen.addr(), &(copy as u32))
}
