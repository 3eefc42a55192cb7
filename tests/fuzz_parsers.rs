//! Property tests of the checkpoint reader and the configuration parser: random bytes and
//! mutations of valid inputs never panic, never allocate more than the input justifies, and
//! give either an error or a valid value. The case counts are bounded so the file runs in
//! seconds (raise `PROPTEST_CASES` to search longer).

use physlearn::checkpoint::{Checkpoint, Tensor, to_bytes};
use physlearn::config::Layered;
use physlearn::energy::ParamBlock;
use physlearn::train::TrainConfig;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

const SHIPPED: &str = include_str!("../configs/mnist-mlp-ep.toml");

fn blocks() -> Vec<ParamBlock> {
    vec![
        ParamBlock {
            name: "W_0".into(),
            shape: vec![3, 4],
            offset: 0,
        },
        ParamBlock {
            name: "b_1".into(),
            shape: vec![3],
            offset: 12,
        },
    ]
}

fn valid_checkpoint() -> Vec<u8> {
    let w: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
    let b: Vec<f64> = vec![0.5, -0.5, 2.0];
    let meta: BTreeMap<String, String> = [
        ("format".to_string(), "pt".to_string()),
        ("physlearn.train".to_string(), "{\"epoch\":1}".to_string()),
    ]
    .into();
    to_bytes(
        &[
            Tensor::new("W_0", &[3, 4], &w),
            Tensor::f64("b_1", &[3], &b),
        ],
        &meta,
    )
    .unwrap()
}

/// Reads `bytes` as a checkpoint and, where that succeeds, decodes the expected tensors:
/// either an error or finite values of the expected length.
fn read_all(bytes: Vec<u8>) {
    let len = bytes.len();
    let Ok(ck) = Checkpoint::from_bytes(Path::new("fuzz.safetensors"), bytes) else {
        return;
    };
    for k in ck.metadata().keys() {
        let _ = ck.meta_value::<u64>(k);
    }
    match ck.params::<f64>(&blocks()) {
        Ok(theta) => {
            assert_eq!(theta.len(), 15);
            assert!(theta.iter().all(|v| v.is_finite()));
            // What was decoded was in the input: 15 values of at least 4 bytes.
            assert!(len >= 15 * 4);
        }
        Err(e) => assert!(e.to_string().contains("fuzz.safetensors"), "{e}"),
    }
    let _ = ck.has("W_0");
    let _ = ck.tensor_f64("missing", &[1]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        read_all(bytes);
    }

    #[test]
    fn mutated_checkpoints_are_errors_or_valid(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let mut bytes = valid_checkpoint();
        for (pos, v) in flips {
            let i = pos % bytes.len();
            bytes[i] = v;
        }
        if let Some(c) = cut {
            bytes.truncate(c % (bytes.len() + 1));
        }
        read_all(bytes);
    }

    #[test]
    fn huge_header_claims_fail_without_allocating(claim in any::<u64>(), tail in 0usize..64) {
        // The 8-byte header length claims `claim` bytes of a file of 8 + tail bytes.
        let mut bytes = claim.to_le_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(b' ', tail));
        prop_assert!(Checkpoint::from_bytes(Path::new("x"), bytes).is_err() || claim as usize <= tail);
    }

    #[test]
    fn random_config_text_is_never_a_panic(text in "\\PC{0,200}") {
        if let Ok(c) = TrainConfig::load(Some(&text), &[]) {
            prop_assert!(c.validate().is_ok());
        }
    }

    #[test]
    fn mutated_configs_are_errors_or_valid_values(
        edits in proptest::collection::vec((any::<usize>(), prop_oneof![
            Just("-1".to_string()), Just("0".to_string()), Just("nan".to_string()),
            Just("inf".to_string()), Just("1e300".to_string()), Just("18446744073709551615".to_string()),
            Just("\"x\"".to_string()), Just("[]".to_string()), Just("{}".to_string()),
            Just("true".to_string()), Just("100000000000".to_string()),
            (-1e6f64..1e6).prop_map(|v| v.to_string()),
        ]), 1..4),
    ) {
        // Replace the value of some `key = value` lines of the shipped configuration.
        let mut lines: Vec<String> = SHIPPED.lines().map(String::from).collect();
        let assignable: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains(" = ") && !l.starts_with('#'))
            .map(|(i, _)| i)
            .collect();
        for (pick, value) in edits {
            let i = assignable[pick % assignable.len()];
            let key = lines[i].split(" = ").next().unwrap().to_string();
            lines[i] = format!("{key} = {value}");
        }
        let text = lines.join("\n");
        match TrainConfig::load(Some(&text), &[]) {
            Ok(c) => {
                prop_assert!(c.validate().is_ok());
                // A valid value round-trips through its TOML.
                let back = TrainConfig::load(Some(&c.to_toml()), &[]).unwrap();
                prop_assert_eq!(back, c);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                prop_assert!(!msg.is_empty());
            }
        }
    }

    #[test]
    fn random_set_assignments_are_never_a_panic(
        key in "[a-z_.]{0,30}",
        value in "\\PC{0,40}",
    ) {
        let _ = TrainConfig::load(Some(SHIPPED), &[format!("{key}={value}")]);
        let _ = TrainConfig::load(None, &[format!("training.{key}={value}")]);
    }
}
