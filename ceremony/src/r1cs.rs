//! A circuit's constraint matrices, synthesized exactly as ark-groth16's key generator does
//! (setup mode, constraints optimized, linear combinations inlined), so that the key phase 2
//! computes is the one ark-groth16's prover expects.

use crate::CeremonyError;
use ark_bls12_381::Fr;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode, R1CS_PREDICATE_LABEL,
};
use ark_relations::utils::matrix::Matrix;
use zkcustoms_circuits::{declaration_match, invoice_value, registry, CircuitId};

/// The R1CS of a circuit.
#[derive(Clone, Debug)]
pub struct CircuitMatrices {
    /// The circuit.
    pub circuit: CircuitId,
    /// Number of constraints (rows).
    pub num_constraints: usize,
    /// Instance variables, the constant one included.
    pub num_instance: usize,
    /// Witness variables.
    pub num_witness: usize,
    /// A, B and C, one row per constraint; variables are numbered instance first.
    pub a: Matrix<Fr>,
    /// B.
    pub b: Matrix<Fr>,
    /// C.
    pub c: Matrix<Fr>,
    /// log2 of the evaluation domain: the smallest power of two of at least
    /// constraints + instance variables (ark-groth16's domain).
    pub power: u8,
}

impl CircuitMatrices {
    /// Number of variables, the constant one included.
    pub fn num_variables(&self) -> usize {
        self.num_instance + self.num_witness
    }
}

/// Synthesizes a circuit over its dummy witness, as the key generator does.
pub fn synthesize(circuit: CircuitId) -> Result<CircuitMatrices, CeremonyError> {
    let err = |why: String| CeremonyError::Synthesis { circuit, why };
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    match circuit {
        CircuitId::AeoStatusV1 => registry::aeo_status_dummy().generate_constraints(cs.clone()),
        CircuitId::InvoiceValueV1(c) => invoice_value::dummy(c).generate_constraints(cs.clone()),
        CircuitId::DeclarationMatchV1(c) => {
            declaration_match::dummy(c).generate_constraints(cs.clone())
        }
    }
    .map_err(|e| err(e.to_string()))?;
    cs.finalize();
    let mut all = cs.to_matrices().map_err(|e| err(e.to_string()))?;
    let r1cs = all
        .remove(R1CS_PREDICATE_LABEL)
        .ok_or_else(|| err("no R1CS constraints".into()))?;
    if !all.is_empty() {
        return Err(err("constraints other than R1CS".into()));
    }
    let [a, b, c]: [Matrix<Fr>; 3] = r1cs
        .try_into()
        .map_err(|_| err("R1CS without exactly three matrices".into()))?;
    let num_constraints = cs.num_constraints();
    let num_instance = cs.num_instance_variables();
    let num_witness = cs.num_witness_variables();
    if a.len() != num_constraints || b.len() != num_constraints || c.len() != num_constraints {
        return Err(err("matrices and constraint count differ".into()));
    }
    let power = (num_constraints + num_instance)
        .next_power_of_two()
        .trailing_zeros() as u8;
    Ok(CircuitMatrices {
        circuit,
        num_constraints,
        num_instance,
        num_witness,
        a,
        b,
        c,
        power,
    })
}
