//! The forms: verifying a proof, and signing in.

use super::*;

pub(super) fn verify_inputs(keys: &VerifierKeys) -> Markup {
    html! {
        form method="post" action="/verify" enctype="multipart/form-data" {
            fieldset {
                legend { "Proof envelope" }
                div.form-row {
                    label for="envelope" { "Paste the envelope (JSON)" }
                    textarea id="envelope" name="envelope" rows="10" spellcheck="false"
                        aria-describedby="envelope-hint" {}
                    p.hint id="envelope-hint" {
                        "The file that " code { "zkcustoms prove" } " writes, format zkcustoms-proof/v1."
                    }
                }
                div.form-row {
                    label for="file" { "or choose its file" }
                    input type="file" id="file" name="file" accept=".json,application/json";
                }
                button type="submit" { "Verify" }
            }
        }
        p.hint {
            "Verified with this ledger's verifying keys: "
            (keys.iter().map(|k| k.circuit().to_string()).collect::<Vec<_>>().join(", "))
            ". Nothing is stored."
        }
    }
}

/// The verify form.
pub(crate) fn verify_form(keys: &VerifierKeys) -> Markup {
    html! {
        h1 { "Verify a proof" }
        p { "Check a proof envelope against the verifying keys this ledger accepts, and read what it proves." }
        (verify_inputs(keys))
    }
}

/// The verify form again, with why the envelope could not be read.
pub(crate) fn verify_refused(
    title: &str,
    message: &str,
    status: StatusCode,
    keys: &VerifierKeys,
) -> Markup {
    html! {
        h1 { "Verify a proof" }
        div.notice.bad role="alert" {
            h2 { (title) }
            p { (message) }
            p.hint { "HTTP status " (status.as_u16()) }
        }
        (verify_inputs(keys))
    }
}

/// The verdict on an envelope.
pub(crate) fn verdict(v: &Verdict) -> Markup {
    let env = &v.envelope;
    html! {
        h1 { "Verification result" }
        @match &v.result {
            Ok(()) => {
                div.notice.good role="status" {
                    h2.verdict-good { "Valid proof" }
                    p { "This is a valid proof that " (zkcustoms_verifier::describe(env)) "." }
                }
            }
            Err(e) => {
                div.notice.bad role="alert" {
                    h2.verdict-bad { "Not valid" }
                    p { "The envelope is well-formed, but " (verify_error_words(e)) "." }
                    p { "It would claim that " (zkcustoms_verifier::describe(env)) "." }
                }
            }
        }
        @if let Some(root) = &v.root {
            h2 { "On this ledger" }
            p {
                @match root {
                    Some(r) => {
                        "The registry root is root #" (r.sequence) " of its authority, published in "
                        a href={"/blocks/" (r.height)} { "block " (r.height) }
                        @if r.current { ", and it is the current one." } @else { "; a newer root has been published since." }
                    }
                    None => { "The registry root was not published on this ledger: the ledger would refuse this proof." }
                }
            }
            @if let (Some(_), Some(r)) = (root, &v.refused_now) {
                p.refused-now { "The ledger would refuse this proof now: " (r.message) "." }
            }
        }
        h2 { "Details" }
        (proof_details(env))
        p { a href="/verify" { "Verify another proof" } }
    }
}

/// The sign-in form.
pub(crate) fn signin(next: &str, problem: Option<&str>) -> Markup {
    html! {
        h1 { "Sign in" }
        @if let Some(p) = problem {
            div.notice.bad role="alert" { p { (p) } }
        }
        p {
            "Records of consignments are shown to customs officers and auditors. Sign in with the \
             token of your explorer account on this node (its operator gives each person one); \
             the sign-in lasts 8 hours or until you sign out."
        }
        form method="post" action="/signin" {
            input type="hidden" name="next" value=(next);
            div.form-row {
                label for="token" { "Account token" }
                input type="password" id="token" name="token" required autocomplete="current-password";
            }
            button type="submit" { "Sign in" }
        }
    }
}
