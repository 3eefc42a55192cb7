//! Counter-based keying of random streams, so results do not depend on thread count.
//!
//! Every Gaussian draw of the engine comes from a Xoshiro256++ generator seeded from
//! `(seed, stream, step, chunk)`: the same seed gives the same bits on one thread or many.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Identifies one random stream: a run seed and a stream id (phase, batch, purpose …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NoiseKey {
    /// Run seed.
    pub seed: u64,
    /// Stream id, distinct for each independent use of randomness within a run.
    pub stream: u64,
}

/// SplitMix64 finaliser.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl NoiseKey {
    /// A key.
    pub fn new(seed: u64, stream: u64) -> Self {
        Self { seed, stream }
    }
    /// A derived key for a sub-stream (e.g. one batch of an experiment).
    pub fn child(self, id: u64) -> Self {
        Self {
            seed: self.seed,
            stream: mix64(self.stream ^ mix64(id.wrapping_add(0x51ED_270B))),
        }
    }
    /// The generator for `(step, chunk)` of this stream.
    pub fn rng(self, step: u64, chunk: u64) -> Xoshiro256PlusPlus {
        let h = mix64(
            self.seed
                ^ mix64(
                    self.stream ^ mix64(step ^ mix64(chunk.wrapping_mul(0xA24B_AED4_963E_E407))),
                ),
        );
        Xoshiro256PlusPlus::seed_from_u64(h)
    }
}
