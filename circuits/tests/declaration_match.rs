//! `declaration-match/v1`, differentially: the native check and the circuit agree on valid
//! declarations and on one tampered variant per check (a line left out, a line counted twice, a
//! value moved between headings, an extra item, a heading changed, a duplicate heading, too many
//! or no items, another invoice, another currency). Padding misuse, which no public struct can
//! express, is tested on raw public inputs next to the circuit.

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use zkcustoms_circuits::declaration_match::{
    self, check, group_lines, DeclarationItem, DeclarationMatchCircuit, DeclarationMatchError,
    DeclarationMatchPrivate, DeclarationMatchPublic,
};
use zkcustoms_circuits::invoice::{self, example_invoice, InvoiceLine, SizeClass};
use zkcustoms_circuits::{CircuitId, Fr};

fn satisfied(circuit: DeclarationMatchCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    match circuit.generate_constraints(cs.clone()) {
        Ok(()) => cs.is_satisfied().unwrap(),
        Err(_) => false,
    }
}

/// Runs the native check and the circuit; they must agree. Returns the native result.
fn agrees(
    class: SizeClass,
    public: DeclarationMatchPublic,
    private: DeclarationMatchPrivate,
) -> Result<(), DeclarationMatchError> {
    let native = check(class, &public, &private);
    let circuit = satisfied(DeclarationMatchCircuit {
        class,
        public,
        private,
    });
    assert_eq!(
        native.is_ok(),
        circuit,
        "native {native:?} vs circuit {circuit}"
    );
    native
}

fn item(hs: &str, value: u64) -> DeclarationItem {
    DeclarationItem {
        hs_code: hs.into(),
        value_minor: value,
    }
}

fn line(hs: &str, amount: u64) -> InvoiceLine {
    InvoiceLine {
        hs_code: hs.into(),
        description: format!("Goods under {hs}"),
        quantity: 1,
        unit: "C62".into(),
        amount_minor: amount,
    }
}

/// An invoice with these lines, its statement in `class` and the lines grouped by heading.
fn statement(
    lines: Vec<InvoiceLine>,
    class: SizeClass,
) -> (DeclarationMatchPublic, DeclarationMatchPrivate) {
    let mut inv = example_invoice();
    inv.total_minor = lines.iter().map(|l| l.amount_minor).sum();
    inv.lines = lines;
    let private = DeclarationMatchPrivate::new(&inv, class).unwrap();
    let public = DeclarationMatchPublic {
        digest: invoice::sha256(&private.encoded),
        currency: inv.currency.clone(),
        items: group_lines(&inv).unwrap(),
    };
    (public, private)
}

/// The example invoice: lines 850440 10800.00, 850440 5200.00, 854442 2432.50.
fn example(class: SizeClass) -> (DeclarationMatchPublic, DeclarationMatchPrivate) {
    let c = declaration_match::dummy(class);
    (c.public, c.private)
}

#[test]
fn the_example_groups_two_lines_under_one_heading() {
    let (public, _) = example(SizeClass::Lines4);
    assert_eq!(
        public.items,
        vec![item("850440", 1_600_000), item("854442", 243_250)]
    );
}

#[test]
fn valid_in_both_classes() {
    for class in SizeClass::ALL {
        let (public, private) = example(class);
        agrees(class, public, private).unwrap();
    }
}

#[test]
fn valid_in_any_item_order() {
    let (mut public, private) = example(SizeClass::Lines4);
    public.items.reverse();
    agrees(SizeClass::Lines4, public, private).unwrap();
}

#[test]
fn valid_full_class_shapes() {
    // Four lines, one heading: one item.
    let (public, private) = statement(
        (0..4).map(|i| line("940360", 100 + i)).collect(),
        SizeClass::Lines4,
    );
    assert_eq!(public.items, vec![item("940360", 406)]);
    agrees(SizeClass::Lines4, public, private).unwrap();
    // Four lines, four headings: four items, every slot in use.
    let (public, private) = statement(
        ["010121", "850440", "940360", "850440"]
            .iter()
            .map(|h| line(h, 7))
            .collect(),
        SizeClass::Lines4,
    );
    assert_eq!(public.items.len(), 3);
    agrees(SizeClass::Lines4, public, private).unwrap();
    let (public, private) = statement(
        ["010121", "850440", "940360", "854442"]
            .iter()
            .map(|h| line(h, 7))
            .collect(),
        SizeClass::Lines4,
    );
    assert_eq!(public.items.len(), 4);
    agrees(SizeClass::Lines4, public, private).unwrap();
    // Sixteen lines in the large class, interleaved headings, amounts near 2^64 / 16.
    let big = u64::MAX / 16;
    let (public, private) = statement(
        (0..16)
            .map(|i| line(["850440", "854442", "010121"][i % 3], big - i as u64))
            .collect(),
        SizeClass::Lines16,
    );
    assert_eq!(public.items.len(), 3);
    agrees(SizeClass::Lines16, public, private).unwrap();
}

#[test]
fn a_line_left_out() {
    // The second 850440 line is not counted in its item.
    let (mut public, private) = example(SizeClass::Lines4);
    public.items[0].value_minor = 1_080_000;
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::ValueMismatch {
            hs_code: "850440".into()
        })
    );
    // The only 854442 line, with its item, is left out of the declaration.
    let (mut public, private) = example(SizeClass::Lines4);
    public.items.pop();
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::LineNotDeclared { line: 3 })
    );
}

#[test]
fn a_line_counted_twice() {
    let (mut public, private) = example(SizeClass::Lines4);
    public.items[0].value_minor += 520_000;
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::ValueMismatch {
            hs_code: "850440".into()
        })
    );
    // The 854442 line counted under its own item and again under 850440.
    let (mut public, private) = example(SizeClass::Lines4);
    public.items[0].value_minor += 243_250;
    assert!(matches!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::ValueMismatch { .. })
    ));
}

