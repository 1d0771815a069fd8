//! The SHA-256 gadget of the invoice statements against the one it replaced (arkworks'
//! `Sha256Gadget`, `ark-crypto-primitives` 0.6), side by side in one run:
//!
//! - `invoice-value/v1 (4 lines)/prove, our gadget` and `…/prove, arkworks gadget`: Groth16 proofs
//!   of the same statement (the example invoice, 384 bytes, 7 SHA-256 blocks) with the same
//!   circuit around the hash, each under its own keys, with a fixed-seed RNG;
//! - the constraint counts of both circuits and per 64-byte block, printed before the first
//!   sample.
//!
//! Keys are made with `ark_groth16` from a fixed seed the first time a benchmark of the group
//! runs (about 15 s for the arkworks circuit on two cores).

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use ark_bls12_381::{Bls12_381, Fr};
use ark_crypto_primitives::crh::sha256::constraints::Sha256Gadget;
use ark_groth16::{Groth16, ProvingKey};
use ark_r1cs_std::uint8::UInt8;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, SynthesisError, SynthesisMode,
};
use ark_snark::SNARK;
use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode};
use std::cell::OnceCell;
use std::time::Duration;
use zkcustoms_benches::rng;
use zkcustoms_circuits::invoice::r1cs::DigestGadget;
use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::invoice_value::{self, InvoiceValueCircuit};
use zkcustoms_circuits::sha256;

/// arkworks' SHA-256 gadget, in the shape the invoice circuit takes.
fn arkworks_digest(bytes: &[UInt8<Fr>]) -> Result<[UInt8<Fr>; 32], SynthesisError> {
    let digest = Sha256Gadget::digest(bytes)?;
    digest
        .0
        .try_into()
        .map_err(|_| SynthesisError::Unsatisfiable)
}

/// `invoice-value/v1` with a chosen SHA-256 gadget.
struct WithGadget {
    circuit: InvoiceValueCircuit,
    gadget: DigestGadget,
}

impl ConstraintSynthesizer<Fr> for WithGadget {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        self.circuit.generate_constraints_with(cs, self.gadget)
    }
}

fn circuit(gadget: DigestGadget) -> WithGadget {
    WithGadget {
        circuit: invoice_value::dummy(SizeClass::Lines4),
        gadget,
    }
}

fn constraints(gadget: DigestGadget) -> usize {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(SynthesisMode::Setup);
    circuit(gadget).generate_constraints(cs.clone()).unwrap();
    cs.num_constraints()
}

/// Constraints of the gadget alone per 64-byte block of witness bytes.
fn per_block(gadget: DigestGadget) -> usize {
    use ark_r1cs_std::alloc::AllocVar;
    let count = |len: usize| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        let bytes = (0..len)
            .map(|_| UInt8::new_witness(cs.clone(), || Ok(0u8)))
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let before = cs.num_constraints();
        gadget(&bytes).unwrap();
        cs.num_constraints() - before
    };
    count(128) - count(64)
}

fn bench(c: &mut Criterion) {
    let keys: [OnceCell<ProvingKey<Bls12_381>>; 2] = [OnceCell::new(), OnceCell::new()];
    let gadgets: [(&str, DigestGadget); 2] = [
        ("our gadget", sha256::digest),
        ("arkworks gadget", arkworks_digest),
    ];
    let mut group = c.benchmark_group("invoice-value/v1 (4 lines)");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(40));
    for (i, (name, gadget)) in gadgets.into_iter().enumerate() {
        group.bench_function(format!("prove, {name}"), |b| {
            let pk = keys[i].get_or_init(|| {
                let (total, block) = (constraints(gadget), per_block(gadget));
                eprintln!(
                    "{name}: {total} constraints in invoice-value/v1 (4 lines), {block} per \
                     SHA-256 block"
                );
                zkcustoms_benches::table::record(
                    "sha256",
                    &[
                        (format!("{name}/constraints per block"), block as f64),
                        (
                            format!("{name}/invoice-value 4 lines constraints"),
                            total as f64,
                        ),
                    ],
                );
                Groth16::<Bls12_381>::circuit_specific_setup(circuit(gadget), &mut rng())
                    .unwrap()
                    .0
            });
            let mut r = rng();
            b.iter(|| black_box(Groth16::<Bls12_381>::prove(pk, circuit(gadget), &mut r).unwrap()));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
