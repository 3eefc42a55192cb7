//! Memory checks made before large allocations, so an absurd size in a configuration is an
//! error that names the size and the memory it needs instead of an allocation abort.

use anyhow::{Result, bail};

/// The machine's physical memory in bytes (`MemTotal` of `/proc/meminfo`), if known.
pub fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The limit used where the physical memory is unknown: 1 TiB.
const UNKNOWN_LIMIT: u64 = 1 << 40;

/// `n` as a human-readable byte count (`12.0 GiB`).
pub fn human(n: u128) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The product of `factors`, or `None` on overflow.
pub fn product(factors: &[usize]) -> Option<usize> {
    factors.iter().try_fold(1usize, |a, &b| a.checked_mul(b))
}

/// Checks that `bytes` (`None`: more than a `usize` can count) fit in this machine's physical
/// memory; the error names `what` (e.g. "model.layers = [784, 100000000000, 10]") and the
/// memory it would need.
pub fn check(what: &str, bytes: Option<u128>) -> Result<()> {
    let limit = physical_memory().unwrap_or(UNKNOWN_LIMIT);
    match bytes {
        Some(b) if b <= limit as u128 => Ok(()),
        Some(b) => bail!(
            "{what} needs about {} of memory, more than this machine's {}",
            human(b),
            human(limit as u128)
        ),
        None => bail!("{what} is too large: its size overflows a 64-bit count"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_beyond_memory_or_overflow_are_named() {
        assert!(check("small", Some(1 << 20)).is_ok());
        let e = check("layer of 10^11 units", Some(1u128 << 80)).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("layer of 10^11 units") && msg.contains("EiB"),
            "{msg}"
        );
        let e = check("x", None).unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
        assert_eq!(product(&[usize::MAX, 2]), None);
        assert_eq!(human(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
