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
    if keys.iter().any(|k| k.is_empty()) {
        bail!("--set {assignment:?}: {path:?} is not a key path (e.g. training.beta)");
    }
    if let [parents @ .., "kind"] = keys.as_slice()
        && let Some(Value::Table(t)) = lookup(root, parents)
        && let Some(old) = t.get("kind")
        && *old != value
    {
        // A tagged table's kind selects its fields: merging one key cannot make a valid table.
        let table = parents.join(".");
        let fields: Vec<&str> = t
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "kind")
            .collect();
        bail!(
            "--set {assignment}: changing the kind of {table} (now {old}) changes its fields \
             ({} belong to {old}), so give the table whole, e.g. \
             --set '{table}={{ kind = {value}, … }}' with every field of that kind",
            fields.join(", ")
        );
    }
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

/// The value at the dotted path `keys` under `root`, if any.
fn lookup<'a>(root: &'a Table, keys: &[&str]) -> Option<&'a Value> {
    let (first, rest) = keys.split_first()?;
    let v = root.get(*first)?;
    if rest.is_empty() {
        return Some(v);
    }
    match v {
        Value::Table(t) => lookup(t, rest),
        _ => None,
    }
}

/// One key whose value differs between two configurations.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Dotted key path (e.g. `training.epochs`).
    pub key: String,
    /// The old value as inline TOML (`None`: absent).
    pub old: Option<String>,
    /// The new value as inline TOML (`None`: absent).
    pub new: Option<String>,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
        write!(
            f,
            "{}: {} -> {}",
            self.key,
            show(&self.old),
            show(&self.new)
        )
    }
}

fn diff_tables(prefix: &str, old: &Table, new: &Table, out: &mut Vec<Change>) {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match (old.get(k), new.get(k)) {
            (Some(Value::Table(a)), Some(Value::Table(b))) if a.get("kind") == b.get("kind") => {
                diff_tables(&key, a, b, out)
            }
            (a, b) if a != b => out.push(Change {
                key,
                old: a.map(|v| v.to_string()),
                new: b.map(|v| v.to_string()),
            }),
            _ => {}
        }
    }
}

/// The keys whose values differ between `old` and `new`, in sorted order (a table whose
/// `kind` differs is one change).
pub fn diff<C: Serialize>(old: &C, new: &C) -> anyhow::Result<Vec<Change>> {
    let a = Table::try_from(old).context("serialising a configuration")?;
    let b = Table::try_from(new).context("serialising a configuration")?;
    let mut out = vec![];
    diff_tables("", &a, &b, &mut out);
    Ok(out)
}

/// Checks of the values most configurations share, written once so every configuration
/// applies the same rules; each error names the key and the value.
pub mod check {
    use anyhow::{Result, ensure};

    /// A step size, rate or scale: finite and > 0.
    pub fn positive(key: &str, v: f64) -> Result<()> {
        ensure!(v.is_finite() && v > 0.0, "{key} must be > 0 (got {v})");
        Ok(())
    }

    /// A damping, noise level, temperature or momentum: finite and ≥ 0.
    pub fn non_negative(key: &str, v: f64) -> Result<()> {
        ensure!(v.is_finite() && v >= 0.0, "{key} must be ≥ 0 (got {v})");
        Ok(())
    }

    /// A decay or momentum factor in `[0, 1)`.
    pub fn fraction(key: &str, v: f64) -> Result<()> {
        ensure!(
            (0.0..1.0).contains(&v),
            "{key} must lie in [0, 1) (got {v})"
        );
        Ok(())
    }

    /// A count of steps, epochs or samples: ≥ 1.
    pub fn at_least_one(key: &str, n: usize) -> Result<()> {
        ensure!(n >= 1, "{key} must be ≥ 1 (got {n})");
        Ok(())
    }
}

/// Builds a config from `C::default()`, overridden by the TOML `text` (if any) and then by
/// `key.path=value` assignments.
pub fn layered<C: Serialize + DeserializeOwned + Default>(
    text: Option<&str>,
    sets: &[String],
) -> anyhow::Result<C> {
    layered_with(text, sets, &[])
}

fn path_keys<'a>(groups: &[&[&'a str]]) -> Vec<&'a str> {
    groups.iter().flat_map(|g| g.iter().copied()).collect()
}

/// Removes the value at the dotted `path` from `root`, if there.
fn remove_path(root: &mut Table, path: &str) {
    let keys: Vec<&str> = path.split('.').collect();
    let mut t = root;
    for k in &keys[..keys.len() - 1] {
        match t.get_mut(*k) {
            Some(Value::Table(sub)) => t = sub,
            _ => return,
        }
    }
    t.remove(keys[keys.len() - 1]);
}

/// For each group of mutually exclusive keys, the keys of the group other than one that
/// `given` reports as set (so a default of one alternative does not linger beside another).
fn displaced<'a>(groups: &[&[&'a str]], given: impl Fn(&str) -> bool) -> Vec<&'a str> {
    let mut out = vec![];
    for g in groups {
        if let Some(chosen) = g.iter().find(|p| given(p)) {
            out.extend(g.iter().filter(|p| *p != chosen));
        }
    }
    out
}

/// As [`layered`], where `exclusive` lists groups of dotted keys that are alternatives
/// (e.g. `["model.layers", "model.conv"]`): a layer that sets one of a group removes the
/// others from the layers below it.
pub fn layered_with<C: Serialize + DeserializeOwned + Default>(
    text: Option<&str>,
    sets: &[String],
    exclusive: &[&[&str]],
) -> anyhow::Result<C> {
    let mut base =
        Table::try_from(C::default()).context("serialising the default configuration")?;
    if let Some(text) = text {
        let over: Table = text.parse().context("configuration is not valid TOML")?;
        let keys: Vec<&str> = path_keys(exclusive);
        for p in displaced(exclusive, |p| {
            keys.contains(&p) && lookup(&over, &p.split('.').collect::<Vec<_>>()).is_some()
        }) {
            remove_path(&mut base, p);
        }
        merge(&mut base, over);
    }
    for s in sets {
        let path = s.split_once('=').map_or(s.as_str(), |(p, _)| p.trim());
        for p in displaced(exclusive, |p| {
            path == p || path.starts_with(&format!("{p}."))
        }) {
            remove_path(&mut base, p);
        }
        set_path(&mut base, s)?;
    }
    C::deserialize(Value::Table(base)).map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}

/// A configuration loaded in layers (defaults, then a TOML text, then `key=value` edits) and
/// validated: implement [`Layered::check`] and get `load` and `to_toml`.
pub trait Layered: Serialize + DeserializeOwned + Default {
    /// Checks the values, naming the offending key.
    fn check(&self) -> anyhow::Result<()>;

    /// Groups of dotted keys that are alternatives to each other (see [`layered_with`]).
    const EXCLUSIVE: &'static [&'static [&'static str]] = &[];

    /// Defaults, then the TOML `text`, then `key=value` edits, then [`Layered::check`];
    /// unknown keys are errors that name the key.
    fn load(text: Option<&str>, sets: &[String]) -> anyhow::Result<Self> {
        let cfg: Self = layered_with(text, sets, Self::EXCLUSIVE)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// The configuration as TOML.
    fn to_toml(&self) -> String {
        toml::to_string(self).expect("a configuration serialises to TOML")
    }
}
