//! The syscall entry: until the generated dispatch is wired in, a minimal
//! table with write and exit_group to test user mode.

use starry_glue::process::{ExitStatus, current_thread, exit_current_process};

const SYS_WRITE: usize = 64;
const SYS_EXIT_GROUP: usize = 94;
const ENOSYS: isize = 38;
const EFAULT: isize = 14;

pub fn dispatch(nr: usize, args: [usize; 6]) -> isize {
    match nr {
        SYS_WRITE => {
            let mut buf = alloc::vec![0u8; args[2].min(1 << 20)];
            let thread = current_thread();
            if thread.process.aspace.lock().read(args[1], &mut buf).is_err() {
                return -EFAULT;
            }
            crate::console::write_bytes(&buf);
            buf.len() as isize
        }
        SYS_EXIT_GROUP => exit_current_process(ExitStatus::Code(args[0] as i32)),
        _ => {
            warn!("syscall {nr} not implemented");
            -ENOSYS
        }
    }
}
