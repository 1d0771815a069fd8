//! Shared set-up for the zkcustoms benchmarks.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// A fixed-seed RNG, so every run measures the same work.
pub fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(2026)
}
