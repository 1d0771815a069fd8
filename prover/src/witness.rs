//! Witness files: what a trader's systems hand to `zkcustoms prove`, and the statements built
//! from them. `zkcustoms example STATEMENT` prints a complete one.

use crate::ProverError;
use serde::{Deserialize, Serialize};
use zkcustoms_circuits::aeo_status::{self, nullifier, AeoStatusPrivate, AeoStatusPublic, Tier};
use zkcustoms_circuits::date::Day;
use zkcustoms_circuits::declaration_match::{
    self, DeclarationItem, DeclarationMatchPrivate, DeclarationMatchPublic,
};
use zkcustoms_circuits::invoice::{self, Invoice, SizeClass};
use zkcustoms_circuits::invoice_value::{self, InvoiceValuePrivate, InvoiceValuePublic};
use zkcustoms_circuits::registry::{self, Membership};
use zkcustoms_circuits::{serde_fr, CircuitId, Fr};

/// Witness of `aeo-status/v1`: the holder's membership witness from its authority, its secret,
/// and what the verifier asks (day, tier, scope).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AeoStatusWitness {
    /// Always `aeo-status/v1`.
    pub statement: String,
    /// The day on which the certificate must be valid.
    pub as_of: Day,
    /// The minimum tier asked for.
    pub required_tier: Tier,
    /// The verifier's scope (a session challenge, a programme); not a UCR, which names the trader.
    pub scope: String,
    /// The holder's secret (never leaves the prover).
    #[serde(with = "serde_fr")]
    pub holder_secret: Fr,
    /// The issuing authority.
    pub authority: String,
    /// The membership witness the authority issued (`registry build`).
    pub membership: Membership,
}

impl std::fmt::Debug for AeoStatusWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AeoStatusWitness(<redacted>)")
    }
}

/// The declared customs value.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declared {
    /// Declared value in minor units.
    pub value_minor: u64,
    /// Currency (ISO 4217).
    pub currency: String,
}

/// Witness of `invoice-value/v1`: the invoice and the declared value.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceValueWitness {
    /// Always `invoice-value/v1`.
    pub statement: String,
    /// Size class (4 or 16); the smallest that fits when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_class: Option<SizeClass>,
    /// The declared value to prove.
    pub declared: Declared,
    /// The commercial invoice (stays private).
    pub invoice: Invoice,
}

impl std::fmt::Debug for InvoiceValueWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InvoiceValueWitness(<redacted>)")
    }
}

/// The declaration items to prove, in the invoice currency.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredItems {
    /// Currency of the item values (ISO 4217).
    pub currency: String,
    /// The items: HS-6 heading and value, headings distinct, in the declaration's order.
    pub items: Vec<DeclarationItem>,
}

/// Witness of `declaration-match/v1`: the invoice and the declaration items.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationMatchWitness {
    /// Always `declaration-match/v1`.
    pub statement: String,
    /// Size class (4 or 16); the smallest that holds the invoice when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_class: Option<SizeClass>,
    /// The declaration items to prove.
    pub declared: DeclaredItems,
    /// The commercial invoice (stays private).
    pub invoice: Invoice,
}

impl std::fmt::Debug for DeclarationMatchWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeclarationMatchWitness(<redacted>)")
    }
}

/// A witness of any statement.
#[derive(Clone, Debug)]
pub enum Witness {
    /// `aeo-status/v1`.
    AeoStatus(AeoStatusWitness),
    /// `invoice-value/v1`.
    InvoiceValue(InvoiceValueWitness),
    /// `declaration-match/v1`.
    DeclarationMatch(DeclarationMatchWitness),
}

