//! Bad input gives a clear error naming the problem.

use physlearn::config::Layered;
use physlearn::energy::bilinear::{Bilinear, BilinearConfig};
use physlearn::experiments::thermo_eqprop::ThermoConfig;

fn err_of(text: &str) -> String {
    format!("{:#}", ThermoConfig::load(Some(text), &[]).unwrap_err())
}

#[test]
fn defaults_are_the_paper_setup() {
    let c = ThermoConfig::load(None, &[]).unwrap();
    assert_eq!(c.substrate.dim(), 64);
    assert_eq!(c.substrate.modules.len(), 4);
    assert_eq!(c.substrate.rank, 16);
    assert_eq!(c.dynamics.steps, 300);
    assert_eq!(c.precision, physlearn::real::Precision::F64);
    // The shipped config file is the defaults.
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/configs/thermo-eqprop.toml"
    ))
    .unwrap();
    assert_eq!(ThermoConfig::load(Some(&shipped), &[]).unwrap(), c);
}

#[test]
fn unknown_key_is_named() {
    let e = err_of("[substrate]\nstifness = 2.0\n");
    assert!(e.contains("stifness"), "{e}");
    let e = err_of("bogus_top = 1\n");
    assert!(e.contains("bogus_top"), "{e}");
}

#[test]
fn partial_tables_keep_other_defaults() {
    let c = ThermoConfig::load(Some("[substrate]\nrank = 8\n[e1]\nbeta = 0.5\n"), &[]).unwrap();
    assert_eq!(c.substrate.rank, 8);
    assert_eq!(c.substrate.stiffness, 1.0);
    assert_eq!(c.e1.beta, 0.5);
    assert_eq!(c.e1.batches, ThermoConfig::default().e1.batches);
}

#[test]
fn set_overrides_apply_and_are_checked() {
    let c = ThermoConfig::load(
        None,
        &[
            "dynamics.temperature=0.0".into(),
            "e3.train.optimizer.lr=0.1".into(),
        ],
    )
    .unwrap();
    assert_eq!(c.dynamics.temperature, 0.0);
    let e = format!(
        "{:#}",
        ThermoConfig::load(None, &["dynamics.temprature=1".into()]).unwrap_err()
    );
    assert!(e.contains("temprature"), "{e}");
    let e = format!(
        "{:#}",
        ThermoConfig::load(None, &["dynamics.dt".into()]).unwrap_err()
    );
    assert!(e.contains("key=value"), "{e}");
}

#[test]
fn negative_stiffness_is_rejected() {
    let e = err_of("[substrate]\nstiffness = -1.0\n");
    assert!(e.contains("stiffness") && e.contains("-1"), "{e}");
    let cfg = BilinearConfig {
        stiffness: -0.5,
        ..BilinearConfig::default()
    };
    let e = format!("{:#}", Bilinear::<f64>::new(&cfg, 0).unwrap_err());
    assert!(e.contains("stiffness"), "{e}");
}

#[test]
fn wrong_dimensions_are_rejected() {
    // Input block 16, output block 8: the score readout cannot match the data.
    let e = err_of("[substrate]\nmodules = [16, 16, 16, 8]\nrank = 8\n");
    assert!(
        e.contains("input block has 16") && e.contains("output block has 8"),
        "{e}"
    );
    let e = err_of("[substrate]\nrank = 32\n");
    assert!(e.contains("rank"), "{e}");
    let e = err_of("[substrate]\npairs = [[1, 0]]\n");
    assert!(e.contains("pairs[0]"), "{e}");
    // A parameter vector of the wrong length.
    let mut b = Bilinear::<f64>::new(&BilinearConfig::default(), 0).unwrap();
    use physlearn::energy::Energy;
    let e = format!("{:#}", b.set_params(&[0.0; 3]).unwrap_err());
    assert!(e.contains("length 3"), "{e}");
    let mut th = b.params().to_vec();
    th[5] = f64::NAN;
    let e = format!("{:#}", b.set_params(&th).unwrap_err());
    assert!(e.contains("U_0_1") && e.contains("NaN"), "{e}");
}

#[test]
fn bad_values_are_rejected() {
    assert!(err_of("[dynamics]\ndt = 0.0\n").contains("dynamics.dt"));
    assert!(err_of("[data]\nsigmas = []\n").contains("data.sigmas"));
    assert!(err_of("precision = \"f16\"\n").contains("precision"));
    assert!(err_of("[dynamics]\ntemperature = -1.0\n").contains("dynamics.temperature"));
}

#[test]
fn shipped_csb_eqprop_config_is_the_defaults() {
    use physlearn::experiments::csb_eqprop::CsbExpConfig;
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/configs/csb-eqprop.toml"
    ))
    .unwrap();
    assert_eq!(
        CsbExpConfig::load(Some(&shipped), &[]).unwrap(),
        CsbExpConfig::default()
    );
    let e = CsbExpConfig::load(None, &["noise.amplitudes=[0.1, 0.0]".into()]).unwrap_err();
    assert!(format!("{e:#}").contains("increasing"), "{e:#}");
}
