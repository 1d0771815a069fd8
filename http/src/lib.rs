//! zkcustoms HTTP toolkit: what every zkcustoms HTTP service shares.