/// A statement with its public and private values, ready to check and prove.
#[derive(Clone, Debug)]
pub enum Statement {
    /// `aeo-status/v1`.
    AeoStatus {
        /// Public values.
        public: AeoStatusPublic,
        /// Private values.
        private: AeoStatusPrivate,
    },
    /// `invoice-value/v1`.
    InvoiceValue {
        /// Size class of the circuit.
        class: SizeClass,
        /// Public values.
        public: InvoiceValuePublic,
        /// Private values.
        private: InvoiceValuePrivate,
    },
    /// `declaration-match/v1`.
    DeclarationMatch {
        /// Size class of the circuit.
        class: SizeClass,
        /// Public values.
        public: DeclarationMatchPublic,
        /// Private values.
        private: DeclarationMatchPrivate,
    },
}

fn malformed(e: impl std::fmt::Display) -> ProverError {
    ProverError::MalformedWitness(e.to_string())
}

/// Reads a witness of one statement from its JSON. What is wrong is named by its place in the
/// witness and what was expected there, never by the value found: the message goes back to the
/// client (and may be logged by whatever sits between), and the value may be private.
fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ProverError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        // An unknown field's place ends in its name, which may be anything sent: it is left out.
        let mut segments: Vec<_> = e.path().iter().collect();
        if message.starts_with("unknown field") {
            segments.pop();
        }
        let mut place = String::new();
        for segment in segments {
            if !place.is_empty() && !matches!(segment, serde_path_to_error::Segment::Seq { .. }) {
                place.push('.');
            }
            place.push_str(&segment.to_string());
        }
        let place = match place.is_empty() {
            true => "the witness".to_string(),
            false => format!("`{place}`"),
        };
        ProverError::MalformedWitness(format!("{place}: {}", without_values(&message)))
    })
}

/// A deserialization message without the value it quotes: serde names the value found before
/// `, expected` (`invalid type: string "…", expected u64`) and the missing, unknown or repeated
/// field by its name, which is the witness format's, not the trader's. Other messages are the
/// witness types' own, which quote no value.
fn without_values(message: &str) -> String {
    // The expected part is the witness type's own text, after what was sent (which may hold
    // `, expected ` itself).
    if let Some((found, expected)) = message.rsplit_once(", expected ") {
        // `invalid type`, `invalid value`, `invalid length`, `unknown field`, `unknown
        // variant`: what follows is what was sent.
        let what: Vec<&str> = found.split([' ', ':']).take(2).collect();
        return format!("{}, expected {expected}", what.join(" "));
    }
    message.to_string()
}

impl Witness {
    /// Whether this is an aeo-status witness whose scope is a ledger's scope for a consignment
    /// (`zkcustoms/ledger-scope/v1:…`), which only a ledger filing (`prove --for-ucr`, the
    /// service's `submit_to`) may set: brought by anyone else, it would let that consignment's
    /// owner file the holder's certificate as its own.
    pub fn brings_ledger_scope(&self) -> bool {
        matches!(self, Witness::AeoStatus(w)
            if w.scope.starts_with(zkcustoms_ledger_client::tx::LEDGER_SCOPE_DOMAIN))
    }

    /// Parses a witness file for `statement`.
    pub fn from_json(statement: &str, text: &str) -> Result<Self, ProverError> {
        let named: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
        let in_file = named
            .get("statement")
            .and_then(|v| v.as_str())
            .ok_or_else(|| malformed("missing field `statement`"))?;
        if in_file != statement {
            return Err(malformed(format!(
                "witness is for {in_file:?}, not for {statement:?}"
            )));
        }
        match statement {
            aeo_status::ID => Ok(Witness::AeoStatus(parse(named)?)),
            invoice_value::ID => Ok(Witness::InvoiceValue(parse(named)?)),
            declaration_match::ID => Ok(Witness::DeclarationMatch(parse(named)?)),
            other => Err(malformed(format!(
                "unknown statement {other:?}: expected one of {:?}",
                crate::STATEMENTS
            ))),
        }
    }

