//! Shared set-up for the zkcustoms benchmarks: development keys in a temporary directory and
//! the example statements of every circuit.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkcustoms_circuits::{aeo_status, invoice_value, CircuitId};
use zkcustoms_prover::{Statement, Witness};

/// A fixed-seed RNG, so every run measures the same work.
pub fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(2026)
}

/// The example statement of a circuit (the 16-line class uses the example invoice in that class).
pub fn example_statement(circuit: CircuitId) -> Statement {
    let (id, witness) = match circuit {
        CircuitId::AeoStatusV1 => (
            aeo_status::ID,
            zkcustoms_prover::witness::example(aeo_status::ID).expect("example"),
        ),
        CircuitId::InvoiceValueV1(class) => {
            let mut w = zkcustoms_prover::witness::example(invoice_value::ID).expect("example");
            w["size_class"] = serde_json::Value::from(class.lines());
            (invoice_value::ID, w)
        }
    };
    Witness::from_json(id, &witness.to_string())
        .expect("example witness parses")
        .statement()
        .expect("example statement builds")
}
