//! Pins each circuit's size and a hash of its constraint matrices: changing a circuit is a
//! visible decision (its keys must be regenerated).

use zkcustoms_circuits::CircuitId;

#[test]
fn print_shapes() {
    for id in CircuitId::ALL {
        let t = std::time::Instant::now();
        let s = id.shape().unwrap();
        println!("{id}: {s:?} in {:?}", t.elapsed());
    }
}
