//! safetensors checkpoints round-trip exactly and reject mismatched or corrupt files.

use physlearn::checkpoint::{load, save};
use physlearn::energy::Energy;
use physlearn::energy::bilinear::{Bilinear, BilinearConfig};
use std::collections::BTreeMap;

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("physlearn-ckpt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn round_trip_is_bit_exact_in_f64_and_f32() {
    let d = dir("rt");
    let e = Bilinear::<f64>::new(&BilinearConfig::default(), 3).unwrap();
    let meta: BTreeMap<String, String> = [("seed".to_string(), "3".to_string())].into();
    save(
        &d.join("a.safetensors"),
        &e.param_blocks(),
        e.params(),
        meta.clone(),
    )
    .unwrap();
    let (th, m) = load::<f64>(&d.join("a.safetensors"), &e.param_blocks()).unwrap();
    assert_eq!(th, e.params());
    assert_eq!(m.get("seed").map(String::as_str), Some("3"));
    let e32 = Bilinear::<f32>::new(&BilinearConfig::default(), 3).unwrap();
    save(
        &d.join("b.safetensors"),
        &e32.param_blocks(),
        e32.params(),
        BTreeMap::new(),
    )
    .unwrap();
    let (th32, _) = load::<f32>(&d.join("b.safetensors"), &e32.param_blocks()).unwrap();
    assert_eq!(th32, e32.params());
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn mismatched_missing_and_corrupt_files_are_errors() {
    let d = dir("bad");
    let e = Bilinear::<f64>::new(&BilinearConfig::default(), 3).unwrap();
    save(
        &d.join("a.safetensors"),
        &e.param_blocks(),
        e.params(),
        BTreeMap::new(),
    )
    .unwrap();
    let small = Bilinear::<f64>::new(
        &BilinearConfig {
            rank: 8,
            ..BilinearConfig::default()
        },
        3,
    )
    .unwrap();
    let err = format!(
        "{:#}",
        load::<f64>(&d.join("a.safetensors"), &small.param_blocks()).unwrap_err()
    );
    assert!(err.contains("U_0_1") && err.contains("shape"), "{err}");
    let err = format!(
        "{:#}",
        load::<f64>(&d.join("missing.safetensors"), &e.param_blocks()).unwrap_err()
    );
    assert!(err.contains("missing.safetensors"), "{err}");
    std::fs::write(d.join("junk.safetensors"), b"not a checkpoint").unwrap();
    let err = format!(
        "{:#}",
        load::<f64>(&d.join("junk.safetensors"), &e.param_blocks()).unwrap_err()
    );
    assert!(err.contains("not a valid safetensors"), "{err}");
    std::fs::remove_dir_all(&d).ok();
}
