//! Tests of the real-image dataset layer (IDX and CIFAR-10 readers, loading, verification)
//! on small synthetic files written to a private temporary directory. One test also loads
//! the real MNIST test split when `PHYSLEARN_DATA` points at a directory holding it.

#[path = "common/files.rs"]
mod files;
use files::{TempDir, idx_bytes};
use flate2::Compression;
use physlearn::data::idx;
use physlearn::data::{self, data_dir, data_dir_from, verify};
use physlearn::data::{
    Check, Checksum, Dataset, DatasetState, ExpectedFile, Failure, FileForm, FileStatus, ImageSet,
    Split, cifar,
};
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

// ------------------------------------------------------------------------------------------
// Helpers (independent of the library's own encoders)
// ------------------------------------------------------------------------------------------

fn gzip(bytes: &[u8]) -> Vec<u8> {
    files::gzip_at(bytes, Compression::default())
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deterministic pseudo-random bytes.
fn bytes(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Synthetic 28×28 MNIST-style images and labels (labels `< 10`).
fn mnist_like(n: usize, seed: u32) -> (Vec<u8>, Vec<u8>) {
    let images = bytes(n * 784, seed);
    let labels = (0..n)
        .map(|i| ((i * 7 + seed as usize) % 10) as u8)
        .collect();
    (images, labels)
}

/// Writes an image/label IDX pair named like the split's canonical files under
/// `dir/subdir`, gzipped or raw; returns the two paths.
fn write_idx_pair(
    dir: &Path,
    subdir: &str,
    prefix: &str,
    images: &[u8],
    labels: &[u8],
    gz: bool,
) -> (PathBuf, PathBuf) {
    let n = labels.len() as u32;
    let img = idx_bytes(0x803, &[n, 28, 28], images);
    let lab = idx_bytes(0x801, &[n], labels);
    let ext = if gz { ".gz" } else { "" };
    let ip = dir
        .join(subdir)
        .join(format!("{prefix}-images-idx3-ubyte{ext}"));
    let lp = dir
        .join(subdir)
        .join(format!("{prefix}-labels-idx1-ubyte{ext}"));
    if gz {
        write(&ip, &gzip(&img));
        write(&lp, &gzip(&lab));
    } else {
        write(&ip, &img);
        write(&lp, &lab);
    }
    (ip, lp)
}

/// CIFAR-10 binary records: one label byte then 3072 pixel bytes each.
fn cifar_records(labels: &[u8], seed: u32) -> (Vec<u8>, Vec<u8>) {
    let pixels = bytes(labels.len() * 3072, seed);
    let mut file = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        file.push(l);
        file.extend_from_slice(&pixels[i * 3072..(i + 1) * 3072]);
    }
    (file, pixels)
}

fn err_text<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.expect_err("expected an error"))
}

