//! Prints `circuits/src/poseidon/constants.rs`: the Poseidon round constants and MDS matrix for
//! BLS12-381 Fr, width 3, 8 full and 57 partial rounds, from the Grain LFSR.
//!
//! `cargo run -p zkcustoms-circuits --example gen_poseidon_constants > circuits/src/poseidon/constants.rs`

use ark_bls12_381::Fr;
use ark_crypto_primitives::sponge::poseidon::find_poseidon_ark_and_mds;
use ark_ff::{BigInteger, PrimeField};

fn main() {
    let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(255, 2, 8, 57, 0);
    let hex = |x: &Fr| hex::encode(x.into_bigint().to_bytes_be());
    println!(
        "//! Poseidon constants for BLS12-381 Fr (width 3, alpha 5, 8 full and 57 partial rounds),"
    );
    println!(
        "//! generated from the Grain LFSR by `examples/gen_poseidon_constants.rs`. Do not edit:"
    );
    println!("//! a test re-derives them.");
    println!();
    println!("/// Round constants, big-endian hex, one row per round.");
    println!("pub const ARK: [[&str; 3]; {}] = [", ark.len());
    for row in &ark {
        println!("    [");
        for x in row {
            println!("        \"{}\",", hex(x));
        }
        println!("    ],");
    }
    println!("];");
    println!();
    println!("/// The MDS matrix, big-endian hex.");
    println!("pub const MDS: [[&str; 3]; 3] = [");
    for row in &mds {
        println!("    [");
        for x in row {
            println!("        \"{}\",", hex(x));
        }
        println!("    ],");
    }
    println!("];");
}
