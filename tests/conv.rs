//! The layered energy with convolutional couplings: every derivative against finite
//! differences in f64 on tiny conv nets, symmetric EqProp against implicit differentiation
//! and BPTT, the dense-only layered net against the dense Hopfield net, and the shape errors.

mod common;
use common::*;
use physlearn::dynamics::{Langevin, NoiseKey, Workspace};
use physlearn::energy::cost::WeightedSquaredError;
use physlearn::energy::layered::{ConvSpec, Layered, OutputUnits, PoolKind, Shape, Stage};
use physlearn::energy::{Classifier, Energy};
use physlearn::learn::exact::{bptt_gradient, implicit_gradient};
use physlearn::learn::{EqProp, Estimator, PhaseSpec};
use physlearn::linalg::{dist, norm};

fn conv(
    channels: usize,
    kernel: usize,
    padding: usize,
    stride: usize,
    pool: usize,
    kind: PoolKind,
) -> Stage {
    Stage::Conv(ConvSpec {
        channels,
        kernel,
        stride,
        padding,
        pool,
        pool_kind: kind,
    })
}

fn dense(units: usize) -> Stage {
    Stage::Dense {
        units,
        init: physlearn::energy::layered::DenseInit::Glorot,
    }
}

/// `e` with every parameter scaled by `scale` and small, distinct non-zero biases.
fn with_biases(mut e: Layered<f64>, scale: f64) -> Layered<f64> {
    let blocks = e.param_blocks();
    let mut th: Vec<f64> = e.params().iter().map(|v| scale * v).collect();
    for b in blocks.iter().filter(|b| b.name.starts_with('b')) {
        for (i, v) in th[b.offset..b.offset + b.len()].iter_mut().enumerate() {
            *v = 0.2 + 0.05 * ((i % 7) as f64 - 3.0);
        }
    }
    e.set_params(&th).unwrap();
    e
}

#[test]
fn tiny_conv_nets_pass_every_derivative_check() {
    let nets: Vec<(Shape, Vec<Stage>)> = vec![
        // The tiny net: 1×6×6 → conv 3×3, 2 channels → max-pool 2 → dense 2.
        (
            Shape::map(1, 6, 6),
            vec![conv(2, 3, 1, 1, 2, PoolKind::Max), dense(2)],
        ),
        // Two conv layers (the second free on both sides), no padding, average pooling.
        (
            Shape::map(2, 8, 8),
            vec![
                conv(3, 3, 0, 1, 2, PoolKind::Max),
                conv(2, 2, 1, 1, 2, PoolKind::Avg),
                dense(3),
            ],
        ),
        // A strided convolution without pooling, and a dense layer between conv layers' outputs.
        (
            Shape::map(1, 7, 7),
            vec![conv(2, 3, 0, 2, 1, PoolKind::Max), dense(4), dense(2)],
        ),
    ];
    for (i, (input, stages)) in nets.into_iter().enumerate() {
        let e = Layered::<f64>::new(input, &stages, 3 + i as u64).unwrap();
        let nc = e.n_clamped();
        let mut e = with_biases(e, 1.0);
        checks::all(&mut e, nc, 11 + 100 * i as u64);
    }
}