fn assert_mentions(msg: &str, needles: &[&str]) {
    for n in needles {
        assert!(
            msg.to_lowercase().contains(&n.to_lowercase()),
            "error message lacks {n:?}: {msg}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// IDX round trips
// ------------------------------------------------------------------------------------------

#[test]
fn idx_round_trip_raw_and_gzip() {
    let tmp = TempDir::new("roundtrip");
    let (images, labels) = mnist_like(17, 1);
    for gz in [false, true] {
        let sub = if gz { "gz" } else { "raw" };
        let (ip, lp) = write_idx_pair(tmp.path(), sub, "train", &images, &labels, gz);
        let arr = idx::read_idx(&ip).unwrap();
        assert_eq!(arr.dims, vec![17, 28, 28]);
        assert_eq!(arr.data, images);
        assert_eq!(arr.magic(), idx::MAGIC_IMAGES);
        let lab = idx::read_idx(&lp).unwrap();
        assert_eq!(lab.dims, vec![17]);
        assert_eq!(lab.data, labels);
        assert_eq!(lab.magic(), idx::MAGIC_LABELS);

        let set = idx::load_idx_pair(&ip, &lp, 10).unwrap();
        assert_eq!(
            (set.n, set.channels, set.rows, set.cols, set.classes),
            (17, 1, 28, 28, 10)
        );
        assert_eq!(set.images, images);
        assert_eq!(set.labels, labels);
        assert_eq!(set.image(3), &images[3 * 784..4 * 784]);
    }
    // The library's encoder writes exactly the format the test encoder writes.
    let arr = idx::read_idx(&tmp.path().join("raw/train-labels-idx1-ubyte")).unwrap();
    assert_eq!(arr.to_bytes(), idx_bytes(0x801, &[17], &labels));
}

#[test]
fn load_reads_synthetic_mnist_and_fashion_layouts_without_checksums() {
    let tmp = TempDir::new("layout");
    let (images, labels) = mnist_like(9, 2);
    write_idx_pair(tmp.path(), "mnist", "t10k", &images, &labels, true);
    let (fimages, flabels) = mnist_like(5, 3);
    write_idx_pair(
        tmp.path(),
        "fashion-mnist",
        "train",
        &fimages,
        &flabels,
        false,
    );

    let set = data::load(tmp.path(), Dataset::Mnist, Split::Test, Check::Skip).unwrap();
    assert_eq!((set.n, set.rows, set.cols), (9, 28, 28));
    assert_eq!(set.images, images);
    assert_eq!(set.labels, labels);

    let set = data::load(tmp.path(), Dataset::FashionMnist, Split::Train, Check::Skip).unwrap();
    assert_eq!(set.n, 5);
    assert_eq!(set.images, fimages);
    assert_eq!(set.labels, flabels);
}

// ------------------------------------------------------------------------------------------
// Malformed IDX input
// ------------------------------------------------------------------------------------------

#[test]
fn truncated_raw_idx_names_file_and_byte_counts() {
    let tmp = TempDir::new("trunc-raw");
    let (images, _) = mnist_like(4, 4);
    let full = idx_bytes(0x803, &[4, 28, 28], &images);
    let p = tmp.path().join("cut-images-idx3-ubyte");
    write(&p, &full[..full.len() - 100]);
    let msg = err_text(idx::read_idx(&p));
    assert_mentions(
        &msg,
        &[&p.display().to_string(), "truncated", "3136", "3036"],
    );

    // Cut inside the header.
    write(&p, &full[..10]);
    let msg = err_text(idx::read_idx(&p));
    assert_mentions(&msg, &[&p.display().to_string(), "truncated", "header"]);

    // Trailing garbage is rejected too.
    let mut long = full.clone();
    long.extend_from_slice(&[0; 7]);
    write(&p, &long);
    let msg = err_text(idx::read_idx(&p));
    assert_mentions(&msg, &[&p.display().to_string(), "7 unexpected bytes"]);
}

#[test]
fn truncated_or_corrupt_gzip_names_file() {
    let tmp = TempDir::new("trunc-gz");
    let (images, _) = mnist_like(30, 5);
    let gz = gzip(&idx_bytes(0x803, &[30, 28, 28], &images));
    let p = tmp.path().join("cut-images-idx3-ubyte.gz");

    // The compressed stream stops half-way.
    write(&p, &gz[..gz.len() / 2]);
    let msg = err_text(idx::read_idx(&p));
    assert_mentions(&msg, &[&p.display().to_string(), "truncated"]);

    // Only the 8-byte CRC/length trailer is missing.
    write(&p, &gz[..gz.len() - 8]);
    let msg = err_text(idx::read_idx(&p));
    assert_mentions(&msg, &[&p.display().to_string(), "truncated", "ends early"]);

    // A flipped bit in the CRC trailer.
    let mut bad = gz.clone();
    let k = bad.len() - 6;
    bad[k] ^= 0x40;
    write(&p, &bad);
    let msg = err_text(idx::read_idx(&p));
    assert_mentions(&msg, &[&p.display().to_string(), "corrupt"]);

    // Through load with checksums on: the truncation is named (before any checksum).
    let (limages, llabels) = mnist_like(2, 5);
    let (ip, _) = write_idx_pair(tmp.path(), "mnist", "t10k", &limages, &llabels, true);
    let full = std::fs::read(&ip).unwrap();
    write(&ip, &full[..full.len() - 20]);
    let msg = err_text(data::load(
        tmp.path(),
        Dataset::Mnist,
        Split::Test,
        Check::Published,
    ));
    assert_mentions(
        &msg,
        &[
            &ip.display().to_string(),
            "truncated",
            "ends early",
            "fetch",
        ],
    );

    // A complete gzip stream of a truncated IDX file.
    let short = idx_bytes(0x803, &[30, 28, 28], &images[..1000]);
    write(&p, &gzip(&short));
    let msg = err_text(idx::read_idx(&p));
    assert_mentions(
        &msg,
        &[&p.display().to_string(), "truncated", "23520", "1000"],
    );
}

#[test]
fn wrong_magic_number_names_file() {
    let tmp = TempDir::new("magic");
    let p = tmp.path().join("weird-idx");
    for magic in [0x0000_0802u32, 0x0000_0D03, 0x1234_5678] {
        write(&p, &idx_bytes(magic, &[2, 3], &[0; 6]));
        let msg = err_text(idx::read_idx(&p));
        assert_mentions(
            &msg,
            &[&p.display().to_string(), "magic", &format!("{magic:08x}")],
        );
    }
    // Also through gzip.
    let pg = tmp.path().join("weird-idx.gz");
    write(&pg, &gzip(&idx_bytes(0x0000_0804, &[1, 1, 1, 1], &[0])));
    let msg = err_text(idx::read_idx(&pg));
    assert_mentions(&msg, &[&pg.display().to_string(), "magic", "00000804"]);
}

#[test]
fn absurd_or_zero_header_dims_are_errors_not_allocations() {
    let tmp = TempDir::new("dims");
    let p = tmp.path().join("huge-images-idx3-ubyte");
    // 2^96 bytes: overflows.
    write(
        &p,
        &idx_bytes(0x803, &[u32::MAX, u32::MAX, u32::MAX], &[1, 2, 3]),
    );
    let msg = err_text(idx::read_idx(&p));
    assert_mentions(&msg, &[&p.display().to_string(), "overflow"]);
    // 4 GB and 2^64 - 1 bytes (641 × 286331153 × 100506255) declared, a few present: over
    // the limit, refused before anything is read (raw and gzip).
    let pg = tmp.path().join("huge-images-idx3-ubyte.gz");
    for dims in [[u32::MAX, 1, 1], [641, 286_331_153, 100_506_255]] {
        let hdr = idx_bytes(0x803, &dims, &[1, 2, 3]);
        write(&p, &hdr);
        assert_mentions(&err_text(idx::read_idx(&p)), &["more than the limit"]);
        write(&pg, &gzip(&hdr));
        assert_mentions(&err_text(idx::read_idx(&pg)), &["more than the limit"]);
    }
    // 2^30 bytes declared (the limit), 5 present: truncated, raw and gzip.
    let hdr = idx_bytes(0x803, &[1 << 20, 32, 32], &[7; 5]);
    write(&p, &hdr);
    assert_mentions(
        &err_text(idx::read_idx(&p)),
        &["truncated", "5 payload bytes"],
    );
    write(&pg, &gzip(&hdr));
    assert_mentions(
        &err_text(idx::read_idx(&pg)),
        &["truncated", "5 payload bytes"],
    );
    // A zero dimension.
    write(&p, &idx_bytes(0x803, &[3, 0, 28], &[]));
    assert_mentions(
        &err_text(idx::read_idx(&p)),
        &[&p.display().to_string(), "dimension 1 is 0"],
    );
    // Empty file.
    write(&p, &[]);
    assert_mentions(
        &err_text(idx::read_idx(&p)),
        &[&p.display().to_string(), "truncated"],
    );
}

#[test]
fn image_label_count_mismatch_names_both_files() {
    let tmp = TempDir::new("count");
    let (images, labels) = mnist_like(5, 6);
    let dir = tmp.path();
    let ip = dir.join("mnist/t10k-images-idx3-ubyte");
    let lp = dir.join("mnist/t10k-labels-idx1-ubyte");
    write(&ip, &idx_bytes(0x803, &[5, 28, 28], &images));
    write(&lp, &idx_bytes(0x801, &[4], &labels[..4]));
    let msg = err_text(data::load(dir, Dataset::Mnist, Split::Test, Check::Skip));
    assert_mentions(
        &msg,
        &[
            &ip.display().to_string(),
            &lp.display().to_string(),
            "mismatch",
            "5 images",
            "4 labels",
        ],
    );
    // Swapped roles (labels where images belong) are a clear error too.
    let msg = err_text(idx::load_idx_pair(&lp, &ip, 10));
    assert_mentions(
        &msg,
        &[&lp.display().to_string(), "expected an IDX image file"],
    );
}

#[test]
fn label_out_of_range_names_file() {
    let tmp = TempDir::new("label");
    let (images, mut labels) = mnist_like(6, 7);
    labels[4] = 10;
    let (ip, lp) = write_idx_pair(tmp.path(), "mnist", "train", &images, &labels, true);
    let msg = err_text(idx::load_idx_pair(&ip, &lp, 10));
    assert_mentions(
        &msg,
        &[
            &lp.display().to_string(),
            "label 10",
            "sample 4",
            "out of range",
        ],
    );
    let msg = err_text(data::load(
        tmp.path(),
        Dataset::Mnist,
        Split::Train,
        Check::Skip,
    ));
    assert_mentions(&msg, &[&lp.display().to_string(), "out of range"]);
}

// ------------------------------------------------------------------------------------------
// CIFAR-10
// ------------------------------------------------------------------------------------------

#[test]
fn cifar_round_trip_test_and_train_splits() {
    let tmp = TempDir::new("cifar");
    let dir = tmp.path().join("cifar-10-batches-bin");
    let test_labels = [3u8, 9, 0];
    let (file, pixels) = cifar_records(&test_labels, 8);
    write(&dir.join("test_batch.bin"), &file);
    let set = data::load(tmp.path(), Dataset::Cifar10, Split::Test, Check::Skip).unwrap();
    assert_eq!(
        (set.n, set.channels, set.rows, set.cols, set.classes),
        (3, 3, 32, 32, 10)
    );
    assert_eq!(set.labels, test_labels);
    assert_eq!(set.images, pixels);
    // CHW: the first 1024 bytes of a sample are the red plane.
    assert_eq!(set.image(1)[..1024], file[3073 + 1..3073 + 1 + 1024]);

    // Train: five batches concatenated in order.
    let mut all_labels = Vec::new();
    let mut all_pixels = Vec::new();
    for b in 1..=5u8 {
        let labels = [b, 9 - b];
        let (file, pixels) = cifar_records(&labels, 100 + b as u32);
        write(&dir.join(format!("data_batch_{b}.bin")), &file);
        all_labels.extend_from_slice(&labels);
        all_pixels.extend_from_slice(&pixels);
    }
    let set = data::load(tmp.path(), Dataset::Cifar10, Split::Train, Check::Skip).unwrap();
    assert_eq!(set.n, 10);
    assert_eq!(set.labels, all_labels);
    assert_eq!(set.images, all_pixels);
}

#[test]
fn cifar_malformed_batches_name_file() {
    let tmp = TempDir::new("cifar-bad");
    let p = tmp.path().join("cifar-10-batches-bin/test_batch.bin");
    let (file, _) = cifar_records(&[1, 2, 3], 9);

    write(&p, &file[..file.len() - 10]);
    let msg = err_text(data::load(
        tmp.path(),
        Dataset::Cifar10,
        Split::Test,
        Check::Skip,
    ));
    assert_mentions(
        &msg,
        &[&p.display().to_string(), "truncated", "3063 stray bytes"],
    );

    let mut bad = file.clone();
    bad[3073] = 12;
    write(&p, &bad);
    let msg = err_text(cifar::read_batches(&[&p]));
    assert_mentions(&msg, &[&p.display().to_string(), "record 1", "label 12"]);

    write(&p, &[]);
    assert_mentions(
        &err_text(cifar::read_batches(&[&p])),
        &[&p.display().to_string(), "empty"],
    );

    // With checksums on, a batch that is not 10000 records is refused before parsing.
    write(&p, &file);
    let msg = err_text(data::load(
        tmp.path(),
        Dataset::Cifar10,
        Split::Test,
        Check::Published,
    ));
    assert_mentions(&msg, &[&p.display().to_string(), "9219 bytes", "30730000"]);
}

// ------------------------------------------------------------------------------------------
// Checksums and verification
// ------------------------------------------------------------------------------------------

#[test]
fn sha256_check_reports_expected_and_actual_hash() {
    let tmp = TempDir::new("sha");
    let (images, labels) = mnist_like(3, 10);
    let (ip, _) = write_idx_pair(tmp.path(), "mnist", "t10k", &images, &labels, true);
    let actual = sha256(&std::fs::read(&ip).unwrap());
    let expected = "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6";
    let msg = err_text(data::load(
        tmp.path(),
        Dataset::Mnist,
        Split::Test,
        Check::Published,
    ));
    assert_mentions(
        &msg,
        &[
            &ip.display().to_string(),
            "checksum mismatch",
            expected,
            &actual,
            "corrupt or not the published one",
        ],
    );
    // The same files load when checksums are skipped.
    data::load(tmp.path(), Dataset::Mnist, Split::Test, Check::Skip).unwrap();
    assert_eq!(
        data::sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(data::md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
}

#[test]
fn verify_reports_missing_mismatch_and_truncated_files() {
    let tmp = TempDir::new("verify");
    let dir = tmp.path();
    let (images, labels) = mnist_like(3, 11);
    let (ip, lp) = write_idx_pair(dir, "mnist", "t10k", &images, &labels, true);
    // A raw train-labels file shorter than the published 60008 bytes.
    let tl = dir.join("mnist/train-labels-idx1-ubyte");
    write(&tl, &idx_bytes(0x801, &[3], &labels));
    // A truncated gzip stream.
    let fi = dir.join("fashion-mnist/t10k-images-idx3-ubyte.gz");
    let gz = gzip(&idx_bytes(0x803, &[3, 28, 28], &images));
    write(&fi, &gz[..gz.len() / 2]);

    let report = data::verify(dir, &[]);
    assert_eq!(report.files.len(), 4 + 4 + 6);
    let find = |p: &Path| report.files.iter().find(|r| r.path == p).unwrap();

    let r = find(&ip);
    match &r.status {
        FileStatus::Mismatch {
            algorithm,
            expected,
            actual,
        } => {
            assert_eq!(*algorithm, "sha256");
            assert_eq!(
                expected,
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
            );
            assert_eq!(actual, &sha256(&std::fs::read(&ip).unwrap()));
        }
        s => panic!("expected a mismatch, got {s:?}"),
    }
    let line = r.to_string();
    assert_mentions(
        &line,
        &[
            "mnist",
            "test",
            "MISMATCH",
            &ip.display().to_string(),
            "expected sha256",
        ],
    );
    assert!(matches!(find(&lp).status, FileStatus::Mismatch { .. }));
    assert_eq!(
        find(&tl).status,
        FileStatus::Truncated("11 bytes of the published 60008".into())
    );
    match &find(&fi).status {
        FileStatus::Truncated(why) => assert_mentions(why, &["gzip stream ends early"]),
        s => panic!("expected truncated, got {s:?}"),
    }
    let missing = dir.join("mnist/train-images-idx3-ubyte.gz");
    assert_eq!(find(&missing).status, FileStatus::Missing);
    let cifar = dir.join("cifar-10-batches-bin/test_batch.bin");
    assert_eq!(find(&cifar).status, FileStatus::Missing);
    for ds in Dataset::ALL {
        assert!(!report.is_valid(ds));
    }
    // Present files are invalid, so the verification fails even with nothing required.
    assert!(!report.passed());
}

#[test]
fn missing_file_error_gives_full_path_and_how_to_set_data_dir() {
    let tmp = TempDir::new("missing");
    for (ds, file) in [
        (Dataset::Mnist, "mnist/train-images-idx3-ubyte.gz"),
        (
            Dataset::FashionMnist,
            "fashion-mnist/train-images-idx3-ubyte.gz",
        ),
        (Dataset::Cifar10, "cifar-10-batches-bin/data_batch_1.bin"),
    ] {
        let msg = err_text(data::load(tmp.path(), ds, Split::Train, Check::Published));
        let full = tmp.path().join(file);
        assert_mentions(
            &msg,
            &[&full.display().to_string(), "--data-dir", "PHYSLEARN_DATA"],
        );
    }
}

// ------------------------------------------------------------------------------------------
// Data directory resolution
// ------------------------------------------------------------------------------------------

#[test]
fn data_dir_precedence_flag_then_env_then_error() {
    let flag = TempDir::new("flag");
    let env = TempDir::new("env");
    let env_os = || Some(OsString::from(env.path()));

    assert_eq!(
        data_dir_from(Some(flag.path()), env_os()).unwrap(),
        flag.path()
    );
    assert_eq!(data_dir_from(None, env_os()).unwrap(), env.path());
    assert_eq!(data_dir_from(Some(flag.path()), None).unwrap(), flag.path());
    // The flag wins without consulting the process environment.
    assert_eq!(data_dir(Some(flag.path())).unwrap(), flag.path());

    let msg = err_text(data_dir_from(None, None));
    assert_mentions(&msg, &["PHYSLEARN_DATA", "--data-dir"]);
    let msg = err_text(data_dir_from(None, Some(OsString::new())));
    assert_mentions(&msg, &["PHYSLEARN_DATA"]);

    let nowhere = flag.path().join("does-not-exist");
    let msg = err_text(data_dir_from(Some(&nowhere), env_os()));
    assert_mentions(
        &msg,
        &[
            &nowhere.display().to_string(),
            "--data-dir",
            "does not exist",
        ],
    );
    let msg = err_text(data_dir_from(None, Some(nowhere.clone().into_os_string())));
    assert_mentions(&msg, &[&nowhere.display().to_string(), "PHYSLEARN_DATA"]);
}

// ------------------------------------------------------------------------------------------
// ImageSet helpers and names
// ------------------------------------------------------------------------------------------

#[test]
fn image_set_helpers() {
    // 4 samples of 2×1×2 (CHW), 3 classes.
    let images: Vec<u8> = (0..16).map(|i| (i * 17) as u8).collect();
    let set = ImageSet::new(images.clone(), vec![2, 0, 2, 1], 2, 1, 2, 3).unwrap();
    assert_eq!((set.n, set.dim()), (4, 4));
    assert_eq!(set.image(2), &images[8..12]);
    let x = set.to_f32_scaled(1..3);
    assert_eq!(x.len(), 8);
    assert_eq!(x[0], 68.0 / 255.0);
    assert_eq!(set.to_f32_scaled(3..4)[3], 1.0);
    assert_eq!(set.to_f32_scaled(0..1)[0], 0.0);
    assert_eq!(set.one_hot(0..2), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    assert!(set.one_hot(2..2).is_empty());
    assert_eq!(set.class_counts(), vec![1, 1, 2]);
    let sub = set.subset(&[3, 0, 3]);
    assert_eq!(sub.n, 3);
    assert_eq!(sub.labels, vec![1, 2, 1]);
    assert_eq!(sub.image(1), set.image(0));
    assert_eq!(sub.image(2), set.image(3));

    let msg = err_text(ImageSet::new(vec![0; 15], vec![0; 4], 2, 1, 2, 3));
    assert_mentions(&msg, &["mismatch"]);
    let msg = err_text(ImageSet::new(vec![0; 16], vec![0, 3, 0, 0], 2, 1, 2, 3));
    assert_mentions(&msg, &["label 3", "out of range"]);
    assert!(ImageSet::new(vec![], vec![], 0, 1, 1, 3).is_err());
}

#[test]
fn dataset_and_split_names_round_trip() {
    for ds in Dataset::ALL {
        assert_eq!(ds.name().parse::<Dataset>().unwrap(), ds);
        assert_eq!(ds.to_string(), ds.name());
        assert_eq!(ds.classes(), 10);
    }
    assert_eq!("cifar-10".parse::<Dataset>().unwrap(), Dataset::Cifar10);
    assert_eq!(
        "Fashion-MNIST".parse::<Dataset>().unwrap(),
        Dataset::FashionMnist
    );
    assert_mentions(
        &err_text("imagenet".parse::<Dataset>()),
        &["imagenet", "mnist", "cifar10"],
    );
    assert_eq!("test".parse::<Split>().unwrap(), Split::Test);
    assert_eq!("train".parse::<Split>().unwrap(), Split::Train);
    assert!("valid".parse::<Split>().is_err());
    assert_eq!(Dataset::Cifar10.num_samples(Split::Train), 50_000);
    assert_eq!(Dataset::FashionMnist.class_names()[9], "Ankle boot");
}

// ------------------------------------------------------------------------------------------
// Real data (only when PHYSLEARN_DATA is set)
// ------------------------------------------------------------------------------------------

#[test]
fn real_mnist_test_split_if_available() {
    let Some(dir) = std::env::var_os("PHYSLEARN_DATA").map(PathBuf::from) else {
        println!("skipped: PHYSLEARN_DATA is not set");
        return;
    };
    if !dir.join("mnist").is_dir() {
        println!("skipped: {} has no mnist/ directory", dir.display());
        return;
    }
    let set = data::load(&dir, Dataset::Mnist, Split::Test, Check::Published).unwrap();
    assert_eq!(
        (set.n, set.channels, set.rows, set.cols),
        (10_000, 1, 28, 28)
    );
    assert_eq!(set.labels[..5], [7, 2, 1, 0, 4]);
    assert_eq!(
        set.class_counts(),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let pixel_sum: u64 = set.images.iter().map(|&p| p as u64).sum();
    assert_eq!(pixel_sum, 264_923_200);

    let report = data::verify(&dir, &[Dataset::Mnist]);
    for r in report.files.iter().filter(|r| r.dataset == Dataset::Mnist) {
        assert_eq!(r.status, FileStatus::Ok, "{r}");
    }
    assert!(report.is_valid(Dataset::Mnist));
}

#[test]
fn cifar_checksum_mismatch_reports_md5() {
    let tmp = TempDir::new("cifar-md5");
    let p = tmp.path().join("cifar-10-batches-bin/test_batch.bin");
    // A full-size batch (10000 records) whose content is not the published one.
    let labels: Vec<u8> = (0..10_000).map(|i| (i % 10) as u8).collect();
    let mut file = vec![0u8; 10_000 * 3073];
    for (rec, &l) in file.chunks_exact_mut(3073).zip(&labels) {
        rec[0] = l;
        rec[1 + (l as usize) * 300] = 255;
    }
    write(&p, &file);
    let actual: String = md5::Md5::digest(&file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let expected = "803d5f7f4d78ea53de84dbe85f74fb6d";
    let msg = err_text(data::load(
        tmp.path(),
        Dataset::Cifar10,
        Split::Test,
        Check::Published,
    ));
    assert_mentions(
        &msg,
        &[
            &p.display().to_string(),
            "checksum mismatch",
            "md5",
            expected,
            &actual,
        ],
    );

    let set = data::load(tmp.path(), Dataset::Cifar10, Split::Test, Check::Skip).unwrap();
    assert_eq!(set.n, 10_000);
    assert_eq!(set.class_counts(), vec![1000; 10]);
    assert_eq!(set.image(3)[900], 255);

    let report = data::verify(tmp.path(), &[]);
    let r = report.files.iter().find(|r| r.path == p).unwrap();
    assert_eq!(
        r.status,
        FileStatus::Mismatch {
            algorithm: "md5",
            expected: expected.into(),
            actual
        }
    );
}

// ------------------------------------------------------------------------------------------
// Load and verify agree
// ------------------------------------------------------------------------------------------

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn gzip_with(bytes: &[u8], level: Compression, name: Option<&str>) -> Vec<u8> {
    let mut b = flate2::GzBuilder::new();
    if let Some(n) = name {
        b = b.filename(n);
    }
    let mut enc = b.write(Vec::new(), level);
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// An expected MNIST test-labels file whose published checksums are those of `canon`
/// (uncompressed) and `canon_gz`, standing in for the real tables.
fn expected_labels_file(canon: &[u8], canon_gz: &[u8]) -> ExpectedFile {
    let forms = vec![
        FileForm::gz_sha256(
            "t10k-labels-idx1-ubyte.gz",
            canon_gz.len() as u64,
            leak(sha256(canon_gz)),
        ),
        FileForm::raw_sha256(
            "t10k-labels-idx1-ubyte",
            canon.len() as u64,
            leak(sha256(canon)),
        ),
    ];
    ExpectedFile {
        forms: Box::leak(forms.into_boxed_slice()),
    }
}

/// The crafted variants of one IDX file: (what, stored under the .gz name?, bytes, whether
/// it is the published content).
fn idx_variants(canon: &[u8], canon_gz: &[u8], other: &[u8]) -> Vec<(String, bool, Vec<u8>, bool)> {
    let flip = |b: &[u8], i: usize| {
        let mut v = b.to_vec();
        v[i] ^= 0x10;
        v
    };
    let half = canon.len() / 2;
    let mut multi = gzip(&canon[..half]);
    multi.extend_from_slice(&gzip(&canon[half..]));
    let mut long = canon.to_vec();
    long.push(0);
    let v = |what: &str, gz: bool, bytes: Vec<u8>, ok: bool| (what.to_string(), gz, bytes, ok);
    vec![
        v("valid gz", true, canon_gz.to_vec(), true),
        v("valid raw", false, canon.to_vec(), true),
        v("raw bytes under the .gz name", true, canon.to_vec(), true),
        v(
            "gzip bytes under the raw name",
            false,
            canon_gz.to_vec(),
            true,
        ),
        v(
            "recompressed gz (level 9)",
            true,
            gzip_with(canon, Compression::best(), None),
            true,
        ),
        v(
            "recompressed gz with a stored name",
            true,
            gzip_with(canon, Compression::fast(), Some("t10k-labels.idx1-ubyte")),
            true,
        ),
        v("two gzip members", true, multi, true),
        v(
            "truncated gz",
            true,
            canon_gz[..canon_gz.len() - 10].to_vec(),
            false,
        ),
        v(
            "gz without its trailer",
            true,
            canon_gz[..canon_gz.len() - 8].to_vec(),
            false,
        ),
        v(
            "truncated raw",
            false,
            canon[..canon.len() - 3].to_vec(),
            false,
        ),
        v(
            "truncated raw under the .gz name",
            true,
            canon[..canon.len() - 3].to_vec(),
            false,
        ),
        v("raw with data after the payload", false, long, false),
        v(
            "gz with a corrupt deflate byte",
            true,
            flip(canon_gz, canon_gz.len() / 2),
            false,
        ),
        v(
            "gz with a corrupt CRC",
            true,
            flip(canon_gz, canon_gz.len() - 6),
            false,
        ),
        v(
            "raw with a corrupt payload byte",
            false,
            flip(canon, canon.len() - 1),
            false,
        ),
        v(
            "raw with a corrupt header byte",
            false,
            flip(canon, 7),
            false,
        ),
        v(
            "wrong checksum (other content), raw",
            false,
            other.to_vec(),
            false,
        ),
        v(
            "wrong checksum (other content), gz",
            true,
            gzip(other),
            false,
        ),
        v("empty file", true, Vec::new(), false),
    ]
}

#[test]
fn load_succeeds_exactly_when_verify_reports_ok() {
    let (_, labels) = mnist_like(300, 21);
    let canon = idx_bytes(0x801, &[300], &labels);
    let canon_gz = gzip_with(&canon, Compression::default(), None);
    let mut other_labels = labels.clone();
    other_labels[17] = (other_labels[17] + 1) % 10;
    let other = idx_bytes(0x801, &[300], &other_labels);
    let file = expected_labels_file(&canon, &canon_gz);
    let want = physlearn::data::FileContents::Idx(idx::parse_idx(Path::new("c"), &canon).unwrap());

    for (what, under_gz, bytes, valid) in idx_variants(&canon, &canon_gz, &other) {
        let tmp = TempDir::new("agree");
        let form = &file.forms[if under_gz { 0 } else { 1 }];
        write(&tmp.path().join("mnist").join(form.name), &bytes);
        let report = verify::verify_file(tmp.path(), Dataset::Mnist, Split::Test, &file);
        let loaded = data::load_file(tmp.path(), Dataset::Mnist, &file, Check::Published);
        assert_eq!(
            report.status.is_ok(),
            loaded.is_ok(),
            "{what}: verify says {report}, load says {:?}",
            loaded.as_ref().err()
        );
        assert_eq!(report.status.is_ok(), valid, "{what}: {report}");
        if let Ok((path, contents)) = loaded {
            assert_eq!(path, report.path, "{what}");
            assert_eq!(contents, want, "{what}");
        }
    }

    // CIFAR-10: exact size and MD5, and a well-formed batch.
    let (batch, _) = cifar_records(&[1, 2, 3], 22);
    let mut bad_label = batch.clone();
    bad_label[3073] = 12;
    for (what, canon, bytes, valid) in [
        ("valid batch", &batch, batch.clone(), true),
        (
            "truncated batch",
            &batch,
            batch[..batch.len() - 1].to_vec(),
            false,
        ),
        (
            "batch with a corrupt pixel",
            &batch,
            {
                let mut b = batch.clone();
                b[100] ^= 1;
                b
            },
            false,
        ),
        (
            "batch with data after it",
            &batch,
            {
                let mut b = batch.clone();
                b.extend_from_slice(&batch[..3073]);
                b
            },
            false,
        ),
        // Published checksum and size, but a label out of range: not a valid batch.
        (
            "published bytes with a bad label",
            &bad_label,
            bad_label.clone(),
            false,
        ),
    ] {
        let forms = vec![FileForm {
            name: "test_batch.bin",
            size: canon.len() as u64,
            gzip: false,
            checksum: Checksum::Md5(leak(physlearn::data::md5_hex(canon))),
        }];
        let file = ExpectedFile {
            forms: Box::leak(forms.into_boxed_slice()),
        };
        let tmp = TempDir::new("agree-cifar");
        write(
            &tmp.path().join("cifar-10-batches-bin/test_batch.bin"),
            &bytes,
        );
        let report = verify::verify_file(tmp.path(), Dataset::Cifar10, Split::Test, &file);
        let loaded = data::load_file(tmp.path(), Dataset::Cifar10, &file, Check::Published);
        assert_eq!(
            report.status.is_ok(),
            loaded.is_ok(),
            "{what}: verify says {report}, load says {:?}",
            loaded.as_ref().err()
        );
        assert_eq!(report.status.is_ok(), valid, "{what}: {report}");
    }
}

#[test]
fn verify_fails_on_invalid_present_files_and_on_missing_required_datasets() {
    let tmp = TempDir::new("verify-rule");
    let dir = tmp.path();
    // Nothing present, nothing required: passes, every data set reported missing.
    let report = data::verify(dir, &[]);
    assert!(report.passed(), "{report}");
    report.result().unwrap();
    for ds in Dataset::ALL {
        assert_eq!(report.state(ds), DatasetState::Missing);
    }
    let text = report.to_string();
    assert_mentions(&text, &["mnist", "fashion-mnist", "cifar10", "missing"]);

    // Required but missing: fails, naming the data set and its files; others do not count.
    let report = data::verify(dir, &[Dataset::Mnist, Dataset::Cifar10, Dataset::Mnist]);
    assert_eq!(report.required, vec![Dataset::Mnist, Dataset::Cifar10]);
    let failures = report.failures();
    assert_eq!(failures.len(), 2, "{failures:?}");
    match &failures[0] {
        Failure::RequiredMissing { dataset, missing } => {
            assert_eq!(*dataset, Dataset::Mnist);
            assert_eq!(missing.len(), 4);
        }
        f => panic!("expected a missing required data set, got {f}"),
    }
    let msg = err_text(report.result());
    assert_mentions(
        &msg,
        &[
            "required data set mnist",
            "required data set cifar10",
            "t10k-labels-idx1-ubyte.gz",
        ],
    );
    assert!(!msg.contains("fashion-mnist"), "{msg}");

    // A present but corrupt file of a data set not required fails too; the rest of that
    // data set being missing does not add a failure.
    let p = dir.join("fashion-mnist/train-labels-idx1-ubyte.gz");
    write(&p, b"\x1f\x8bnot really gzip");
    let report = data::verify(dir, &[]);
    assert_eq!(report.state(Dataset::FashionMnist), DatasetState::Invalid);
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(matches!(&failures[0], Failure::InvalidFile(r) if r.path == p));
    assert_mentions(&err_text(report.result()), &[&p.display().to_string()]);
}

#[test]
fn real_mnist_variants_load_exactly_when_they_verify_if_available() {
    let Some(real) = std::env::var_os("PHYSLEARN_DATA").map(PathBuf::from) else {
        println!("skipped: PHYSLEARN_DATA is not set");
        return;
    };
    let src = real.join("mnist");
    if !src.join("t10k-labels-idx1-ubyte.gz").is_file() {
        println!("skipped: {} has no MNIST test files", src.display());
        return;
    }
    let images_gz = std::fs::read(src.join("t10k-images-idx3-ubyte.gz")).unwrap();
    let canon_gz = std::fs::read(src.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let canon = idx::parse_idx(Path::new("l"), &canon_gz)
        .unwrap()
        .to_bytes();
    let mut other = canon.clone();
    other[100] = (other[100] + 1) % 10;
    for (what, under_gz, bytes, valid) in idx_variants(&canon, &canon_gz, &other) {
        let tmp = TempDir::new("real-agree");
        write(
            &tmp.path().join("mnist/t10k-images-idx3-ubyte.gz"),
            &images_gz,
        );
        let name = if under_gz {
            "t10k-labels-idx1-ubyte.gz"
        } else {
            "t10k-labels-idx1-ubyte"
        };
        write(&tmp.path().join("mnist").join(name), &bytes);
        let report = data::verify(tmp.path(), &[]);
        let loaded = data::load(tmp.path(), Dataset::Mnist, Split::Test, Check::Published);
        let labels = report
            .files
            .iter()
            .find(|r| r.path.ends_with(name))
            .unwrap();
        assert_eq!(labels.status.is_ok(), valid, "{what}: {labels}");
        // The train split is missing, so MNIST is at best incomplete; the test split loads
        // exactly when both its files verify, and a bad file fails the verification.
        assert_eq!(loaded.is_ok(), valid, "{what}: {:?}", loaded.err());
        assert_eq!(report.passed(), valid, "{what}: {report}");
    }
}
