//! Checks of flag values and struct field offsets against Linux's uapi
//! headers for aarch64. Values that are the same on every architecture are
//! also compared with linux-raw-sys, which the host build configures for
//! x86_64.

use core::mem::offset_of;

use linux_raw_sys::general as linux;
use syscall_abi::{
    AtFlags, CloneFlags, Dirent64Header, EpollEvent, GetrandomFlags, MmapFlags, MmapProt,
    MremapFlags, OpenFlags, RenameFlags, Rusage, Sigaction, Stat, Statfs, Statx, Sysinfo, Termios,
};

#[test]
fn open_flags_aarch64_values() {
    // asm-generic/fcntl.h; x86_64 uses other values for these four.
    assert_eq!(OpenFlags::DIRECTORY.bits(), 0o40000);
    assert_eq!(OpenFlags::NOFOLLOW.bits(), 0o100000);
    assert_eq!(OpenFlags::DIRECT.bits(), 0o200000);
    assert_eq!(OpenFlags::LARGEFILE.bits(), 0o400000);
}

#[test]
fn open_flags_shared_values() {
    assert_eq!(OpenFlags::CREAT.bits(), linux::O_CREAT);
    assert_eq!(OpenFlags::EXCL.bits(), linux::O_EXCL);
    assert_eq!(OpenFlags::TRUNC.bits(), linux::O_TRUNC);
    assert_eq!(OpenFlags::APPEND.bits(), linux::O_APPEND);
    assert_eq!(OpenFlags::NONBLOCK.bits(), linux::O_NONBLOCK);
    assert_eq!(OpenFlags::CLOEXEC.bits(), linux::O_CLOEXEC);
    assert_eq!(OpenFlags::PATH.bits(), linux::O_PATH);
    assert_eq!(OpenFlags::SYNC.bits(), linux::O_SYNC);
}

#[test]
fn open_flags_access_mode() {
    use syscall_abi::AccessMode;
    assert_eq!(OpenFlags::empty().access_mode(), AccessMode::ReadOnly);
    assert_eq!(OpenFlags::WRONLY.access_mode(), AccessMode::WriteOnly);
    assert_eq!(
        (OpenFlags::RDWR | OpenFlags::CREAT).access_mode(),
        AccessMode::ReadWrite
    );
    assert_eq!(
        OpenFlags::from_bits_retain(3).access_mode(),
        AccessMode::Invalid
    );
}

#[test]
fn at_flags_shared_values() {
    assert_eq!(AtFlags::SYMLINK_NOFOLLOW.bits(), linux::AT_SYMLINK_NOFOLLOW);
    assert_eq!(AtFlags::REMOVEDIR.bits(), linux::AT_REMOVEDIR);
    assert_eq!(AtFlags::EACCESS.bits(), linux::AT_EACCESS);
    assert_eq!(AtFlags::SYMLINK_FOLLOW.bits(), linux::AT_SYMLINK_FOLLOW);
    assert_eq!(AtFlags::NO_AUTOMOUNT.bits(), linux::AT_NO_AUTOMOUNT);
    assert_eq!(AtFlags::EMPTY_PATH.bits(), linux::AT_EMPTY_PATH);
    assert_eq!(syscall_abi::AT_FDCWD, -100);
}

#[test]
fn mmap_flags_shared_values() {
    assert_eq!(MmapProt::READ.bits(), linux::PROT_READ);
    assert_eq!(MmapProt::WRITE.bits(), linux::PROT_WRITE);
    assert_eq!(MmapProt::EXEC.bits(), linux::PROT_EXEC);
    assert_eq!(MmapFlags::SHARED.bits(), linux::MAP_SHARED);
    assert_eq!(MmapFlags::PRIVATE.bits(), linux::MAP_PRIVATE);
    assert_eq!(MmapFlags::FIXED.bits(), linux::MAP_FIXED);
    assert_eq!(MmapFlags::ANONYMOUS.bits(), linux::MAP_ANONYMOUS);
    assert_eq!(MmapFlags::NORESERVE.bits(), linux::MAP_NORESERVE);
    assert_eq!(
        MmapFlags::FIXED_NOREPLACE.bits(),
        linux::MAP_FIXED_NOREPLACE
    );
    assert_eq!(MremapFlags::MAYMOVE.bits(), linux::MREMAP_MAYMOVE);
    assert_eq!(MremapFlags::DONTUNMAP.bits(), linux::MREMAP_DONTUNMAP);
}