/// A conv layer wide enough for the fast paths: 18 output channels (a full block of the
/// branch-free max-pool plus a remainder) and im2col columns of 36 (a full register block
/// of the sparse feedback plus a remainder), with half of its states exactly zero (the
/// feedback leaves those channels out): the force against central differences.
#[test]
fn wide_conv_layers_with_zero_states_match_finite_differences() {
    let stages = [
        conv(4, 3, 1, 1, 2, PoolKind::Max),
        conv(18, 3, 1, 1, 2, PoolKind::Max),
        dense(3),
    ];
    let e = with_biases(
        Layered::<f64>::new(Shape::map(1, 8, 8), &stages, 7).unwrap(),
        1.0,
    );
    let d = e.dim();
    let top = e.layer(2);
    assert_eq!(top.len(), 18 * 2 * 2);
    let mut x = checks::states(&e, 3, 21);
    for j in 0..3 {
        for (i, u) in top.clone().enumerate() {
            if (i + j) % 2 == 0 {
                x[j * d + u] = 0.0;
            }
        }
    }
    let total = |x: &[f64]| {
        let mut out = vec![0.0; 3];
        e.energy(x, &mut out);
        out.iter().sum::<f64>()
    };
    let mut g = vec![0.0; x.len()];
    e.grad_x(&x, &mut g);
    let h = 1e-6;
    let mut fd = vec![0.0; x.len()];
    for i in 0..x.len() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[i] += h;
        xm[i] -= h;
        fd[i] = (total(&xp) - total(&xm)) / (2.0 * h);
    }
    assert!(
        max_abs_diff(&g, &fd) < 1e-7 * (1.0 + max_abs(&fd)),
        "force mismatch: {}",
        max_abs_diff(&g, &fd)
    );
    let mut e = e;
    checks::all(&mut e, 64, 77);
}

#[test]
fn dense_layered_net_is_the_dense_hopfield_net() {
    use physlearn::energy::hopfield::Hopfield;
    let sizes = [7, 5, 3];
    let h = Hopfield::<f64>::new(&sizes, 4).unwrap();
    let stages: Vec<Stage> = sizes[1..].iter().map(|&u| dense(u)).collect();
    // The coupling-by-coupling sum, not the dense-chain kernels (which are the Hopfield net).
    let mut l = Layered::<f64>::new(Shape::flat(7), &stages, 4)
        .unwrap()
        .generic();
    assert!(!l.uses_dense_chain());
    assert_eq!(
        l.param_blocks(),
        h.param_blocks(),
        "same parameter layout and names"
    );
    let th: Vec<f64> = (0..h.n_params())
        .map(|i| ((i * 37) % 11) as f64 * 0.05 - 0.25)
        .collect();
    let mut h = h;
    h.set_params(&th).unwrap();
    l.set_params(&th).unwrap();
    let x = checks::states(&l, 4, 9);
    let (mut eh, mut el) = (vec![0.0; 4], vec![0.0; 4]);
    h.energy(&x, &mut eh);
    l.energy(&x, &mut el);
    assert!(max_abs_diff(&eh, &el) < 1e-12);
    let (mut gh, mut gl) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    h.grad_x(&x, &mut gh);
    l.grad_x(&x, &mut gl);
    assert!(max_abs_diff(&gh, &gl) < 1e-12);
    let w = [1.0, 0.5, -0.5, 2.0];
    let (mut ph, mut pl) = (vec![0.0; th.len()], vec![0.0; th.len()]);
    h.grad_theta(&x, &w, &mut ph);
    l.grad_theta(&x, &w, &mut pl);
    assert!(max_abs_diff(&ph, &pl) < 1e-12);
}

