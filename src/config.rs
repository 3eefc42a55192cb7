//! Layered TOML configuration: built-in defaults, then a file, then `--set key=value` edits.
//!
//! The layers are merged as TOML trees before deserialising, so a file only needs the keys it
//! changes, while a misspelt key still fails (every config struct denies unknown fields) with
//! an error that names it.

use anyhow::{Context, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// Deep-merges `over` into `base`. A table that names a different `kind` (a tagged enum
/// variant, e.g. `{ kind = "csb", … }` over a Langevin default) replaces the default whole.
fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o))
                if b.get("kind") == o.get("kind") || o.get("kind").is_none() =>
            {
                merge(b, o)
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn set_path(root: &mut Table, assignment: &str) -> anyhow::Result<()> {
    let Some((path, raw)) = assignment.split_once('=') else {
        bail!("--set {assignment:?}: expected key=value (e.g. e1.beta=0.05)");
    };
    let value: Value = match format!("v = {raw}").parse::<Table>() {
        Ok(mut t) => t.remove("v").expect("parsed key"),
        Err(_) => Value::String(raw.trim().to_string()),
    };
    let keys: Vec<&str> = path.trim().split('.').collect();
    let mut t = root;
    for k in &keys[..keys.len() - 1] {
        t = match t
            .entry(k.to_string())
            .or_insert_with(|| Value::Table(Table::new()))
        {
            Value::Table(t) => t,
            _ => bail!("--set {path}: {k} is not a table"),
        };
    }
    t.insert(keys[keys.len() - 1].to_string(), value);
    Ok(())
}

/// Builds a config from `C::default()`, overridden by the TOML `text` (if any) and then by
/// `key.path=value` assignments.
pub fn layered<C: Serialize + DeserializeOwned + Default>(
    text: Option<&str>,
    sets: &[String],
) -> anyhow::Result<C> {
    let mut base =
        Table::try_from(C::default()).context("serialising the default configuration")?;
    if let Some(text) = text {
        let over: Table = text.parse().context("configuration is not valid TOML")?;
        merge(&mut base, over);
    }
    for s in sets {
        set_path(&mut base, s)?;
    }
    C::deserialize(Value::Table(base)).map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}

/// A configuration loaded in layers (defaults, then a TOML text, then `key=value` edits) and
/// validated: implement [`Layered::check`] and get `load` and `to_toml`.
pub trait Layered: Serialize + DeserializeOwned + Default {
    /// Checks the values, naming the offending key.
    fn check(&self) -> anyhow::Result<()>;

    /// Defaults, then the TOML `text`, then `key=value` edits, then [`Layered::check`];
    /// unknown keys are errors that name the key.
    fn load(text: Option<&str>, sets: &[String]) -> anyhow::Result<Self> {
        let cfg: Self = layered(text, sets)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// The configuration as TOML.
    fn to_toml(&self) -> String {
        toml::to_string(self).expect("a configuration serialises to TOML")
    }
}
