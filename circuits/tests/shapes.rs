//! Pins each circuit's size and a hash of its constraint matrices: changing a circuit is a
//! visible decision (its keys must be made again and the verifying-key ids in every genesis
//! changed). When a change is intended, update the numbers here and say so in the commit.

use zkcustoms_circuits::invoice::SizeClass;
use zkcustoms_circuits::CircuitId;

fn assert_shape(id: CircuitId, constraints: usize, public_inputs: usize, matrix_hash: &str) {
    let shape = id.shape().unwrap();
    println!("{id}: {shape:?}");
    assert_eq!(shape.constraints, constraints, "{id}: constraint count");
    assert_eq!(shape.public_inputs, public_inputs, "{id}: public inputs");
    assert_eq!(
        shape.public_inputs,
        id.num_public_inputs(),
        "{id}: declared inputs"
    );
    assert_eq!(shape.matrix_hash, matrix_hash, "{id}: constraint matrices");
}

#[test]
fn aeo_status_v1() {
    assert_shape(
        CircuitId::AeoStatusV1,
        6264,
        6,
        "053a0a085528c4c1404a23f74ea31826d15b430c1648fc6125e1eec474308cbb",
    );
}

#[test]
fn invoice_value_v1_4_lines() {
    assert_shape(
        CircuitId::InvoiceValueV1(SizeClass::Lines4),
        180532,
        4,
        "2acc823998e898a221c794685f583f0bcf405176b11775d1e2fb15ef97d6ed0e",
    );
}

#[test]
fn invoice_value_v1_16_lines() {
    assert_shape(
        CircuitId::InvoiceValueV1(SizeClass::Lines16),
        503740,
        4,
        "d3eb90b3ae7018ea78813e7a7a79dca758c2b858da426684a6f8baad964417f6",
    );
}

#[test]
fn declaration_match_v1_4_lines() {
    assert_shape(
        CircuitId::DeclarationMatchV1(SizeClass::Lines4),
        180616,
        12,
        "cdd8f2d392beaf5bfc2246f033b3a29ba2e2baec63215e0732fae0132d5745a2",
    );
}

#[test]
fn declaration_match_v1_16_lines() {
    assert_shape(
        CircuitId::DeclarationMatchV1(SizeClass::Lines16),
        504754,
        36,
        "2b56540880547a1a944bdf808257d7650fafd4e208e07a840f1b5d8f080a924d",
    );
}