/// A dense chain (the MLP configs' net) is computed by the fused dense-chain kernels, and they
/// agree with the coupling-by-coupling sum on every derivative and fast path: with a sparse
/// input (the sparse drive and readout) and a dense one, the thin top pair stepped in place.
#[test]
fn dense_chain_kernels_match_the_coupling_sum() {
    let sizes = [40, 12, 3];
    let fused = Layered::<f64>::dense(&sizes, 6).unwrap();
    assert!(fused.uses_dense_chain() && fused.is_dense_chain());
    let fused = with_biases(fused, 1.0);
    let generic = with_biases(Layered::<f64>::dense(&sizes, 6).unwrap().generic(), 1.0);
    assert_eq!(fused.params(), generic.params());
    let (d, nc, n) = (fused.dim(), sizes[0], 6);
    for sparse in [true, false] {
        let mut x = checks::states(&fused, n, 11);
        if sparse {
            // About 85 % of the input pixels zero, as MNIST's.
            for (i, v) in x.iter_mut().enumerate() {
                if i % d < nc && (i * 7919) % 20 > 2 {
                    *v = 0.0;
                }
            }
        }
        let both = |f: &dyn Fn(&Layered<f64>) -> Vec<f64>, what: &str| {
            let (a, b) = (f(&fused), f(&generic));
            assert!(
                max_abs_diff(&a, &b) < 1e-12 * (1.0 + max_abs(&b)),
                "{what} (sparse input: {sparse}): fused {a:?} vs generic {b:?}"
            );
        };
        let drive = |e: &Layered<f64>| {
            let mut dr = vec![0.0; n * (d - nc)];
            e.clamped_drive(&x, nc, &mut dr);
            dr
        };
        both(&drive, "clamped drive");
        both(
            &|e| {
                let mut o = vec![0.0; n * (d - nc)];
                e.grad_free(&x, nc, &drive(e), &mut o);
                o
            },
            "free force",
        );
        both(
            &|e| {
                let mut o = vec![0.0; n];
                physlearn::energy::energy_free(e, &x, nc, &drive(e), &mut o);
                o
            },
            "energy from the drive",
        );
        let v = rand_vec(x.len(), 12, 1.0);
        both(
            &|e| {
                let mut o = vec![0.0; x.len()];
                e.hvp(&x, &v, &mut o);
                o
            },
            "Hessian-vector product",
        );
        let w: Vec<f64> = (0..n).map(|j| 0.5 - 0.3 * j as f64).collect();
        both(
            &|e| {
                let mut o = vec![0.1; e.n_params()];
                e.grad_theta(&x, &w, &mut o);
                e.grad_theta_dir(&x, &v, &w, &mut o);
                o
            },
            "parameter readouts",
        );
        let mut xb = checks::states(&fused, n, 13);
        for j in 0..n {
            xb[j * d..j * d + nc].copy_from_slice(&x[j * d..j * d + nc]);
        }
        both(
            &|e| {
                let mut o = vec![0.1; e.n_params()];
                physlearn::energy::grad_theta_pair(e, &x, &xb, nc, &w, (0.7, -1.3), &mut o);
                o
            },
            "paired readout",
        );
        // The fused step of the lowest free layer against the generic force and a step.
        let p = physlearn::energy::flow_prefix(&fused, nc);
        assert_eq!(p, sizes[1], "the 12-3 pair steps the 12 units below it");
        let dr = drive(&fused);
        let (mut xf, mut of) = (x.clone(), vec![0.0; n * (d - nc)]);
        fused.fast().unwrap().grad_free_flow(
            &mut xf,
            nc,
            &dr,
            physlearn::energy::FlowStep {
                dt: 0.4,
                lo: 0.0,
                hi: 1.0,
            },
            &mut of,
        );
        let mut og = vec![0.0; n * (d - nc)];
        generic.grad_free(&x, nc, &drive(&generic), &mut og);
        for j in 0..n {
            for i in 0..d - nc {
                let (k, g) = (j * d + nc + i, og[j * (d - nc) + i]);
                if i < p {
                    let want = (x[k] - 0.4 * g).clamp(0.0, 1.0);
                    assert!((xf[k] - want).abs() < 1e-12, "stepped unit {i}");
                } else {
                    assert!(
                        (of[j * (d - nc) + i] - g).abs() < 1e-12,
                        "force of unit {i}"
                    );
                }
            }
        }
    }
    let mut fused = fused;
    checks::all(&mut fused, nc, 21);
}

/// A 1×6×6 → conv 3×3 (2 channels, padding 1) → max-pool 2 → dense 3 net, scaled weights,
/// with 5 random inputs and one-hot targets. A linear output layer gets biases −0.8, 1.5 and
/// 0.2, so its equilibrium leaves the hard sigmoid's box.
fn conv_setup(
    scale: f64,
    output: OutputUnits,
) -> (Layered<f64>, Vec<f64>, WeightedSquaredError<f64>) {
    let stages = [conv(2, 3, 1, 1, 2, PoolKind::Max), dense(3)];
    let mut e = with_biases(
        Layered::<f64>::new(Shape::map(1, 6, 6), &stages, 9).unwrap(),
        scale,
    )
    .with_output(output);
    if output == OutputUnits::Linear {
        let b = e
            .param_blocks()
            .into_iter()
            .find(|b| b.name == "b_2")
            .unwrap();
        let mut th = e.params().to_vec();
        th[b.offset..b.offset + 3].copy_from_slice(&[-0.8, 1.5, 0.2]);
        e.set_params(&th).unwrap();
    }
    let (d, nc) = (e.dim(), e.n_clamped());
    let n = 5;
    let mut rng = NoiseKey::new(4, 4).rng(0, 0);
    let mut x0 = vec![0.0; n * d];
    let mut target = vec![0.0; n * 3];
    for b in 0..n {
        for i in 0..nc {
            x0[b * d + i] = rand::Rng::random::<f64>(&mut rng);
        }
        target[b * 3 + b % 3] = 1.0;
    }
    let (start, len) = e.output_block();
    let cost = WeightedSquaredError {
        start,
        len,
        target,
        weight: vec![1.0; n],
    };
    (e, x0, cost)
}

