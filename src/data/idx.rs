//! Reader for the IDX format of the MNIST distribution (and of Fashion-MNIST, which reuses it).
//!
//! Format (Y. LeCun, "THE MNIST DATABASE of handwritten digits", section "FILE FORMATS FOR
//! THE MNIST DATABASE"): a 4-byte big-endian magic number `0x0000TTNN`, where `TT` is the
//! element type (`0x08` = unsigned byte) and `NN` the number of dimensions, then `NN`
//! big-endian `u32` dimension sizes, then the elements in row-major (C) order. This reader
//! accepts exactly the two kinds the MNIST-style data sets use:
//!
//! | magic | meaning | dims |
//! | --- | --- | --- |
//! | `0x00000801` | `u8` labels | `[n]` |
//! | `0x00000803` | `u8` images | `[n, rows, cols]` |
//!
//! Files may be stored raw or gzip-compressed (RFC 1952); the two are told apart by the gzip
//! magic bytes `1f 8b`, not by the file name (an IDX file always starts with `00 00`).
//! Every check returns an error naming the file: a bad magic number, a zero or overflowing
//! dimension, a payload shorter or longer than the product of the dimensions, a gzip stream
//! that ends early or fails its CRC. Header dimensions never drive an allocation larger than
//! the data can actually hold (the file length for raw files, the deflate worst-case
//! expansion of the compressed length for gzip files).

use crate::data::image_set::ImageSet;
use anyhow::{Context, Result, bail};
use flate2::read::MultiGzDecoder;
use std::io::{ErrorKind, Read};
use std::path::Path;

/// Magic number of an IDX file of unsigned-byte labels (1 dimension: `[n]`).
pub const MAGIC_LABELS: u32 = 0x0000_0801;
/// Magic number of an IDX file of unsigned-byte images (3 dimensions: `[n, rows, cols]`).
pub const MAGIC_IMAGES: u32 = 0x0000_0803;
/// The two bytes that open every gzip member (RFC 1952 §2.3.1: ID1, ID2).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Largest possible expansion ratio of a deflate stream (RFC 1951), used to cap the
/// preallocation that a (possibly forged) gzip IDX header can request.
const DEFLATE_MAX_RATIO: usize = 1032;

/// A decoded IDX array of unsigned bytes: its dimensions and its elements in row-major order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimension sizes as stored in the header (`[n]` for labels, `[n, rows, cols]` for images).
    pub dims: Vec<usize>,
    /// The elements, row-major; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

impl IdxArray {
    /// The IDX magic number of this array (`0x0000_0800 | dims.len()`).
    pub fn magic(&self) -> u32 {
        0x0000_0800 | self.dims.len() as u32
    }

    /// The header bytes (magic plus big-endian dimensions) that precede the data in an
    /// uncompressed IDX file holding this array.
    ///
    /// Dimensions larger than `u32::MAX` cannot be represented; the parser never produces
    /// them, and they are truncated here.
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(4 + 4 * self.dims.len());
        h.extend_from_slice(&self.magic().to_be_bytes());
        for &d in &self.dims {
            h.extend_from_slice(&(d as u32).to_be_bytes());
        }
        h
    }

    /// The complete uncompressed IDX file (header then data).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.header_bytes();
        out.extend_from_slice(&self.data);
        out
    }
}

/// Whether `bytes` start with the gzip magic bytes `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Reads and decodes one IDX file, raw or gzip-compressed (detected from its first bytes).
///
/// Errors name `path` and the problem: unreadable file, bad magic, bad dimensions,
/// truncated or oversized payload, truncated or corrupt gzip stream.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_idx(path, &bytes)
}

/// Decodes the contents of one IDX file already read into memory; `path` is used only in
/// error messages. Gzip input (first bytes `1f 8b`) is decompressed on the fly.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<IdxArray> {
    if is_gzip(bytes) {
        parse_gzip(path, bytes)
    } else {
        parse_raw(path, bytes)
    }
}

/// Validates the 4-byte magic number and returns the number of dimensions it announces.
fn check_magic(path: &Path, magic: [u8; 4]) -> Result<usize> {
    let m = u32::from_be_bytes(magic);
    if m != MAGIC_LABELS && m != MAGIC_IMAGES {
        bail!(
            "{}: bad IDX magic number 0x{m:08x}: expected 0x{MAGIC_LABELS:08x} (u8 labels) or \
             0x{MAGIC_IMAGES:08x} (u8 images); the file is not an MNIST-style IDX file or is corrupt",
            path.display()
        );
    }
    Ok(magic[3] as usize)
}

/// Parses the big-endian dimension words and returns the dims and their product.
fn check_dims(path: &Path, raw: &[u8]) -> Result<(Vec<usize>, usize)> {
    let dims: Vec<usize> = raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    if let Some(k) = dims.iter().position(|&d| d == 0) {
        bail!(
            "{}: IDX dimension {k} is 0 (dims {dims:?}): the file holds no data or is corrupt",
            path.display()
        );
    }
    let total = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .with_context(|| {
            format!(
                "{}: IDX dimensions {dims:?} overflow the address space: corrupt header",
                path.display()
            )
        })?;
    Ok((dims, total))
}

