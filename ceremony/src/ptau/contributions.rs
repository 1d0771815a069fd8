//! The contributions section of a `.ptau` file: parsed and checked (structure, every point, the
//! parameters), but their proofs of knowledge are snarkjs's and are not verified here.

use super::points::{g1_from_lem, g2_from_lem, montgomery_r};
use super::{u32_le, PtauContribution, CONTRIBUTION_FIXED};
use crate::codec::{G1_BYTES, G2_BYTES};
use ark_ff::Field;

/// Parses and checks a contributions section: its structure, every point, the parameters.
pub fn parse_contributions(bytes: &[u8]) -> Result<Vec<PtauContribution>, String> {
    let r_inv = montgomery_r().inverse().expect("nonzero");
    let mut pos = 0usize;
    let mut take = |n: usize, what: &str| -> Result<&[u8], String> {
        if bytes.len() - pos < n {
            return Err(format!(
                "truncated: {what} needs {n} bytes at offset {pos}, the section has {} left",
                bytes.len() - pos
            ));
        }
        pos += n;
        Ok(&bytes[pos - n..pos])
    };
    let count = u32_le(take(4, "the number of contributions")?) as usize;
    if count > bytes.len() / CONTRIBUTION_FIXED {
        return Err(format!(
            "{count} contributions announced, the section holds at most {}",
            bytes.len() / CONTRIBUTION_FIXED
        ));
    }
    let mut out = Vec::with_capacity(count);
    for i in 1..=count {
        let err = |e: String| format!("contribution {i}: {e}");
        let g1 =
            |b: &[u8], what: &str| g1_from_lem(b, &r_inv).map_err(|e| err(format!("{what}: {e}")));
        let g2 =
            |b: &[u8], what: &str| g2_from_lem(b, &r_inv).map_err(|e| err(format!("{what}: {e}")));
        let tau_g1 = g1(take(G1_BYTES, "tauG1").map_err(err)?, "tauG1")?;
        let tau_g2 = g2(take(G2_BYTES, "tauG2").map_err(err)?, "tauG2")?;
        let alpha_g1 = g1(take(G1_BYTES, "alphaG1").map_err(err)?, "alphaG1")?;
        let beta_g1 = g1(take(G1_BYTES, "betaG1").map_err(err)?, "betaG1")?;
        let beta_g2 = g2(take(G2_BYTES, "betaG2").map_err(err)?, "betaG2")?;
        for what in [
            "tau s",
            "tau s·x",
            "alpha s",
            "alpha s·x",
            "beta s",
            "beta s·x",
        ] {
            let _checked = g1(
                take(G1_BYTES, what).map_err(err)?,
                &format!("public key {what}"),
            )?;
        }
        for what in ["tau r·x", "alpha r·x", "beta r·x"] {
            let _checked = g2(
                take(G2_BYTES, what).map_err(err)?,
                &format!("public key {what}"),
            )?;
        }
        take(216, "the hash state").map_err(err)?;
        let next_challenge: [u8; 64] = take(64, "the next challenge")
            .map_err(err)?
            .try_into()
            .expect("64 bytes");
        let kind = u32_le(take(4, "the type").map_err(err)?);
        if kind > 1 {
            return Err(err(format!(
                "type {kind}, not 0 (contribution) or 1 (beacon)"
            )));
        }
        let len = u32_le(take(4, "the parameters' length").map_err(err)?) as usize;
        let params = take(len, "the parameters").map_err(err)?;
        let (mut name, mut iterations, mut hash) = (String::new(), None, None);
        let mut p = 0usize;
        let mut last = 0u8;
        while p < params.len() {
            let t = params[p];
            if t <= last {
                return Err(err("parameters out of order".into()));
            }
            last = t;
            let short = || err("truncated parameters".into());
            match t {
                1 | 3 => {
                    let n = *params.get(p + 1).ok_or_else(short)? as usize;
                    let v = params.get(p + 2..p + 2 + n).ok_or_else(short)?;
                    if t == 1 {
                        name = String::from_utf8(v.to_vec())
                            .map_err(|_| err("the name is not UTF-8".into()))?;
                    } else {
                        hash = Some(v.to_vec());
                    }
                    p += 2 + n;
                }
                2 => {
                    iterations = Some(*params.get(p + 1).ok_or_else(short)?);
                    p += 2;
                }
                other => return Err(err(format!("unknown parameter {other}"))),
            }
        }
        let beacon = match (kind, iterations, hash) {
            (1, Some(n), Some(h)) => Some((h, n)),
            (1, _, _) => return Err(err("a beacon without its hash and iterations".into())),
            (_, None, None) => None,
            _ => return Err(err("beacon parameters on a contribution".into())),
        };
        out.push(PtauContribution {
            name,
            beacon,
            next_challenge,
            tau_g1,
            tau_g2,
            alpha_g1,
            beta_g1,
            beta_g2,
        });
    }
    if pos != bytes.len() {
        return Err(format!(
            "{} trailing bytes after the last contribution",
            bytes.len() - pos
        ));
    }
    Ok(out)
}
