//! Identity: which device and which user stood behind an address at a given time.
