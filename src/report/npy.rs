//! A minimal writer of NumPy `.npy` files (format version 1.0) for 2-D `f32`/`f64` arrays.
//!
//! Layout (NumPy's `numpy.lib.format` specification, version 1.0): the magic `\x93NUMPY`,
//! the version bytes `1, 0`, a little-endian `u16` header length, then an ASCII Python-dict
//! header `{'descr': '<f8', 'fortran_order': False, 'shape': (rows, cols), }` padded with
//! spaces and terminated by `\n` so that the data starts at a multiple of 64 bytes, then the
//! values in C (row-major) order, little-endian. Load with `numpy.load(path)`.

use super::json::write_atomic;
use anyhow::{Result, ensure};
use std::path::Path;

/// An element type the writer supports.
pub trait NpyElem: Copy {
    /// The NumPy type descriptor (`<f4`, `<f8`).
    const DESCR: &'static str;
    /// Appends the little-endian bytes of `self`.
    fn push_le(self, out: &mut Vec<u8>);
}

impl NpyElem for f32 {
    const DESCR: &'static str = "<f4";
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl NpyElem for f64 {
    const DESCR: &'static str = "<f8";
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// The bytes of a version-1.0 `.npy` file holding the row-major `rows × cols` array `data`.
pub fn npy_bytes<T: NpyElem>(data: &[T], rows: usize, cols: usize) -> Result<Vec<u8>> {
    ensure!(
        rows.checked_mul(cols) == Some(data.len()),
        "npy: {} values do not form a {rows} × {cols} array",
        data.len()
    );
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}",
        T::DESCR
    );
    // magic (6) + version (2) + header length (2) + dict + padding + '\n' ≡ 0 (mod 64).
    let unpadded = 10 + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let header_len = total - 10;
    ensure!(
        header_len <= u16::MAX as usize,
        "npy: header too long for format 1.0"
    );
    let mut out = Vec::with_capacity(total + std::mem::size_of_val(data));
    out.extend_from_slice(b"\x93NUMPY");
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    for &v in data {
        v.push_le(&mut out);
    }
    Ok(out)
}

/// Atomically writes the row-major `rows × cols` array `data` as a `.npy` file (v1.0).
pub fn write_npy<T: NpyElem>(path: &Path, data: &[T], rows: usize, cols: usize) -> Result<()> {
    write_atomic(path, &npy_bytes(data, rows, cols)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_valid_npy_1_0() {
        let data = [1.0f64, -2.5, 3.0, 4.0, 5.0, 6.0];
        let b = npy_bytes(&data, 2, 3).unwrap();
        assert_eq!(&b[..6], b"\x93NUMPY");
        assert_eq!(&b[6..8], &[1, 0]);
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hl) % 64, 0, "data must start 64-byte aligned");
        let header = std::str::from_utf8(&b[10..10 + hl]).unwrap();
        assert!(header.ends_with('\n'));
        assert!(header.is_ascii());
        assert_eq!(
            header.trim_end(),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
        );
        let body = &b[10 + hl..];
        assert_eq!(body.len(), 6 * 8);
        let back: Vec<f64> = body
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(back, data);

        let b = npy_bytes(&[0.5f32; 4], 4, 1).unwrap();
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        let header = std::str::from_utf8(&b[10..10 + hl]).unwrap();
        assert!(header.contains("'descr': '<f4'") && header.contains("(4, 1)"));
        assert_eq!(b.len(), 10 + hl + 16);
        assert!(npy_bytes(&[1.0f32; 3], 2, 2).is_err());
    }
}
