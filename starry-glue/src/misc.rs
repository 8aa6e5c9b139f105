//! getrandom, uname, the socket stubs, and the kernel's entropy pool.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use spin::Mutex;

/// The kernel's CSPRNG: ChaCha20 seeded at boot from the device tree's
/// `rng-seed` (fresh random bytes from QEMU on every boot). It serves
/// getrandom, AT_RANDOM, /dev/random and /dev/urandom.
static ENTROPY: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);

/// Seeds the entropy pool. `seed` is hashed into a 32-byte ChaCha20 key by
/// XOR-folding, which keeps all of its entropy up to 256 bits; the boot
/// time in nanoseconds is mixed in so that an empty seed still varies.
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
