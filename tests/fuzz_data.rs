//! Property tests of the data-file parsers (`idx::parse_idx` on raw and gzip input,
//! `cifar::parse_batch`): random bytes and mutated valid files (bit flips, truncations,
//! appended bytes, header fields set to random or huge values) never panic, never allocate
//! more than the input justifies, and give either an error or a value whose invariants hold.
//!
//! Allocation is measured by a counting global allocator that keeps, per thread, the bytes
//! currently allocated and their peak since the last reset; each parser call is measured on
//! its own thread's counters.

#[path = "common/files.rs"]
mod files;
use files::idx_bytes;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use physlearn::data::{Defect, ImageSet, cifar, idx};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------------------
// Per-thread allocation accounting
// ------------------------------------------------------------------------------------------

struct Counting;

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    let _ = CURRENT.try_with(|c| {
        let now = c.get() + size;
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn on_dealloc(size: usize) {
    let _ = CURRENT.try_with(|c| c.set(c.get().saturating_sub(size)));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the bookkeeping only
// touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_dealloc(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_alloc(new_size);
        on_dealloc(layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result and the peak number of bytes it held allocated on
/// this thread beyond what was allocated when it started.
fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

/// Fixed allowance for the decoder's own state (inflate tables and window, error
/// messages), independent of the input.
const SLACK: usize = 256 << 10;

// ------------------------------------------------------------------------------------------
// Inputs
// ------------------------------------------------------------------------------------------

fn gzip(bytes: &[u8]) -> Vec<u8> {
    files::gzip_at(bytes, Compression::fast())
}

/// A small valid uncompressed IDX file: labels `[n]` or images `[n, rows, cols]`.
fn valid_idx() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (1u32..40).prop_flat_map(|n| {
            proptest::collection::vec(any::<u8>(), n as usize)
                .prop_map(move |d| idx_bytes(idx::MAGIC_LABELS, &[n], &d))
        }),
        (1u32..5, 1u32..7, 1u32..7).prop_flat_map(|(n, r, c)| {
            proptest::collection::vec(any::<u8>(), (n * r * c) as usize)
                .prop_map(move |d| idx_bytes(idx::MAGIC_IMAGES, &[n, r, c], &d))
        }),
    ]
}

/// A header dimension worth trying: small, zero, or large enough to overflow or to claim
/// far more than the input holds.
fn dim_value() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        1u32..64,
        Just(u32::MAX),
        Just(1 << 31),
        Just(1_000_000),
        Just(100_000),
        any::<u32>(),
    ]
}

/// One edit of a file's bytes.
#[derive(Clone, Debug)]
enum Mutation {
    /// Flip bit `bit` of the byte at `pos` (taken modulo the length).
    FlipBit { pos: usize, bit: u8 },
    /// Keep only the first `len` bytes (modulo the length plus one).
    Truncate { len: usize },
    /// Overwrite the 4-byte big-endian word `k` of the header (0: magic, 1..: dims).
    SetWord { k: usize, value: u32 },
    /// Overwrite the byte at `pos` (modulo the length).
    SetByte { pos: usize, value: u8 },
    /// Append bytes.
    Append(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(pos, bit)| Mutation::FlipBit { pos, bit }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        (1usize..4, dim_value()).prop_map(|(k, value)| Mutation::SetWord { k, value }),
        prop_oneof![
            Just(idx::MAGIC_LABELS),
            Just(idx::MAGIC_IMAGES),
            Just(0x0000_0802),
            Just(0x0000_0804),
            Just(0x0000_0c03),
            any::<u32>(),
        ]
        .prop_map(|value| Mutation::SetWord { k: 0, value }),
        (any::<usize>(), any::<u8>()).prop_map(|(pos, value)| Mutation::SetByte { pos, value }),
        proptest::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::FlipBit { pos, bit } if !bytes.is_empty() => {
            let i = pos % bytes.len();
            bytes[i] ^= 1 << bit;
        }
        Mutation::Truncate { len } => {
            let keep = len % (bytes.len() + 1);
            bytes.truncate(keep);
        }
        Mutation::SetWord { k, value } if bytes.len() >= 4 * (k + 1) => {
            bytes[4 * k..4 * (k + 1)].copy_from_slice(&value.to_be_bytes());
        }
        Mutation::SetByte { pos, value } if !bytes.is_empty() => {
            let i = pos % bytes.len();
            bytes[i] = *value;
        }
        Mutation::Append(extra) => bytes.extend_from_slice(extra),
        _ => {}
    }
}

fn mutated(
    base: impl Strategy<Value = Vec<u8>>,
) -> impl Strategy<Value = (Vec<u8>, Vec<Mutation>)> {
    (base, proptest::collection::vec(mutation(), 0..4)).prop_map(|(mut bytes, ms)| {
        for m in &ms {
            apply(&mut bytes, m);
        }
        (bytes, ms)
    })
}

// ------------------------------------------------------------------------------------------
// Invariants
// ------------------------------------------------------------------------------------------

