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
//! that ends early or fails its CRC, a header declaring more than [`MAX_ELEMENTS`]
//! elements. Header dimensions never drive an allocation larger than the data actually
//! holds (the file length for raw files, what the stream actually decompresses to for
//! gzip files, whose decompression also stops one byte past what the header declares).

use crate::data::error::DecodeError;
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
/// Largest number of elements (bytes of payload) a header may declare: 2^30, about twice
/// the largest IDX file in use (EMNIST ByClass training images, 697932 × 28 × 28 ≈ 547 MB).
/// A larger claim is refused as a corrupt header before anything is allocated or
/// decompressed.
pub const MAX_ELEMENTS: usize = 1 << 30;
/// Compression ratio up to which the payload a gzip header declares is preallocated
/// (MNIST-style files compress by 2–5×); a larger claim grows the buffer with the data
/// actually decompressed instead.
const PREALLOC_RATIO: usize = 8;

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
    Ok(parse_idx(path, &bytes)?)
}

/// Decodes the contents of one IDX file already read into memory; `path` is used only in
/// error messages. Gzip input (first bytes `1f 8b`) is decompressed on the fly.
///
/// Memory: a raw input allocates at most its own length; a gzip input at most about twice
/// what its stream actually decompresses to, never more than twice what the header
/// declares, and a header declaring more than [`MAX_ELEMENTS`] is refused before any
/// payload is read.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<IdxArray, DecodeError> {
    if is_gzip(bytes) {
        parse_gzip(path, bytes)
    } else {
        parse_raw(path, bytes)
    }
}

/// Validates the 4-byte magic number and returns the number of dimensions it announces.
fn check_magic(path: &Path, magic: [u8; 4]) -> Result<usize, DecodeError> {
    let m = u32::from_be_bytes(magic);
    if m != MAGIC_LABELS && m != MAGIC_IMAGES {
        return Err(DecodeError::malformed(
            path,
            format!(
                "bad IDX magic number 0x{m:08x}: expected 0x{MAGIC_LABELS:08x} (u8 labels) or \
                 0x{MAGIC_IMAGES:08x} (u8 images); the file is not an MNIST-style IDX file"
            ),
        ));
    }
    Ok(magic[3] as usize)
}

/// Parses the big-endian dimension words and returns the dims and their product, which is
/// at most [`MAX_ELEMENTS`].
fn check_dims(path: &Path, raw: &[u8]) -> Result<(Vec<usize>, usize), DecodeError> {
    let dims: Vec<usize> = raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    if let Some(k) = dims.iter().position(|&d| d == 0) {
        return Err(DecodeError::malformed(
            path,
            format!("IDX dimension {k} is 0 (dims {dims:?}): the header declares no data"),
        ));
    }
    let total = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            DecodeError::malformed(
                path,
                format!("IDX dimensions {dims:?} overflow the address space"),
            )
        })?;
    if total > MAX_ELEMENTS {
        return Err(DecodeError::malformed(
            path,
            format!(
                "IDX dimensions {dims:?} declare {total} elements, more than the limit of \
                 {MAX_ELEMENTS}"
            ),
        ));
    }
    Ok((dims, total))
}

fn parse_raw(path: &Path, bytes: &[u8]) -> Result<IdxArray, DecodeError> {
    let Some(magic) = bytes.first_chunk::<4>() else {
        return Err(DecodeError::truncated(
            path,
            format!(
                "{} bytes, too short for the 4-byte IDX magic number",
                bytes.len()
            ),
        ));
    };
    let ndim = check_magic(path, *magic)?;
    let header_len = 4 + 4 * ndim;
    if bytes.len() < header_len {
        return Err(DecodeError::truncated(
            path,
            format!(
                "{} bytes, too short for the {header_len}-byte IDX header",
                bytes.len()
            ),
        ));
    }
    let (dims, expected) = check_dims(path, &bytes[4..header_len])?;
    let payload = &bytes[header_len..];
    if payload.len() < expected {
        return Err(DecodeError::truncated(
            path,
            format!(
                "the header declares dims {dims:?}, i.e. {expected} payload bytes, \
                 but the file holds only {} payload bytes",
                payload.len()
            ),
        ));
    }
    if payload.len() > expected {
        return Err(DecodeError::malformed(
            path,
            format!(
                "{} unexpected bytes after the payload: the header declares dims {dims:?}, \
                 i.e. {expected} payload bytes, but the file holds {}",
                payload.len() - expected,
                payload.len()
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        data: payload.to_vec(),
    })
}

/// Maps a read error of the gzip decoder to an error naming the file: an early end of the
/// stream is a truncation, anything else (bad deflate data, CRC or length mismatch) is
/// corruption.
fn gzip_error(path: &Path, what: &str, e: std::io::Error) -> DecodeError {
    if e.kind() == ErrorKind::UnexpectedEof {
        DecodeError::truncated(
            path,
            format!("the gzip stream ends early while reading the {what}"),
        )
    } else {
        DecodeError::malformed(
            path,
            format!("bad gzip stream while reading the {what}: {e}"),
        )
    }
}

fn parse_gzip(path: &Path, bytes: &[u8]) -> Result<IdxArray, DecodeError> {
    let mut dec = MultiGzDecoder::new(bytes);
    let mut magic = [0u8; 4];
    dec.read_exact(&mut magic)
        .map_err(|e| gzip_error(path, "IDX magic number", e))?;
    let ndim = check_magic(path, magic)?;
    let mut dim_bytes = vec![0u8; 4 * ndim];
    dec.read_exact(&mut dim_bytes)
        .map_err(|e| gzip_error(path, "IDX header", e))?;
    let (dims, expected) = check_dims(path, &dim_bytes)?;
    // Preallocate what the header declares only while that is plausible for the compressed
    // length; beyond it the buffer grows with the data actually decompressed.
    let cap = expected.min(bytes.len().saturating_mul(PREALLOC_RATIO));
    let mut data = Vec::with_capacity(cap);
    // Reading one byte past the payload detects trailing data, and the decoder never
    // decompresses more than that; reading to the end of the stream makes it check the
    // gzip CRC-32 and length trailer.
    dec.take((expected as u64).saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| gzip_error(path, "IDX payload", e))?;
    if data.len() < expected {
        return Err(DecodeError::truncated(
            path,
            format!(
                "the header declares dims {dims:?}, i.e. {expected} payload bytes, \
                 but the gunzipped stream holds only {} payload bytes",
                data.len()
            ),
        ));
    }
    if data.len() > expected {
        return Err(DecodeError::malformed(
            path,
            format!(
                "unexpected data after the payload: the header declares dims {dims:?}, \
                 i.e. {expected} payload bytes, but the gunzipped stream holds more"
            ),
        ));
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
/// [`load`](fn@crate::data::load) for that.
pub fn load_idx_pair(images_path: &Path, labels_path: &Path, classes: usize) -> Result<ImageSet> {
    let (images, labels) = rayon::join(|| read_idx(images_path), || read_idx(labels_path));
    image_set_from_idx(images_path, images?, labels_path, labels?, classes)
}