    /// Builds the statement: derives the public values (nullifier, digest) from the witness.
    pub fn statement(&self) -> Result<Statement, ProverError> {
        match self {
            Witness::AeoStatus(w) => {
                if w.scope.is_empty() || w.scope.len() > 256 {
                    return Err(malformed("scope must be 1 to 256 bytes"));
                }
                let public = AeoStatusPublic {
                    registry_root: w.membership.registry_root,
                    authority: w.authority.clone(),
                    as_of: w.as_of,
                    required_tier: w.required_tier,
                    scope: w.scope.clone(),
                    nullifier: nullifier(&w.holder_secret, &w.scope),
                };
                let private = AeoStatusPrivate {
                    certificate: w.membership.certificate.clone(),
                    holder_secret: w.holder_secret,
                    path: w.membership.path.clone(),
                };
                Ok(Statement::AeoStatus { public, private })
            }
            Witness::InvoiceValue(w) => {
                let class = match w.size_class {
                    Some(c) => c,
                    None => SizeClass::smallest_for(w.invoice.lines.len()).ok_or_else(|| {
                        malformed(invoice::InvoiceError::TooManyLinesForAnyClass(
                            w.invoice.lines.len(),
                        ))
                    })?,
                };
                let private = InvoiceValuePrivate::new(&w.invoice, class).map_err(|e| {
                    ProverError::Unsatisfied {
                        statement: invoice_value::ID,
                        check: e.to_string(),
                    }
                })?;
                let public = InvoiceValuePublic {
                    digest: invoice::sha256(&private.encoded),
                    declared_value_minor: w.declared.value_minor,
                    currency: w.declared.currency.clone(),
                };
                Ok(Statement::InvoiceValue {
                    class,
                    public,
                    private,
                })
            }
            Witness::DeclarationMatch(w) => {
                let class = match w.size_class {
                    Some(c) => c,
                    None => SizeClass::smallest_for(w.invoice.lines.len()).ok_or_else(|| {
                        malformed(invoice::InvoiceError::TooManyLinesForAnyClass(
                            w.invoice.lines.len(),
                        ))
                    })?,
                };
                let unsatisfied = |check: String| ProverError::Unsatisfied {
                    statement: declaration_match::ID,
                    check,
                };
                // The items alone first: their errors name what is wrong with the declaration.
                declaration_match::check_items(class, &w.declared.items)
                    .map_err(|e| unsatisfied(e.to_string()))?;
                let private = DeclarationMatchPrivate::new(&w.invoice, class)
                    .map_err(|e| unsatisfied(e.to_string()))?;
                let public = DeclarationMatchPublic {
                    digest: invoice::sha256(&private.encoded),
                    currency: w.declared.currency.clone(),
                    items: w.declared.items.clone(),
                };
                Ok(Statement::DeclarationMatch {
                    class,
                    public,
                    private,
                })
            }
        }
    }
}

impl Statement {
    /// The circuit that proves this statement.
    pub fn circuit(&self) -> CircuitId {
        match self {
            Statement::AeoStatus { .. } => CircuitId::AeoStatusV1,
            Statement::InvoiceValue { class, .. } => CircuitId::InvoiceValueV1(*class),
            Statement::DeclarationMatch { class, .. } => CircuitId::DeclarationMatchV1(*class),
        }
    }

    /// Runs the native check, naming the check that failed.
    pub fn check(&self) -> Result<(), ProverError> {
        match self {
            Statement::AeoStatus { public, private } => {
                aeo_status::check(public, private).map_err(|e| ProverError::Unsatisfied {
                    statement: aeo_status::ID,
                    check: e.to_string(),
                })
            }
            Statement::InvoiceValue {
                class,
                public,
                private,
            } => invoice_value::check(*class, public, private).map_err(|e| {
                ProverError::Unsatisfied {
                    statement: invoice_value::ID,
                    check: e.to_string(),
                }
            }),
            Statement::DeclarationMatch {
                class,
                public,
                private,
            } => declaration_match::check(*class, public, private).map_err(|e| {
                ProverError::Unsatisfied {
                    statement: declaration_match::ID,
                    check: e.to_string(),
                }
            }),
        }
    }
}

