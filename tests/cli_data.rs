//! Exit status and messages of `physlearn data verify`, run as the built binary on small
//! synthetic data directories. One test also verifies the real data when `PHYSLEARN_DATA`
//! points at a directory holding MNIST and Fashion-MNIST.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/files.rs"]
mod files;
use files::TempDir;

/// Runs `physlearn data verify --data-dir DIR ARGS…` with `PHYSLEARN_DATA` removed from
/// its environment.
fn verify(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_physlearn"))
        .args(["data", "verify", "--data-dir"])
        .arg(dir)
        .args(args)
        .env_remove("PHYSLEARN_DATA")
        .output()
        .expect("cannot run the physlearn binary")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn empty_data_dir_without_required_datasets_exits_zero() {
    let tmp = TempDir::new("empty");
    let out = verify(tmp.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for ds in ["mnist", "fashion-mnist", "cifar10"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(ds) && l.ends_with("missing")),
            "no missing line for {ds}:\n{stdout}"
        );
    }
}

#[test]
fn required_dataset_missing_exits_nonzero_naming_it() {
    let tmp = TempDir::new("required");
    let out = verify(tmp.path(), &["--dataset", "mnist"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("required data set mnist"), "{stderr}");
    assert!(stdout.contains("(required)"), "{stdout}");

    // Comma-separated and repeated flags, with the accepted spellings.
    let out = verify(
        tmp.path(),
        &["--dataset", "Fashion-MNIST,cifar-10", "--dataset", "mnist"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for ds in ["mnist", "fashion-mnist", "cifar10"] {
        assert!(
            stderr.contains(&format!("required data set {ds} ")),
            "{ds}: {stderr}"
        );
    }

    // An unknown name is a usage error.
    let out = verify(tmp.path(), &["--dataset", "imagenet"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("imagenet"), "{stderr}");
}

#[test]
fn corrupt_present_file_exits_nonzero_naming_it() {
    let tmp = TempDir::new("corrupt");
    let p = tmp.path().join("mnist/t10k-labels-idx1-ubyte.gz");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, b"\x1f\x8b\x08\x00 this is not a gzip stream").unwrap();
    // Not required, yet present and corrupt: a failure.
    let out = verify(tmp.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains(&p.display().to_string()), "{stderr}");
    assert!(stdout.contains("mnist          invalid"), "{stdout}");

    // A raw file shorter than the published one is truncated.
    std::fs::remove_file(&p).unwrap();
    let raw = tmp.path().join("mnist/t10k-labels-idx1-ubyte");
    let mut idx = 0x0000_0801u32.to_be_bytes().to_vec();
    idx.extend_from_slice(&3u32.to_be_bytes());
    idx.extend_from_slice(&[1, 2, 3]);
    std::fs::write(&raw, &idx).unwrap();
    let out = verify(tmp.path(), &["--dataset", "cifar10"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("TRUNCATED") && stderr.contains(&raw.display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains("required data set cifar10"), "{stderr}");
}

#[test]
fn missing_data_dir_exits_nonzero() {
    let tmp = TempDir::new("nodir");
    let out = verify(&tmp.path().join("absent"), &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn real_data_verifies_if_available() {
    let Some(dir) = std::env::var_os("PHYSLEARN_DATA").map(PathBuf::from) else {
        println!("skipped: PHYSLEARN_DATA is not set");
        return;
    };
    if !dir.join("mnist").is_dir() || !dir.join("fashion-mnist").is_dir() {
        println!("skipped: {} lacks mnist/ or fashion-mnist/", dir.display());
        return;
    }
    let out = verify(&dir, &["--dataset", "mnist,fashion-mnist"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("mnist          present and valid"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fashion-mnist  present and valid"),
        "{stdout}"
    );
}
