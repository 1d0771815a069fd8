//! Open files: the API's connections, the peer-to-peer sockets, the consensus journals and the
//! databases' files all count against one per-process limit. A node that ran out of them would
//! fail its database writes, so the API's share is bounded by the limit in force.

/// The most the node raises its limit on open files to.
pub const MOST_OPEN_FILES: u64 = 1 << 16;

/// Raises the soft limit on open files towards the hard limit (at most [`MOST_OPEN_FILES`]), as
/// servers commonly do, and answers the limit then in force (`None`: unlimited, or a platform
/// without such a limit). Where the system caps it lower than the hard limit says (macOS: 10,240
/// files), the system's cap is tried next.
#[cfg(unix)]
pub fn raise_open_files() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current?;
    let hard = limit.maximum.unwrap_or(u64::MAX);
    for want in [hard.min(MOST_OPEN_FILES), hard.min(10_240)] {
        if want <= soft {
            break;
        }
        let raised = Rlimit {
            current: Some(want),
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return Some(want);
        }
    }
    Some(soft)
}

/// Raises the soft limit on open files (a platform without one: nothing to raise).
#[cfg(not(unix))]
pub fn raise_open_files() -> Option<u64> {
    None
}

/// The API connections served at once under a limit of `open_files`: the default (1,024), but
/// never more than a quarter of the limit (at least 16), so that the databases, the journals and
/// the peers keep the rest.
pub fn api_connections(open_files: Option<u64>) -> usize {
    let default = zkcustoms_http::ServeLimits::default().max_connections;
    match open_files {
        None => default,
        Some(n) => default.min(usize::try_from(n / 4).unwrap_or(usize::MAX).max(16)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_gets_a_quarter_of_a_low_limit() {
        assert_eq!(api_connections(None), 1024);
        assert_eq!(api_connections(Some(MOST_OPEN_FILES)), 1024);
        assert_eq!(api_connections(Some(4096)), 1024);
        assert_eq!(api_connections(Some(1024)), 256);
        assert_eq!(api_connections(Some(20)), 16);
    }

    #[cfg(unix)]
    #[test]
    fn the_limit_is_raised_towards_the_hard_limit() {
        use rustix::process::{getrlimit, Resource};
        let before = getrlimit(Resource::Nofile);
        let now = raise_open_files();
        let after = getrlimit(Resource::Nofile);
        assert_eq!(now, after.current);
        assert_eq!(after.maximum, before.maximum);
        let want = before.maximum.unwrap_or(u64::MAX).min(MOST_OPEN_FILES);
        if let Some(soft) = before.current {
            assert!(after.current.unwrap() >= soft.min(want));
        }
    }
}