#[test]
fn other_flags_shared_values() {
    assert_eq!(CloneFlags::VM.bits(), linux::CLONE_VM as u64);
    assert_eq!(CloneFlags::THREAD.bits(), linux::CLONE_THREAD as u64);
    assert_eq!(CloneFlags::SETTLS.bits(), linux::CLONE_SETTLS as u64);
    assert_eq!(
        CloneFlags::CHILD_CLEARTID.bits(),
        linux::CLONE_CHILD_CLEARTID as u64
    );
    assert_eq!(CloneFlags::from_bits_retain(0x11 | 0x100).exit_signal(), 17);
    assert_eq!(GetrandomFlags::NONBLOCK.bits(), linux::GRND_NONBLOCK);
    assert_eq!(GetrandomFlags::INSECURE.bits(), linux::GRND_INSECURE);
    assert_eq!(RenameFlags::NOREPLACE.bits(), linux::RENAME_NOREPLACE);
    assert_eq!(RenameFlags::EXCHANGE.bits(), linux::RENAME_EXCHANGE);
}

#[test]
fn stat_field_offsets() {
    assert_eq!(offset_of!(Stat, st_mode), 16);
    assert_eq!(offset_of!(Stat, st_rdev), 32);
    assert_eq!(offset_of!(Stat, st_size), 48);
    assert_eq!(offset_of!(Stat, st_blksize), 56);
    assert_eq!(offset_of!(Stat, st_blocks), 64);
    assert_eq!(offset_of!(Stat, st_atime), 72);
    assert_eq!(offset_of!(Stat, st_mtime), 88);
    assert_eq!(offset_of!(Stat, st_ctime), 104);
    assert_eq!(offset_of!(Stat, st_ctime_nsec), 112);
}

#[test]
fn statx_field_offsets() {
    assert_eq!(offset_of!(Statx, stx_nlink), 16);
    assert_eq!(offset_of!(Statx, stx_mode), 28);
    assert_eq!(offset_of!(Statx, stx_ino), 32);
    assert_eq!(offset_of!(Statx, stx_size), 40);
    assert_eq!(offset_of!(Statx, stx_atime), 64);
    assert_eq!(offset_of!(Statx, stx_mtime), 112);
    assert_eq!(offset_of!(Statx, stx_rdev_major), 128);
    assert_eq!(offset_of!(Statx, stx_mnt_id), 144);
    assert_eq!(offset_of!(Statx, stx_dio_offset_align), 156);
}

#[test]
fn small_struct_field_offsets() {
    assert_eq!(offset_of!(Sigaction, sa_flags), 8);
    assert_eq!(offset_of!(Sigaction, sa_restorer), 16);
    assert_eq!(offset_of!(Sigaction, sa_mask), 24);
    assert_eq!(offset_of!(EpollEvent, data), 8);
    assert_eq!(offset_of!(Dirent64Header, d_reclen), 16);
    assert_eq!(offset_of!(Dirent64Header, d_type), 18);
    assert_eq!(offset_of!(Termios, c_line), 16);
    assert_eq!(offset_of!(Termios, c_cc), 17);
    assert_eq!(offset_of!(Statfs, f_fsid), 56);
    assert_eq!(offset_of!(Statfs, f_namelen), 64);
    assert_eq!(offset_of!(Statfs, f_spare), 88);
    assert_eq!(offset_of!(Sysinfo, procs), 80);
    assert_eq!(offset_of!(Sysinfo, totalhigh), 88);
    assert_eq!(offset_of!(Sysinfo, mem_unit), 104);
    assert_eq!(offset_of!(Rusage, ru_maxrss), 32);
    assert_eq!(offset_of!(Rusage, ru_nivcsw), 136);
}