fn parse_raw(path: &Path, bytes: &[u8]) -> Result<IdxArray> {
    let p = path.display();
    let Some(magic) = bytes.first_chunk::<4>() else {
        bail!(
            "{p}: truncated: {} bytes, too short for the 4-byte IDX magic number",
            bytes.len()
        );
    };
    let ndim = check_magic(path, *magic)?;
    let header_len = 4 + 4 * ndim;
    if bytes.len() < header_len {
        bail!(
            "{p}: truncated: {} bytes, too short for the {header_len}-byte IDX header",
            bytes.len()
        );
    }
    let (dims, expected) = check_dims(path, &bytes[4..header_len])?;
    let payload = &bytes[header_len..];
    if payload.len() < expected {
        bail!(
            "{p}: truncated: the header declares dims {dims:?}, i.e. {expected} payload bytes, \
             but the file holds only {} payload bytes",
            payload.len()
        );
    }
    if payload.len() > expected {
        bail!(
            "{p}: {} unexpected bytes after the payload: the header declares dims {dims:?}, \
             i.e. {expected} payload bytes, but the file holds {}",
            payload.len() - expected,
            payload.len()
        );
    }
    Ok(IdxArray {
        dims,
        data: payload.to_vec(),
    })
}

/// Maps a read error of the gzip decoder to a message naming the file.
fn gzip_error(path: &Path, what: &str, e: std::io::Error) -> anyhow::Error {
    let cause = if e.kind() == ErrorKind::UnexpectedEof {
        "the gzip stream ends early".to_string()
    } else {
        e.to_string()
    };
    anyhow::anyhow!(
        "{}: gzip stream is truncated or corrupt while reading the {what} ({cause})",
        path.display()
    )
}

fn parse_gzip(path: &Path, bytes: &[u8]) -> Result<IdxArray> {
    let p = path.display();
    let mut dec = MultiGzDecoder::new(bytes);
    let mut magic = [0u8; 4];
    dec.read_exact(&mut magic)
        .map_err(|e| gzip_error(path, "IDX magic number", e))?;
    let ndim = check_magic(path, magic)?;
    let mut dim_bytes = vec![0u8; 4 * ndim];
    dec.read_exact(&mut dim_bytes)
        .map_err(|e| gzip_error(path, "IDX header", e))?;
    let (dims, expected) = check_dims(path, &dim_bytes)?;
    // Never preallocate more than the compressed stream could possibly expand to.
    let cap = expected.min(bytes.len().saturating_mul(DEFLATE_MAX_RATIO));
    let mut data = Vec::with_capacity(cap);
    // Reading one byte past the payload detects trailing data; reading to the end of the
    // stream makes the decoder check the gzip CRC-32 and length trailer.
    dec.take((expected as u64).saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| gzip_error(path, "IDX payload", e))?;
    if data.len() < expected {
        bail!(
            "{p}: truncated: the header declares dims {dims:?}, i.e. {expected} payload bytes, \
             but the gunzipped stream holds only {} payload bytes",
            data.len()
        );
    }
    if data.len() > expected {
        bail!(
            "{p}: unexpected data after the payload: the header declares dims {dims:?}, \
             i.e. {expected} payload bytes, but the gunzipped stream holds more"
        );
    }
    Ok(IdxArray { dims, data })
}

/// Combines an IDX image array (`[n, rows, cols]`) and an IDX label array (`[n]`) into a
/// single-channel [`ImageSet`] with `classes` classes.
///
/// The paths are used only in error messages: a wrong kind of file (labels given as images
/// or vice versa), a count mismatch between the two files, or a label `>= classes`.
pub fn image_set_from_idx(
    images_path: &Path,
    images: IdxArray,
    labels_path: &Path,
    labels: IdxArray,
    classes: usize,
) -> Result<ImageSet> {
    if images.dims.len() != 3 {
        bail!(
            "{}: expected an IDX image file (magic 0x{MAGIC_IMAGES:08x}, dims [n, rows, cols]) \
             but found magic 0x{:08x} with dims {:?}",
            images_path.display(),
            images.magic(),
            images.dims
        );
    }
    if labels.dims.len() != 1 {
        bail!(
            "{}: expected an IDX label file (magic 0x{MAGIC_LABELS:08x}, dims [n]) \
             but found magic 0x{:08x} with dims {:?}",
            labels_path.display(),
            labels.magic(),
            labels.dims
        );
    }
    let (n, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
    if labels.dims[0] != n {
        bail!(
            "image/label count mismatch: {} holds {n} images but {} holds {} labels",
            images_path.display(),
            labels_path.display(),
            labels.dims[0]
        );
    }
    if let Some((i, &l)) = labels
        .data
        .iter()
        .enumerate()
        .find(|&(_, &l)| l as usize >= classes)
    {
        bail!(
            "{}: label {l} of sample {i} is out of range: labels must be < {classes}",
            labels_path.display()
        );
    }
    ImageSet::new(images.data, labels.data, 1, rows, cols, classes)
}

/// Reads an IDX image file and its IDX label file (each raw or gzipped) into an
/// [`ImageSet`] with `classes` classes, with all checks of [`read_idx`] and
/// [`image_set_from_idx`]. No checksum is verified here; see
/// [`load`](crate::data::load) for that.
pub fn load_idx_pair(images_path: &Path, labels_path: &Path, classes: usize) -> Result<ImageSet> {
    let (images, labels) = rayon::join(|| read_idx(images_path), || read_idx(labels_path));
    image_set_from_idx(images_path, images?, labels_path, labels?, classes)
}