#[test]
fn a_value_moved_between_headings() {
    // Same total, 1000.00 moved from 850440 to 854442.
    let (mut public, private) = example(SizeClass::Lines4);
    public.items[0].value_minor -= 100_000;
    public.items[1].value_minor += 100_000;
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::ValueMismatch {
            hs_code: "850440".into()
        })
    );
}

#[test]
fn an_extra_item() {
    // An invented item with no line, even of value zero.
    for value in [0, 5_000] {
        let (mut public, private) = example(SizeClass::Lines4);
        public.items.push(item("940360", value));
        assert_eq!(
            agrees(SizeClass::Lines4, public, private),
            Err(DeclarationMatchError::ItemWithoutLines {
                hs_code: "940360".into()
            })
        );
    }
}

#[test]
fn a_heading_changed() {
    // To a heading on no line.
    let (mut public, private) = example(SizeClass::Lines4);
    public.items[1].hs_code = "854449".into();
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::ItemWithoutLines {
            hs_code: "854449".into()
        })
    );
    // A line's heading changed in the invoice (re-anchored): its item no longer matches.
    let mut inv = example_invoice();
    inv.lines[1].hs_code = "854442".into();
    let (mut public, _) = example(SizeClass::Lines4);
    let private = DeclarationMatchPrivate::new(&inv, SizeClass::Lines4).unwrap();
    public.digest = invoice::sha256(&private.encoded);
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::ValueMismatch {
            hs_code: "850440".into()
        })
    );
}

#[test]
fn a_duplicate_heading() {
    // The two 850440 lines declared as two items of the same heading.
    let (mut public, private) = example(SizeClass::Lines4);
    public.items = vec![
        item("850440", 1_080_000),
        item("850440", 520_000),
        item("854442", 243_250),
    ];
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::DuplicateHeading {
            hs_code: "850440".into()
        })
    );
}

#[test]
fn too_many_or_no_items() {
    let (mut public, private) = example(SizeClass::Lines4);
    public.items = ["850440", "854442", "010121", "940360", "847130"]
        .iter()
        .map(|h| item(h, 1))
        .collect();
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::TooManyItems {
            items: 5,
            class: SizeClass::Lines4
        })
    );
    let (mut public, private) = example(SizeClass::Lines4);
    public.items.clear();
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::NoItems)
    );
}

#[test]
fn a_heading_that_is_not_six_digits() {
    for bad in ["85044", "8504400", "85O440", ""] {
        let (mut public, private) = example(SizeClass::Lines4);
        public.items[0].hs_code = bad.into();
        assert_eq!(
            agrees(SizeClass::Lines4, public, private),
            Err(DeclarationMatchError::BadHeading { item: 1 }),
            "{bad:?}"
        );
    }
}

#[test]
fn another_invoice_or_currency() {
    let (mut public, private) = example(SizeClass::Lines4);
    let mut other = example_invoice();
    other.invoice_number = "INV-2026-000452".into();
    public.digest = invoice::sha256(&other.encode().unwrap());
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::DigestMismatch)
    );
    let (mut public, private) = example(SizeClass::Lines4);
    public.currency = "USD".into();
    assert_eq!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::CurrencyMismatch)
    );
}

#[test]
fn a_line_hidden_in_an_unused_slot() {
    // The line count says 3, slot 4 carries an 854442 amount the declaration counts.
    let (mut public, mut private) = example(SizeClass::Lines4);
    let slot = invoice::HEADER_LEN + 3 * invoice::LINE_LEN;
    private.encoded[slot..slot + 6].copy_from_slice(b"854442");
    private.encoded[slot + invoice::layout::LINE_AMOUNT.0 + 7] = 1;
    public.digest = invoice::sha256(&private.encoded);
    public.items[1].value_minor += 1;
    assert!(matches!(
        agrees(SizeClass::Lines4, public, private),
        Err(DeclarationMatchError::Encoding(_))
    ));
}

#[test]
fn wrong_size_class_witness() {
    let (public, private) = example(SizeClass::Lines16);
    assert!(matches!(
        check(SizeClass::Lines4, &public, &private),
        Err(DeclarationMatchError::WrongSizeClass { .. })
    ));
    assert!(!satisfied(DeclarationMatchCircuit {
        class: SizeClass::Lines4,
        public,
        private
    }));
}

#[test]
fn public_inputs_have_the_declared_count_and_padding() {
    for class in SizeClass::ALL {
        let (public, _) = example(class);
        let inputs = declaration_match::public_inputs(class, &public).unwrap();
        assert_eq!(
            inputs.len(),
            CircuitId::DeclarationMatchV1(class).num_public_inputs()
        );
        assert_eq!(inputs[3], Fr::from(2u64), "item count");
        assert!(inputs[4 + 2 * 2..].iter().all(|x| *x == Fr::from(0u64)));
    }
}

#[test]
fn public_values_round_trip_through_json() {
    let (public, _) = example(SizeClass::Lines4);
    let json = serde_json::to_string(&public).unwrap();
    assert_eq!(
        serde_json::from_str::<DeclarationMatchPublic>(&json).unwrap(),
        public
    );
    assert!(
        serde_json::from_str::<DeclarationMatchPublic>(&json.replace("hs_code", "hs")).is_err()
    );
}

#[test]
fn private_values_do_not_print() {
    let (_, private) = example(SizeClass::Lines4);
    assert_eq!(
        format!("{private:?}"),
        "DeclarationMatchPrivate(<redacted>)"
    );
}
