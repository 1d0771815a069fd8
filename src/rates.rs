//! The request rates of the HTTP services' command lines.

/// Parses a rate in requests a second: a positive, finite number (a rate of zero would lock every
/// client out after its first burst).
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of requests a second"))?;
    if rate.is_finite() && rate > 0.0 && rate <= 1e9 {
        Ok(rate)
    } else {
        Err(format!(
            "a rate must be a positive number of requests a second (at most 1e9), not {s}"
        ))
    }
}

/// The rates of a service: `authenticated` requests a second for each token (bursts of twice as
/// many), `anonymous` for each address without one (bursts of three times as many).
pub fn rates(authenticated: f64, anonymous: f64) -> zkcustoms_node::Rates {
    zkcustoms_node::Rates {
        authenticated: zkcustoms_node::Rate::new(authenticated, 2.0 * authenticated),
        anonymous: zkcustoms_node::Rate::new(anonymous, 3.0 * anonymous),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rates_are_positive_finite_numbers() {
        assert_eq!(parse_rate("20"), Ok(20.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        for bad in ["0", "-1", "NaN", "inf", "1e10", "fast", ""] {
            let e = parse_rate(bad).unwrap_err();
            assert!(e.contains("requests a second"), "{bad}: {e}");
        }
    }
}