#[test]
fn bptt_through_a_conv_net_matches_finite_differences() {
    for output in [OutputUnits::HardSigmoid, OutputUnits::Linear] {
        bptt_matches_finite_differences(output);
    }
}

fn bptt_matches_finite_differences(output: OutputUnits) {
    let (mut e, x0, cost) = conv_setup(0.6, output);
    let nc = e.n_clamped();
    let dyn_ = Langevin {
        dt: 0.3,
        steps: 30,
        temperature: 0.0,
    };
    let key = NoiseKey::new(0, 0);
    let mut ws = Workspace::new();
    let (g, _) = bptt_gradient(&e, &x0, nc, &dyn_, &cost, key, &mut ws).unwrap();
    let fd = checks::relaxed_loss_fd(&mut e, &x0, nc, &dyn_, &cost, 1e-7);
    assert!(
        norm(&fd) > 1e-3,
        "degenerate test: the loss does not depend on θ"
    );
    assert!(
        dist(&g, &fd) < 1e-6 * (1.0 + norm(&fd)),
        "BPTT vs finite differences ({output:?} output): {}",
        dist(&g, &fd)
    );
}

#[test]
fn symmetric_eqprop_on_a_conv_net_matches_implicit_differentiation_and_bptt() {
    for output in [OutputUnits::HardSigmoid, OutputUnits::Linear] {
        symmetric_eqprop_matches_exact(output);
    }
}

fn symmetric_eqprop_matches_exact(output: OutputUnits) {
    let (e, x0, cost) = conv_setup(0.6, output);
    let nc = e.n_clamped();
    let long = Langevin {
        dt: 0.3,
        steps: 3000,
        temperature: 0.0,
    };
    let mut ws = Workspace::new();
    let (gb, xeq) = bptt_gradient(&e, &x0, nc, &long, &cost, NoiseKey::new(0, 0), &mut ws).unwrap();
    let gi = implicit_gradient(&e, &xeq, nc, &cost);
    let pinned = xeq.iter().filter(|&&v| v == 0.0 || v == 1.0).count();
    let (start, len) = e.output_block();
    let outside = xeq
        .chunks_exact(e.dim())
        .flat_map(|s| &s[start..start + len])
        .filter(|&&v| !(0.0..=1.0).contains(&v))
        .count();
    match output {
        OutputUnits::Linear => assert!(outside > 0, "degenerate test: outputs in [0, 1]"),
        OutputUnits::HardSigmoid => assert_eq!(outside, 0, "hard-sigmoid outputs left the box"),
    }
    assert!(
        norm(&gi) > 1e-3,
        "degenerate test: ‖∇L‖ = {}, {pinned} pinned units",
        norm(&gi)
    );
    assert!(
        dist(&gb, &gi) < 1e-8 * norm(&gi),
        "implicit vs BPTT: {}",
        dist(&gb, &gi) / norm(&gi)
    );
    let g = EqProp::new(Estimator::Symmetric, 1e-4, PhaseSpec::finite(long))
        .gradient(&e, &x0, nc, &cost, NoiseKey::new(0, 0), &mut ws)
        .unwrap()
        .grad;
    let rel = dist(&g, &gi) / norm(&gi);
    assert!(
        rel < 1e-6,
        "symmetric EqProp vs implicit ({output:?} output): relative error {rel}"
    );
}

