//! Poseidon over the BLS12-381 scalar field: width 3 (rate 2, capacity 1), alpha 5, 8 full and
//! 57 partial rounds (128-bit security for a 255-bit prime, as tabulated in the Poseidon paper).
//!
//! The round constants and the MDS matrix come from the Grain LFSR of the Poseidon reference
//! (`find_poseidon_ark_and_mds`); they are checked in as [`constants`] and re-derived by a test,
//! and `examples/gen_poseidon_constants.rs` regenerates the file.
//!
//! Hashing is a fixed-length sponge: the capacity element holds a [`Domain`] tag, each pair of
//! inputs is added to the rate and permuted, and the first rate element is the output. Every use
//! has its own tag and a fixed input length, so a leaf can never be read as a node, a holder
//! commitment or a nullifier.

pub mod constants;
pub mod r1cs;

use crate::field::pack_ascii;
use crate::Fr;
use ark_ff::{Field, Zero};
use std::sync::OnceLock;

/// State width of the permutation.
pub const WIDTH: usize = 3;
/// Number of full rounds (half before, half after the partial rounds).
pub const FULL_ROUNDS: usize = 8;
/// Number of partial rounds.
pub const PARTIAL_ROUNDS: usize = 57;
/// S-box exponent.
pub const ALPHA: u64 = 5;

/// The parsed permutation parameters.
#[derive(Clone, Debug)]
pub struct PoseidonParams {
    /// Round constants, one row of [`WIDTH`] per round.
    pub ark: Vec<[Fr; WIDTH]>,
    /// The MDS matrix.
    pub mds: [[Fr; WIDTH]; WIDTH],
}

/// The checked-in parameters, parsed once.
pub fn params() -> &'static PoseidonParams {
    static PARAMS: OnceLock<PoseidonParams> = OnceLock::new();
    PARAMS.get_or_init(|| {
        // The constants are compiled into the binary and re-derived by a test, so parsing them
        // cannot fail at run time.
        let parse = |s: &str| crate::field::fr_from_hex(s).expect("checked-in Poseidon constant");
        let ark = constants::ARK
            .iter()
            .map(|row| [parse(row[0]), parse(row[1]), parse(row[2])])
            .collect();
        let mut mds = [[Fr::zero(); WIDTH]; WIDTH];
        for (i, row) in constants::MDS.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                mds[i][j] = parse(v);
            }
        }
        PoseidonParams { ark, mds }
    })
}

/// The Poseidon permutation, in place.
pub fn permute(state: &mut [Fr; WIDTH]) {
    let p = params();
    let half = FULL_ROUNDS / 2;
    for (round, ark) in p.ark.iter().enumerate() {
        for (s, c) in state.iter_mut().zip(ark) {
            *s += c;
        }
        let full = round < half || round >= half + PARTIAL_ROUNDS;
        if full {
            for s in state.iter_mut() {
                *s = s.pow([ALPHA]);
            }
        } else {
            state[0] = state[0].pow([ALPHA]);
        }
        let old = *state;
        for (i, s) in state.iter_mut().enumerate() {
            *s = p.mds[i]
                .iter()
                .zip(old.iter())
                .fold(Fr::zero(), |acc, (m, x)| acc + *m * x);
        }
    }
}

/// Domain separation tags: one per use of the hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Domain {
    /// An AEO registry leaf (six inputs).
    Leaf,
    /// An inner node of the registry Merkle tree (two inputs).
    Node,
    /// A holder commitment (one input: the holder secret).
    HolderCommitment,
    /// A nullifier (two inputs: holder secret, scope).
    Nullifier,
}

impl Domain {
    /// The tag placed in the capacity element.
    pub fn tag(self) -> Fr {
        let label = match self {
            Domain::Leaf => "zkcustoms/leaf/v1",
            Domain::Node => "zkcustoms/node/v1",
            Domain::HolderCommitment => "zkcustoms/holder/v1",
            Domain::Nullifier => "zkcustoms/nullifier/v1",
        };
        // Labels are short ASCII constants: packing cannot fail.
        pack_ascii(label).expect("domain label fits a field element")
    }
}

/// Fixed-length sponge hash of `inputs` under `domain`.
pub fn hash(domain: Domain, inputs: &[Fr]) -> Fr {
    let mut state = [domain.tag(), Fr::zero(), Fr::zero()];
    for chunk in inputs.chunks(WIDTH - 1) {
        for (i, x) in chunk.iter().enumerate() {
            state[1 + i] += x;
        }
        permute(&mut state);
    }
    if inputs.is_empty() {
        permute(&mut state);
    }
    state[1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_crypto_primitives::sponge::poseidon::{
        find_poseidon_ark_and_mds, PoseidonConfig, PoseidonSponge,
    };
    use ark_crypto_primitives::sponge::{CryptographicSponge, DuplexSpongeMode};
    use ark_ff::{BigInteger, PrimeField};

    fn hex(x: &Fr) -> String {
        hex::encode(x.into_bigint().to_bytes_be())
    }

    #[test]
    fn constants_rederive_from_grain_lfsr() {
        let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(
            Fr::MODULUS_BIT_SIZE as u64,
            WIDTH - 1,
            FULL_ROUNDS as u64,
            PARTIAL_ROUNDS as u64,
            0,
        );
        assert_eq!(ark.len(), FULL_ROUNDS + PARTIAL_ROUNDS);
        assert_eq!(constants::ARK.len(), ark.len());
        for (row, expected) in constants::ARK.iter().zip(&ark) {
            let got: Vec<String> = row.iter().map(|s| s.to_string()).collect();
            let want: Vec<String> = expected.iter().map(hex).collect();
            assert_eq!(got, want);
        }
        for (row, expected) in constants::MDS.iter().zip(&mds) {
            let got: Vec<String> = row.iter().map(|s| s.to_string()).collect();
            let want: Vec<String> = expected.iter().map(hex).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn permutation_matches_arkworks_sponge() {
        let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(255, 2, 8, 57, 0);
        let config = PoseidonConfig::new(8, 57, 5, mds, ark, 2, 1);
        for seed in 0u64..8 {
            let input = [
                Fr::from(seed * 7 + 1),
                Fr::from(seed + 11),
                Fr::from(seed * seed),
            ];
            let mut ours = input;
            permute(&mut ours);
            let mut sponge = PoseidonSponge::new(&config);
            sponge.state = input.to_vec();
            sponge.mode = DuplexSpongeMode::Absorbing {
                next_absorb_index: 2,
            };
            let out: Vec<Fr> = sponge.squeeze_field_elements(1);
            assert_eq!(out[0], ours[1]);
        }
    }

    #[test]
    fn domains_separate() {
        let x = [Fr::from(1u64), Fr::from(2u64)];
        assert_ne!(hash(Domain::Node, &x), hash(Domain::Nullifier, &x));
        assert_ne!(hash(Domain::Node, &x), hash(Domain::Node, &[x[1], x[0]]));
        assert_ne!(
            hash(Domain::HolderCommitment, &x[..1]),
            hash(Domain::HolderCommitment, &x[1..])
        );
    }
}
