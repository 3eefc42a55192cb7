//! A tiny MNIST-shaped IDX data set for end-to-end tests of `physlearn train`.

use physlearn::data::idx::IdxArray;
use std::path::Path;

/// MNIST-shaped files (28×28, 10 classes) holding two easy classes: class 0 bright on the
/// left half, class 1 on the right.
pub fn write_dataset(dir: &Path) {
    let m = dir.join("mnist");
    std::fs::create_dir_all(&m).unwrap();
    for (split, n) in [("train", 200usize), ("t10k", 100)] {
        let mut rng = physlearn::dynamics::NoiseKey::new(n as u64, 1).rng(0, 0);
        let mut img = vec![0u8; n * 784];
        let mut lab = vec![0u8; n];
        for i in 0..n {
            let c = (i % 2) as u8;
            lab[i] = c;
            for p in 0..784 {
                let left = p % 28 < 14;
                let on = (left && c == 0) || (!left && c == 1);
                let noise: u8 = rand::Rng::random_range(&mut rng, 0..60);
                img[i * 784 + p] = if on { 195 + noise } else { noise };
            }
        }
        let images = IdxArray {
            dims: vec![n, 28, 28],
            data: img,
        };
        let labels = IdxArray {
            dims: vec![n],
            data: lab,
        };
        std::fs::write(
            m.join(format!("{split}-images-idx3-ubyte")),
            images.to_bytes(),
        )
        .unwrap();
        std::fs::write(
            m.join(format!("{split}-labels-idx1-ubyte")),
            labels.to_bytes(),
        )
        .unwrap();
    }
}

/// `--set` values of a tiny 784-8-10 symmetric-EqProp run on this data set.
pub fn tiny_sets(epochs: usize) -> Vec<String> {
    vec![
        "model.layers=[784, 8, 10]".into(),
        "data.verify=false".into(),
        format!("training.epochs={epochs}"),
        "training.batch_size=10".into(),
        "training.estimator=\"symmetric\"".into(),
        "training.beta=0.5".into(),
    ]
}