#[test]
fn shapes_that_do_not_chain_are_refused_naming_the_layer() {
    let err = |input: Shape, stages: &[Stage]| {
        Layered::<f32>::new(input, stages, 0)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let e = err(
        Shape::map(1, 4, 4),
        &[conv(2, 5, 0, 1, 1, PoolKind::Max), dense(2)],
    );
    assert!(
        e.contains("layer 1") && e.contains("5×5 kernel") && e.contains("4×4"),
        "{e}"
    );
    let e = err(
        Shape::map(1, 6, 6),
        &[
            conv(2, 3, 1, 1, 2, PoolKind::Max),
            conv(2, 3, 1, 1, 2, PoolKind::Max),
        ],
    );
    assert!(
        e.contains("layer 2")
            && e.contains("2×2 pooling window")
            && e.contains("3×3 convolution output"),
        "{e}"
    );
    let e = err(Shape::map(1, 6, 6), &[conv(2, 3, 0, 1, 3, PoolKind::Max)]);
    assert!(
        e.contains("layer 1") && e.contains("does not tile the 4×4"),
        "{e}"
    );
    // A coupling whose shapes do not match its layers.
    use physlearn::energy::layered::{Coupling, Dense};
    let c: Box<dyn Coupling<f32>> = Box::new(Dense::new(Shape::flat(5), 3));
    let e = Layered::<f32>::from_links(vec![Shape::flat(4), Shape::flat(3)], vec![(0, 1, c)], 0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("maps 5 to 3") && e.contains("layers are 4 and 3"),
        "{e}"
    );
}

mod configs {
    use physlearn::config::Layered as _;
    use physlearn::train::TrainConfig;

    fn load(name: &str, sets: &[&str]) -> anyhow::Result<TrainConfig> {
        let path = format!("{}/configs/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        TrainConfig::load(Some(&text), &sets)
    }

    #[test]
    fn shipped_conv_configs_load_with_the_papers_shapes() {
        let c = load("mnist-conv-ep.toml", &[]).unwrap();
        assert!(
            c.model.layers.is_empty(),
            "the default dense layers are displaced"
        );
        assert_eq!(
            c.model.layer_sizes((1, 28, 28)).unwrap(),
            vec![784, 32 * 12 * 12, 64 * 4 * 4, 10]
        );
        for name in ["fashion-conv-ep.toml", "mnist-conv-csb.toml"] {
            load(name, &[]).unwrap();
        }
        for ds in ["mnist", "fashion", "cifar10"] {
            let c = load(&format!("{ds}-dchn4-csb.toml"), &[]).unwrap();
            let image = if ds == "cifar10" {
                (3, 32, 32)
            } else {
                (1, 28, 28)
            };
            let sizes = c.model.layer_sizes(image).unwrap();
            assert_eq!(
                &sizes[1..],
                &[128 * 16 * 16, 256 * 8 * 8, 512 * 4 * 4, 512 * 2 * 2, 10],
                "{ds}: padded to 32×32, four conv stages halving the maps"
            );
            let narrow = load(&format!("{ds}-dchn4-csb.toml"), &["model.width=0.25"]).unwrap();
            assert_eq!(
                &narrow.model.layer_sizes(image).unwrap()[1..3],
                &[32 * 16 * 16, 64 * 8 * 8],
                "model.width scales every channel count"
            );
        }
        // The MLP configs still load as dense nets, and a dense net can be set on a conv file.
        let m = load("mnist-mlp-ep.toml", &[]).unwrap();
        assert_eq!(m.model.layers, vec![784, 500, 10]);
        assert!(m.model.conv.is_empty());
        let d = load(
            "mnist-conv-ep.toml",
            &[
                "model.layers=[784, 20, 10]",
                "model.dense=[]",
                "training.layer_lr=[]",
            ],
        )
        .unwrap();
        assert!(d.model.conv.is_empty() && d.model.layers == vec![784, 20, 10]);
    }

    #[test]
    fn conv_configs_whose_shapes_do_not_chain_are_refused() {
        let e = |sets: &[&str]| format!("{:#}", load("mnist-conv-ep.toml", sets).unwrap_err());
        let m = e(&["model.conv=[{ channels = 4, kernel = 29 }]"]);
        assert!(
            m.contains("layer 1") && m.contains("29×29 kernel") && m.contains("28×28"),
            "{m}"
        );
        let m = e(&[
            "model.conv=[{ channels = 4, kernel = 3, pool = 2 }, { channels = 4, kernel = 3, pool = 2 }]",
        ]);
        assert!(
            m.contains("layer 2") && m.contains("pooling window does not tile the 11×11"),
            "{m}"
        );
        let m = e(&["model.pad_to=20"]);
        assert!(
            m.contains("model.pad_to = 20") && m.contains("28×28"),
            "{m}"
        );
        let m = e(&["model.layers=[784, 10]"]);
        assert!(m.contains("model.dense") && m.contains("conv nets"), "{m}");
        let both =
            "[model]\nlayers = [784, 10]\ndense = [10]\n[[model.conv]]\nchannels = 2\nkernel = 3\n";
        let m = format!("{:#}", TrainConfig::load(Some(both), &[]).unwrap_err());
        assert!(m.contains("exclusive"), "{m}");
        let m = e(&["model.dense=[]"]);
        assert!(m.contains("model.dense"), "{m}");
        let m = e(&["model.width=0"]);
        assert!(m.contains("model.width"), "{m}");
        let m = e(&["model.output=\"relu\""]);
        assert!(m.contains("relu") && m.contains("linear"), "{m}");
        let m = format!(
            "{:#}",
            load("mnist-mlp-ep.toml", &["model.output=\"linear\""]).unwrap_err()
        );
        assert!(m.contains("model.output") && m.contains("conv nets"), "{m}");
        let lin = load("mnist-conv-ep.toml", &["model.output=\"linear\""]).unwrap();
        assert_eq!(
            lin.model.output,
            physlearn::energy::layered::OutputUnits::Linear
        );
    }
}

/// Batches larger than one forward product (several sample groups inside a coupling) give
/// each sample the result it gets alone.
#[test]
fn batched_conv_results_equal_per_sample_results() {
    let stages = [
        conv(3, 3, 1, 1, 2, PoolKind::Max),
        conv(2, 3, 1, 1, 1, PoolKind::Max),
        dense(2),
    ];
    let e = with_biases(
        Layered::<f64>::new(Shape::map(1, 6, 6), &stages, 5).unwrap(),
        1.0,
    );
    let (d, np) = (e.dim(), e.n_params());
    let n = 20;
    let x = checks::states(&e, n, 3);
    let v = rand_vec(n * d, 4, 1.0);
    let w: Vec<f64> = (0..n).map(|i| 0.1 * i as f64 - 0.7).collect();
    let (mut g, mut hv, mut gt) = (vec![0.0; n * d], vec![0.0; n * d], vec![0.0; np]);
    e.grad_x(&x, &mut g);
    e.hvp(&x, &v, &mut hv);
    e.grad_theta(&x, &w, &mut gt);
    let mut gt1 = vec![0.0; np];
    for j in 0..n {
        let (xs, vs) = (&x[j * d..(j + 1) * d], &v[j * d..(j + 1) * d]);
        let (mut g1, mut h1) = (vec![0.0; d], vec![0.0; d]);
        e.grad_x(xs, &mut g1);
        e.hvp(xs, vs, &mut h1);
        assert!(
            max_abs_diff(&g1, &g[j * d..(j + 1) * d]) < 1e-12,
            "force, sample {j}"
        );
        assert!(
            max_abs_diff(&h1, &hv[j * d..(j + 1) * d]) < 1e-12,
            "hvp, sample {j}"
        );
        e.grad_theta(xs, &w[j..j + 1], &mut gt1);
    }
    assert!(
        max_abs_diff(&gt, &gt1) < 1e-10 * (1.0 + max_abs(&gt)),
        "readout"
    );
}