/// A decoded IDX array has one of the two accepted shapes, no zero dimension, and exactly
/// the product of its dimensions as data; re-encoding it gives back `content`.
fn check_idx_value(arr: &idx::IdxArray, content: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        arr.dims.len() == 1 || arr.dims.len() == 3,
        "dims {:?}",
        arr.dims
    );
    prop_assert!(arr.dims.iter().all(|&d| d > 0 && d <= u32::MAX as usize));
    let total: usize = arr.dims.iter().product();
    prop_assert_eq!(arr.data.len(), total);
    prop_assert!(total <= idx::MAX_ELEMENTS);
    prop_assert_eq!(arr.to_bytes(), content);
    Ok(())
}

/// The whole gunzipped content of `gz` (as far as it decodes) and whether it decoded
/// without error, read by flate2 directly: the reference for the gzip path.
fn gunzip_reference(gz: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let ok = MultiGzDecoder::new(gz)
        .take(1 << 24)
        .read_to_end(&mut out)
        .is_ok();
    (out, ok)
}

/// Checks one raw (non-gzip) input: no panic, allocation within the input's length, and an
/// Ok value only if it is exactly the input re-encoded.
fn check_raw(bytes: &[u8]) -> Result<(), TestCaseError> {
    prop_assume!(!idx::is_gzip(bytes));
    let (res, peak) = peak_alloc(|| idx::parse_idx(Path::new("fuzz"), bytes));
    prop_assert!(
        peak <= bytes.len() + SLACK,
        "raw parse of {} bytes allocated {peak} bytes",
        bytes.len()
    );
    match res {
        Ok(arr) => check_idx_value(&arr, bytes)?,
        Err(e) => prop_assert!(!e.detail.is_empty()),
    }
    Ok(())
}

