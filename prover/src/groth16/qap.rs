//! The R1CS-to-QAP witness map over a circuit's remembered matrices.
//!
//! ark-groth16 builds the constraint matrices of a circuit on every proof: each gadget's linear
//! combinations are recorded, inlined into one another and turned into rows, and the `C` matrix is
//! evaluated beside `A` and `B`. The matrices depend on the circuit's shape only (a statement and
//! its size class), never on the witness, so a key's prover builds them with its first proof and
//! keeps them ([`Shape`]). Every later proof synthesizes the witness alone (no linear combination
//! is recorded) and maps it with [`Shape::witness_map`], which computes exactly what
//! `LibsnarkReduction::witness_map` computes for a satisfying witness: `C·z` is taken as
//! `(A·z)∘(B·z)` row by row instead of being evaluated from its matrix, which is the same vector
//! whenever the constraints hold. A witness that does not satisfy them gives a proof that fails
//! the verification every proof passes before it leaves the prover.

use ark_bls12_381::Fr;
use ark_ff::{FftField, Field, One, Zero};
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain};
use ark_relations::gr1cs::{ConstraintSystem, Matrix, SynthesisError, R1CS_PREDICATE_LABEL};
use rayon::prelude::*;

/// Rows evaluated per parallel task.
const ROWS_PER_TASK: usize = 1024;

/// The shape of one circuit as the witness map needs it, taken from a synthesis that built the
/// matrices.
pub(crate) struct Shape {
    /// Instance variables, the constant one included.
    pub(crate) num_instance: usize,
    /// Witness variables.
    pub(crate) num_witness: usize,
    /// The `A` matrix: one row per constraint, each a list of (coefficient, variable index).
    a: Matrix<Fr>,
    /// The `B` matrix.
    b: Matrix<Fr>,
}

impl Shape {
    /// The shape of a finalized constraint system that built its matrices.
    pub(crate) fn of(cs: &ConstraintSystem<Fr>) -> Result<Self, SynthesisError> {
        let mut matrices = cs
            .to_matrices()?
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or(SynthesisError::PredicateNotFound)?;
        if matrices.len() != 3 {
            return Err(SynthesisError::Unsatisfiable);
        }
        matrices.truncate(2);
        let b = matrices.pop().unwrap_or_default();
        let a = matrices.pop().unwrap_or_default();
        Ok(Self {
            num_instance: cs.num_instance_variables(),
            num_witness: cs.num_witness_variables(),
            a,
            b,
        })
    }

    /// The coefficients of `h(x)` for the full assignment `z` (instance, then witness), as
    /// ark-groth16's `LibsnarkReduction` computes them for a satisfying assignment.
    pub(crate) fn witness_map(&self, z: &[Fr]) -> Result<Vec<Fr>, SynthesisError> {
        if z.len() != self.num_instance + self.num_witness {
            return Err(SynthesisError::Unsatisfiable);
        }
        let rows = self.a.len();
        let domain = GeneralEvaluationDomain::<Fr>::new(rows + self.num_instance)
            .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let size = domain.size();
        let mut a = vec![Fr::zero(); size];
        let mut b = vec![Fr::zero(); size];
        let mut c = vec![Fr::zero(); size];
        a[..rows]
            .par_chunks_mut(ROWS_PER_TASK)
            .zip(b[..rows].par_chunks_mut(ROWS_PER_TASK))
            .zip(c[..rows].par_chunks_mut(ROWS_PER_TASK))
            .zip(self.a.par_chunks(ROWS_PER_TASK))
            .zip(self.b.par_chunks(ROWS_PER_TASK))
            .for_each(|((((a, b), c), a_rows), b_rows)| {
                for (i, (a_row, b_row)) in a_rows.iter().zip(b_rows).enumerate() {
                    a[i] = row(a_row, z);
                    b[i] = row(b_row, z);
                    c[i] = a[i] * b[i];
                }
            });
        // The instance rows `z_i · 0 = 0` that tie the inputs to the QAP.
        a[rows..rows + self.num_instance].copy_from_slice(&z[..self.num_instance]);

        let coset = domain
            .get_coset(Fr::GENERATOR)
            .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let to_coset = |v: &mut Vec<Fr>| {
            domain.ifft_in_place(v);
            coset.fft_in_place(v);
        };
        rayon::join(
            || to_coset(&mut a),
            || rayon::join(|| to_coset(&mut b), || to_coset(&mut c)),
        );
        let z_inverse = domain
            .evaluate_vanishing_polynomial(Fr::GENERATOR)
            .inverse()
            .ok_or(SynthesisError::DivisionByZero)?;
        a.par_iter_mut()
            .zip(&b)
            .zip(&c)
            .for_each(|((a, b), c)| *a = (*a * b - c) * z_inverse);
        drop((b, c));
        coset.ifft_in_place(&mut a);
        Ok(a)
    }
}

/// `Σ coefficient · z[index]` over one row.
fn row(terms: &[(Fr, usize)], z: &[Fr]) -> Fr {
    let mut sum = Fr::zero();
    for (coefficient, index) in terms {
        let value = z[*index];
        if coefficient.is_one() {
            sum += value;
        } else {
            sum += value * coefficient;
        }
    }
    sum
}