/// The example witness of a statement on the fixed example day (see [`example_on`]); test vectors
/// rest on it. Its holder secret is public: never use it for a real holder.
pub fn example(statement: &str) -> Result<serde_json::Value, ProverError> {
    example_on(statement, registry::example_day())
}

/// The example witness of a statement stated on `day` (what `zkcustoms example` prints, for
/// today unless told otherwise), built from the example registry on that day and the example
/// invoice. Its holder secret is public: never use it for a real holder.
pub fn example_on(statement: &str, day: Day) -> Result<serde_json::Value, ProverError> {
    let value = match statement {
        aeo_status::ID => {
            let (public, private) = registry::example_aeo_status_on(day).map_err(|e| {
                malformed(format!(
                    "the example's certificates on {day} would fall outside the calendar: {e}"
                ))
            })?;
            serde_json::to_value(AeoStatusWitness {
                statement: aeo_status::ID.into(),
                as_of: public.as_of,
                required_tier: public.required_tier,
                scope: public.scope,
                holder_secret: private.holder_secret,
                authority: public.authority,
                membership: Membership {
                    registry_root: public.registry_root,
                    certificate: private.certificate,
                    path: private.path,
                },
            })
        }
        invoice_value::ID => {
            let invoice = invoice::example_invoice();
            serde_json::to_value(InvoiceValueWitness {
                statement: invoice_value::ID.into(),
                size_class: None,
                declared: Declared {
                    value_minor: invoice.total_minor,
                    currency: invoice.currency.clone(),
                },
                invoice,
            })
        }
        declaration_match::ID => {
            // The example invoice's two 850440 lines make one item.
            let invoice = invoice::example_invoice();
            serde_json::to_value(DeclarationMatchWitness {
                statement: declaration_match::ID.into(),
                size_class: None,
                declared: DeclaredItems {
                    currency: invoice.currency.clone(),
                    items: declaration_match::group_lines(&invoice)
                        .expect("the example invoice groups"),
                },
                invoice,
            })
        }
        other => {
            return Err(malformed(format!(
                "unknown statement {other:?}: expected one of {:?}",
                crate::STATEMENTS
            )))
        }
    };
    Ok(value.expect("example witness serializes"))
}

/// The example aeo-status statement of [`example`] in another scope (a ledger's scope for a
/// consignment, say): the same certificate, its holder's nullifier for that scope.
pub fn example_aeo_status_in(scope: &str) -> Result<Statement, ProverError> {
    let mut w = example(aeo_status::ID)?;
    w["scope"] = serde_json::Value::from(scope);
    Witness::from_json(aeo_status::ID, &w.to_string())?.statement()
}

/// The example statement of a circuit: [`example`]'s witness, in the circuit's size class.
pub fn example_statement(circuit: CircuitId) -> Result<Statement, ProverError> {
    let mut w = example(circuit.statement())?;
    if let Some(class) = circuit.size_class() {
        w["size_class"] = serde_json::Value::from(class.lines());
    }
    Witness::from_json(circuit.statement(), &w.to_string())?.statement()
}

#[cfg(test)]
mod tests {
    use super::without_values;

    /// What was sent is left out of serde's messages, however it is written.
    #[test]
    fn messages_lose_the_value_sent() {
        let cases = [
            (
                r#"invalid type: string "12 at line 3", expected u64"#,
                "invalid type, expected u64",
            ),
            (
                r#"invalid value: string "x, expected SECRET", expected a date"#,
                "invalid value, expected a date",
            ),
            (
                "unknown field `SECRET`, expected one of `tier`, `authority`",
                "unknown field, expected one of `tier`, `authority`",
            ),
            (
                "invalid length 7, expected 32 siblings",
                "invalid length, expected 32 siblings",
            ),
            ("missing field `tier`", "missing field `tier`"),
        ];
        for (message, shown) in cases {
            assert_eq!(without_values(message), shown);
        }
    }
}
