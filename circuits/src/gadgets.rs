//! Small gadgets shared by the statements: range checks and comparisons of bounded integers.

use crate::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, GR1CSVar};
use ark_relations::gr1cs::SynthesisError;

/// Constrains `x` to fit in `n` bits (`n` < 250) and returns its bits, least significant first.
///
/// Each bit is a boolean witness; their weighted sum must equal `x`. Costs `n + 1` constraints.
pub fn enforce_bits(x: &FpVar<Fr>, n: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    assert!(n < 250, "range checks are for small integers");
    let cs = x.cs();
    let value = x.value().ok();
    let bits_of = value.map(|v| v.into_bigint().to_bits_le());
    let bits = (0..n)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                bits_of
                    .as_ref()
                    .map(|b| b.get(i).copied().unwrap_or(false))
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Boolean::le_bits_to_fp(&bits)?.enforce_equal(x)?;
    Ok(bits)
}

/// Constrains `a <= b` for values already known to fit in `n` bits.
pub fn enforce_le(a: &FpVar<Fr>, b: &FpVar<Fr>, n: usize) -> Result<(), SynthesisError> {
    // b - a fits in n bits exactly when a <= b; otherwise it wraps to a value near the modulus.
    enforce_bits(&(b - a), n).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;

    fn le_holds(a: u64, b: u64) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = FpVar::new_witness(cs.clone(), || Ok(Fr::from(a))).unwrap();
        let b = FpVar::new_witness(cs.clone(), || Ok(Fr::from(b))).unwrap();
        enforce_bits(&a, 32).unwrap();
        enforce_bits(&b, 32).unwrap();
        enforce_le(&a, &b, 32).unwrap();
        cs.is_satisfied().unwrap()
    }

    #[test]
    fn comparisons() {
        assert!(le_holds(5, 5));
        assert!(le_holds(0, u32::MAX as u64));
        assert!(!le_holds(6, 5));
        assert!(!le_holds(u32::MAX as u64, 0));
        assert!(
            !le_holds(1 << 32, 1 << 32),
            "out-of-range inputs are refused"
        );
    }
}
