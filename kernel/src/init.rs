//! Starting init: mount the root file system, load the program, create the
//! first process and enter user mode. Also what happens when init ends.

use alloc::{format, string::String, sync::Arc};

use axhal::uspace::UspaceContext;
use axtask::TaskInner;
use memory_addr::VirtAddr;
use spin::Once;
use starry_glue::{
    misc::fill_random,
    mm::aspace::AddrSpace,
    process::{
        ExitStatus, Process, Thread, cputime, fork, loader, register_process, register_thread,
        set_init_exit_hook,
    },
    time::wall_clock,
};
use starry_vfs::{Ext4Fs, FileSystem, FsContext, MountTable};

use crate::{bootargs::BootArgs, console::ConsoleDevice, disk::VirtioDisk, power};

/// The mount table, kept for syncing and unmounting when init ends.
static MOUNTS: Once<Arc<MountTable>> = Once::new();

/// Mounts the root file system (ext4 on the virtio-blk disk, read-write),
/// then devfs on /dev and a tmpfs on /dev/shm.
fn mount_root(devices: &mut axdriver::AllDevices) -> Arc<MountTable> {
    let Some(device) = devices.block.take_one() else {
        power::boot_failure("no virtio-blk disk found");
    };
    // Reads go through a write-through block cache, so repeated reads of a
    // block stay off the disk, and a read of missing blocks reads ahead.
    let disk = starry_vfs::BlockCache::new(VirtioDisk::new(device), starry_vfs::block_cache::DEFAULT_CAPACITY_BLOCKS)
        .with_readahead(starry_vfs::block_cache::DEFAULT_READAHEAD_BLOCKS);
    let root = match Ext4Fs::mount_cached(disk, wall_clock, Some(fill_random)) {
        Ok(root) => root,
        Err(err) => power::boot_failure(&format!("mounting the ext4 root file system failed: {err:?}")),
    };
    let root: Arc<dyn FileSystem> = root;
    let mounts = Arc::new(MountTable::new(root));
    starry_vfs::tmpfs::set_free_memory_probe(free_memory);
    if let Err(err) = starry_vfs::devfs::mount_devfs(&mounts, Arc::new(ConsoleDevice), fill_random, wall_clock) {
        power::boot_failure(&format!("mounting /dev failed: {err:?}"));
    }
    MOUNTS.call_once(|| mounts.clone());
    mounts
}

/// Syncs and unmounts every file system, then ends QEMU with init's status.
fn on_init_exit(status: ExitStatus) -> ! {
    debug!("init exited: {status:?}");
    crate::trace::finish();
    crate::stats::report_exit(status.shell_status());
    crate::profile::report();
    if let Some(mounts) = MOUNTS.get() {
        if let Err(err) = mounts.sync_all() {
            error!("syncing the file systems failed: {err:?}");
        }
        if let Err(err) = mounts.unmount_all() {
            error!("unmounting the file systems failed: {err:?}");
        }
    }
    power::exit_qemu(status.shell_status())
}

/// Creates init from the command line and runs it. Does not return: init's
/// exit ends QEMU, and an init task that ends any other way is a kernel bug.
pub fn run_init(args: BootArgs, mut devices: axdriver::AllDevices) -> ! {
    starry_glue::misc::seed_entropy(crate::bootinfo::rng_seed());
    let mounts = mount_root(&mut devices);

    let mut fs = FsContext::new(mounts);
    if let Err(err) = fs.chdir(&args.cwd) {
        power::boot_failure(&format!("cannot change to the working directory {}: {err:?}", args.cwd));
    }
    if let Err(err) = fs.open_stdio() {
        power::boot_failure(&format!("cannot open /dev/console: {err:?}"));
    }

    let mut aspace = match AddrSpace::new() {
        Ok(aspace) => aspace,
        Err(err) => power::boot_failure(&format!("cannot create an address space: {err:?}")),
    };
    let mut random = [0u8; 16];
    fill_random(&mut random);
    // init may be a `#!` script, as with execve.
    let (program, argv) = match fork::resolve_interpreter(&fs, args.init.clone(), args.argv.clone()) {
        Ok(resolved) => resolved,
        Err(err) => power::boot_failure(&format!("cannot load init {}: {err:?}", args.init)),
    };
    let loaded = loader::load_program(&mut aspace, &program, &argv, &args.env, &random, &mut |path| {
        fork::read_whole_file(&fs, path)
    });
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(err) => power::boot_failure(&format!("cannot load init {}: {err:?}", args.init)),
    };
    debug!("init loaded: {loaded:x?}");

    set_init_exit_hook(on_init_exit);
    let page_table_root = aspace.page_table_root();
    let process = Process::new(1, 0, String::from(args.init.as_str()), aspace, loaded.brk_start, fs);
    register_process(process.clone());
    let thread = Thread::new(1, process);

    let (entry, sp) = (loaded.entry, loaded.sp);
    let mut task = TaskInner::new(
        move || {
            let kstack_top = axtask::current()
                .kernel_stack_top()
                .expect("the init task has a kernel stack");
            let context = UspaceContext::new(entry, VirtAddr::from(sp), 0);
            crate::stats::user_entry();
            crate::profile::start();
            cputime::leave_kernel();
            // SAFETY: the task's page table (set below with
            // `set_page_table_root`) maps the program, and `kstack_top` is
            // the top of this task's own kernel stack, unused from here on.
            unsafe { context.enter_uspace(kstack_top) }
        },
        String::from("init"),
        axconfig::TASK_STACK_SIZE,
    );
    task.ctx_mut().set_page_table_root(page_table_root);
    cputime::attach_clock(&mut task, &thread);
    register_thread(task.id().as_u64(), thread);
    let task = axtask::spawn_task(task);
    let code = task.join();
    panic!("the init task ended with {code} without exiting the process")
}

/// Returns the bytes the page allocator can still hand out.
fn free_memory() -> usize {
    axalloc::global_allocator().available_pages() * memory_addr::PAGE_SIZE_4K
}