/// Checks one gzip input: no panic; allocation bounded by what the stream holds (the
/// input's plausible expansion, or twice the bytes that actually decompress); an Ok value
/// only if the stream decodes cleanly to exactly that value's encoding.
fn check_gzip(gz: &[u8]) -> Result<(), TestCaseError> {
    let (res, peak) = peak_alloc(|| idx::parse_idx(Path::new("fuzz.gz"), gz));
    let (content, clean) = gunzip_reference(gz);
    let bound = 8 * gz.len() + 2 * content.len() + SLACK;
    prop_assert!(
        peak <= bound,
        "gzip parse of {} bytes ({} decompressed) allocated {peak} bytes",
        gz.len(),
        content.len()
    );
    match res {
        Ok(arr) => {
            prop_assert!(clean, "accepted a stream that flate2 rejects");
            check_idx_value(&arr, &content)?;
        }
        Err(e) => prop_assert!(!e.detail.is_empty()),
    }
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1000,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_idx_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if idx::is_gzip(&bytes) {
            check_gzip(&bytes)?;
        } else {
            check_raw(&bytes)?;
        }
    }

    #[test]
    fn parse_idx_on_random_header_then_random_bytes(
        magic in prop_oneof![Just(idx::MAGIC_LABELS), Just(idx::MAGIC_IMAGES)],
        dims in proptest::collection::vec(dim_value(), 3),
        tail in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let ndim = (magic & 0xff) as usize;
        let bytes = idx_bytes(magic, &dims[..ndim], &tail);
        check_raw(&bytes)?;
        check_gzip(&gzip(&bytes))?;
    }

    #[test]
    fn parse_idx_raw_on_mutated_valid_files((bytes, ms) in mutated(valid_idx())) {
        prop_assume!(!idx::is_gzip(&bytes));
        check_raw(&bytes)?;
        if ms.is_empty() {
            let arr = idx::parse_idx(Path::new("valid"), &bytes);
            prop_assert!(arr.is_ok(), "a valid file is refused: {:?}", arr.err());
        }
    }

    #[test]
    fn parse_idx_gzip_of_mutated_valid_files_agrees_with_raw((bytes, ms) in mutated(valid_idx())) {
        prop_assume!(!idx::is_gzip(&bytes));
        let gz = gzip(&bytes);
        check_gzip(&gz)?;
        // Compression must not change the verdict or the value.
        let raw = idx::parse_idx(Path::new("x"), &bytes);
        let zipped = idx::parse_idx(Path::new("x"), &gz);
        prop_assert_eq!(raw.is_ok(), zipped.is_ok(), "{:?} vs {:?}", raw, zipped);
        if let (Ok(a), Ok(b)) = (&raw, &zipped) {
            prop_assert_eq!(a, b);
        }
        if ms.is_empty() {
            prop_assert!(zipped.is_ok());
        }
    }

    #[test]
    fn parse_idx_on_mutated_gzip_streams(
        (gz, _) in mutated(valid_idx().prop_map(|b| gzip(&b))),
    ) {
        if idx::is_gzip(&gz) {
            check_gzip(&gz)?;
        } else {
            check_raw(&gz)?;
        }
    }

    #[test]
    fn parse_batch_on_random_and_mutated_batches(
        (bytes, _) in mutated(prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..7000),
            (1usize..4).prop_flat_map(|n| {
                (
                    proptest::collection::vec(0u8..10, n),
                    proptest::collection::vec(any::<u8>(), n * cifar::IMAGE_BYTES),
                )
                    .prop_map(|(labels, pixels)| {
                        let mut out = Vec::new();
                        for (l, px) in labels.iter().zip(pixels.chunks(cifar::IMAGE_BYTES)) {
                            out.push(*l);
                            out.extend_from_slice(px);
                        }
                        out
                    })
            }),
        ]),
    ) {
        // Earlier content must be kept, and nothing appended on error.
        let mut images = vec![7u8; 5];
        let mut labels = vec![3u8; 2];
        let (res, peak) = peak_alloc(|| {
            cifar::parse_batch(Path::new("batch"), &bytes, &mut images, &mut labels)
        });
        prop_assert!(peak <= 2 * bytes.len() + SLACK, "{} bytes allocated {peak}", bytes.len());
        let whole = !bytes.is_empty() && bytes.len() % cifar::RECORD_BYTES == 0;
        let labels_ok = bytes
            .chunks_exact(cifar::RECORD_BYTES)
            .all(|r| (r[0] as usize) < cifar::CLASSES);
        match res {
            Ok(n) => {
                prop_assert!(whole && labels_ok);
                prop_assert_eq!(n * cifar::RECORD_BYTES, bytes.len());
                prop_assert_eq!(images.len(), 5 + n * cifar::IMAGE_BYTES);
                prop_assert_eq!(labels.len(), 2 + n);
                prop_assert_eq!(&images[..5], &[7u8; 5][..]);
                for (i, rec) in bytes.chunks_exact(cifar::RECORD_BYTES).enumerate() {
                    prop_assert_eq!(labels[2 + i], rec[0]);
                    let px = &images[5 + i * cifar::IMAGE_BYTES..5 + (i + 1) * cifar::IMAGE_BYTES];
                    prop_assert_eq!(px, &rec[1..]);
                }
                let set = ImageSet::new(
                    images[5..].to_vec(),
                    labels[2..].to_vec(),
                    cifar::CHANNELS,
                    cifar::ROWS,
                    cifar::COLS,
                    cifar::CLASSES,
                );
                prop_assert!(set.is_ok());
            }
            Err(e) => {
                prop_assert!(!(whole && labels_ok), "refused a valid batch: {}", e);
                prop_assert_eq!(images.len(), 5);
                prop_assert_eq!(labels.len(), 2);
                let expect = if whole { Defect::Malformed } else { Defect::Truncated };
                prop_assert_eq!(e.defect, expect);
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Huge claims
// ------------------------------------------------------------------------------------------

#[test]
fn header_claiming_a_trillion_elements_fails_at_once_without_allocating() {
    // 10^4 × 10^4 × 10^4 = 10^12 elements declared, 100 bytes present.
    let mut raw = idx_bytes(idx::MAGIC_IMAGES, &[10_000, 10_000, 10_000], &[]);
    raw.resize(100, 0x55);
    let gz = gzip(&raw);
    for (what, bytes) in [("raw", &raw), ("gzip", &gz)] {
        let t = Instant::now();
        let (res, peak) = peak_alloc(|| idx::parse_idx(Path::new("huge"), bytes));
        let e = res.expect_err("a 10^12-element claim must be refused");
        assert_eq!(e.defect, Defect::Malformed, "{what}: {e}");
        assert!(e.detail.contains("more than the limit"), "{what}: {e}");
        assert!(peak < SLACK, "{what}: {peak} bytes allocated");
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "{what}: {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn gzip_claim_under_the_limit_is_read_only_as_far_as_the_stream_goes() {
    // 10^9 elements declared (under the limit), a stream of 4 MiB of zeros: the parser
    // allocates for what actually decompresses, not for the claim, and says truncated.
    let mut raw = idx_bytes(idx::MAGIC_IMAGES, &[1000, 1000, 1000], &[]);
    raw.resize(raw.len() + (4 << 20), 0);
    let gz = gzip(&raw);
    assert!(gz.len() < 64 << 10);
    let (res, peak) = peak_alloc(|| idx::parse_idx(Path::new("bomb.gz"), &gz));
    let e = res.expect_err("the stream holds far less than the header declares");
    assert_eq!(e.defect, Defect::Truncated, "{e}");
    assert!(peak <= 2 * (4 << 20) + 8 * gz.len() + SLACK, "{peak} bytes");

    // Trailing data past the declared payload is not decompressed beyond one byte.
    let mut raw = idx_bytes(idx::MAGIC_LABELS, &[10], &[1; 10]);
    raw.resize(raw.len() + (16 << 20), 0);
    let gz = gzip(&raw);
    let (res, peak) = peak_alloc(|| idx::parse_idx(Path::new("long.gz"), &gz));
    let e = res.expect_err("data after the payload");
    assert_eq!(e.defect, Defect::Malformed, "{e}");
    assert!(
        peak < 8 * gz.len() + SLACK,
        "{peak} bytes for a {}-byte stream",
        gz.len()
    );
}
