//! Published checksums and the descriptions of the files they belong to.
//!
//! A data set split is a list of [`ExpectedFile`]s; each lists the [`FileForm`]s the file
//! may take on disk (for MNIST-style data the `.gz` distribution file and its uncompressed
//! content), each with its exact size and published [`Checksum`]. The tables themselves live
//! with their data sets (`mnist`, `fashion_mnist`, `cifar`).

use sha2::{Digest, Sha256};

/// A published checksum: algorithm and lowercase hex digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// SHA-256 (FIPS 180-4), 64 hex digits.
    Sha256(&'static str),
    /// MD5 (RFC 1321), 32 hex digits; used only where no SHA-256 is published.
    Md5(&'static str),
}

impl Checksum {
    /// The algorithm's name: `"sha256"` or `"md5"`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Checksum::Sha256(_) => "sha256",
            Checksum::Md5(_) => "md5",
        }
    }

    /// The expected lowercase hex digest.
    pub fn expected(&self) -> &'static str {
        match self {
            Checksum::Sha256(h) | Checksum::Md5(h) => h,
        }
    }

    /// The lowercase hex digest of `bytes` under this checksum's algorithm.
    pub fn digest_of(&self, bytes: &[u8]) -> String {
        match self {
            Checksum::Sha256(_) => sha256_hex(bytes),
            Checksum::Md5(_) => md5_hex(bytes),
        }
    }

    /// The lowercase hex digest of the concatenation of `parts`, under this checksum's
    /// algorithm (without building the concatenation).
    pub fn digest_of_parts(&self, parts: &[&[u8]]) -> String {
        fn digest<D: Digest>(parts: &[&[u8]]) -> String {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            hex(&h.finalize())
        }
        match self {
            Checksum::Sha256(_) => digest::<Sha256>(parts),
            Checksum::Md5(_) => digest::<md5::Md5>(parts),
        }
    }
}

/// One accepted form of an expected file: its name, exact size and published checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileForm {
    /// File name inside the data set's subdirectory
    /// ([`Dataset::subdir`](crate::data::Dataset::subdir)).
    pub name: &'static str,
    /// Exact size in bytes of the published file.
    pub size: u64,
    /// Whether this form is gzip-compressed.
    pub gzip: bool,
    /// Published checksum of the file's bytes.
    pub checksum: Checksum,
}

impl FileForm {
    /// A gzip-compressed form with a published SHA-256.
    pub const fn gz_sha256(name: &'static str, size: u64, sha256: &'static str) -> Self {
        FileForm {
            name,
            size,
            gzip: true,
            checksum: Checksum::Sha256(sha256),
        }
    }

    /// An uncompressed form with a published SHA-256.
    pub const fn raw_sha256(name: &'static str, size: u64, sha256: &'static str) -> Self {
        FileForm {
            name,
            size,
            gzip: false,
            checksum: Checksum::Sha256(sha256),
        }
    }
}

/// An expected file of a data set split, with the forms it may take (tried in order:
/// the `.gz` distribution file first, then the uncompressed file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedFile {
    /// Accepted forms, in the order [`load`](fn@crate::data::load) and
    /// [`verify`](fn@crate::data::verify) look for them.
    pub forms: &'static [FileForm],
}

impl ExpectedFile {
    /// The uncompressed form, if one is listed (its checksum verifies gunzipped content).
    pub fn raw_form(&self) -> Option<&'static FileForm> {
        self.forms.iter().find(|f| !f.gzip)
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * bytes.len());
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Lowercase hex SHA-256 (FIPS 180-4) of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex MD5 (RFC 1321) of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&md5::Md5::digest(bytes))
}
