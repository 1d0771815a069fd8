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
        281264,
        4,
        "b648c72f7f04bb3ea5b209fdc014710be32599b73319d209f09aef439c5dbfbe",
    );
}

#[test]
fn invoice_value_v1_16_lines() {
    assert_shape(
        CircuitId::InvoiceValueV1(SizeClass::Lines16),
        778040,
        4,
        "77038fcb3e2dbbe5ef9a867a1428cdc134110595540b66e3a10272fefb7c29fb",
    );
}

#[test]
fn declaration_match_v1_4_lines() {
    assert_shape(
        CircuitId::DeclarationMatchV1(SizeClass::Lines4),
        281348,
        12,
        "663ac372a82a1051c2ab809691e87db9bc9f39c3fe4d88741acf95fc712ce082",
    );
}

#[test]
fn declaration_match_v1_16_lines() {
    assert_shape(
        CircuitId::DeclarationMatchV1(SizeClass::Lines16),
        779054,
        36,
        "89572e80c628ff047b13a0b5599ceae43e2eaea1477179ab56a860af8c323e56",
    );
}
