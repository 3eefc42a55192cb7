//! Parameter checkpoints in the safetensors format (loadable from PyTorch and JAX with
//! `safetensors.torch.load_file` / `safetensors.numpy.load_file`).
//!
//! A checkpoint is a set of named tensors, each `F32` or `F64` with a row-major shape, plus
//! string metadata in the header. Files are written atomically and are reproducible: the same
//! tensors and metadata give the same bytes. (The `safetensors` crate's own writer keeps the
//! metadata in a `HashMap`, whose order changes from process to process, so this module writes
//! the header itself, with keys in sorted order; files are read back and validated by the
//! `safetensors` crate.) Metadata must hold no wall-clock value if identical runs are to write
//! identical files.

use crate::energy::ParamBlock;
use crate::real::Real;
use crate::report::json::write_atomic;
use anyhow::{Context, Result, bail};
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The values of one tensor, in the precision it is stored in.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    /// Stored as `F32`.
    F32(Vec<f32>),
    /// Stored as `F64`.
    F64(Vec<f64>),
}

/// One named tensor to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Tensor name (the key in the file).
    pub name: String,
    /// Row-major shape.
    pub shape: Vec<usize>,
    /// Values.
    pub data: TensorData,
}

impl Tensor {
    /// A tensor stored in the precision of `T` (`F64` for `f64`, `F32` for `f32`).
    pub fn new<T: Real>(name: &str, shape: &[usize], values: &[T]) -> Tensor {
        let data = if std::mem::size_of::<T>() == 8 {
            TensorData::F64(values.iter().map(|v| v.f64()).collect())
        } else {
            TensorData::F32(values.iter().map(|v| v.f64() as f32).collect())
        };
        Tensor {
            name: name.to_string(),
            shape: shape.to_vec(),
            data,
        }
    }

    /// A tensor stored as `F64`.
    pub fn f64(name: &str, shape: &[usize], values: &[f64]) -> Tensor {
        Tensor {
            name: name.to_string(),
            shape: shape.to_vec(),
            data: TensorData::F64(values.to_vec()),
        }
    }

    fn dtype(&self) -> (&'static str, usize) {
        match self.data {
            TensorData::F32(_) => ("F32", 4),
            TensorData::F64(_) => ("F64", 8),
        }
    }

    fn len(&self) -> usize {
        match &self.data {
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
        }
    }

    fn bytes(&self, out: &mut Vec<u8>) {
        match &self.data {
            TensorData::F32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
            TensorData::F64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        }
    }
}

/// The tensors of `theta` laid out as `blocks`, in the precision of `T`.
pub fn tensors_of<T: Real>(blocks: &[ParamBlock], theta: &[T]) -> Vec<Tensor> {
    blocks
        .iter()
        .map(|b| Tensor::new(&b.name, &b.shape, &theta[b.offset..b.offset + b.len()]))
        .collect()
}

/// The safetensors bytes of `tensors` and `metadata`: tensors in order of decreasing element
/// size, then name (so every tensor is aligned to its element size), header keys sorted and
/// the header padded with spaces to a multiple of 8 bytes.
pub fn to_bytes(tensors: &[Tensor], metadata: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut order: Vec<&Tensor> = tensors.iter().collect();
    order.sort_by(|a, b| b.dtype().1.cmp(&a.dtype().1).then(a.name.cmp(&b.name)));
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::to_value(metadata)?);
    }
    let mut offset = 0usize;
    for t in &order {
        let n: usize = t.shape.iter().product();
        if n != t.len() {
            bail!(
                "tensor {}: {} values for shape {:?}",
                t.name,
                t.len(),
                t.shape
            );
        }
        if t.name == "__metadata__" || header.contains_key(&t.name) {
            bail!("tensor name {:?} is reserved or repeated", t.name);
        }
        let (dtype, size) = t.dtype();
        let end = offset + n * size;
        header.insert(
            t.name.clone(),
            serde_json::json!({"dtype": dtype, "shape": t.shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut head = serde_json::to_vec(&header)?;
    head.resize(head.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + head.len() + offset);
    out.extend((head.len() as u64).to_le_bytes());
    out.extend(head);
    for t in order {
        t.bytes(&mut out);
    }
    Ok(out)
}

/// Atomically writes `tensors` with `metadata` to `path`.
pub fn write(path: &Path, tensors: &[Tensor], metadata: &BTreeMap<String, String>) -> Result<()> {
    let bytes = to_bytes(tensors, metadata)
        .with_context(|| format!("serialising checkpoint {}", path.display()))?;
    write_atomic(path, &bytes)
}

/// Writes `theta` (laid out as `blocks`, in the precision of `T`) with `metadata` to `path`.
pub fn save<T: Real>(
    path: &Path,
    blocks: &[ParamBlock],
    theta: &[T],
    metadata: BTreeMap<String, String>,
) -> Result<()> {
    write(path, &tensors_of(blocks, theta), &metadata)
}

/// A checkpoint file read into memory and validated; tensors are decoded on request, with
/// errors that name the file and the tensor.
pub struct Checkpoint {
    path: PathBuf,
    bytes: Vec<u8>,
    metadata: BTreeMap<String, String>,
}

impl Checkpoint {
    /// Reads and validates the checkpoint at `path`.
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
        Checkpoint::from_bytes(path, bytes)
    }

    /// Validates `bytes` as a checkpoint (`path` names it in messages).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Checkpoint> {
        let (_, meta) = SafeTensors::read_metadata(&bytes)
            .with_context(|| format!("{} is not a valid safetensors file", path.display()))?;
        let metadata = meta
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(Checkpoint {
            path: path.to_path_buf(),
            bytes,
            metadata,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header's string metadata.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// The metadata value `key` parsed as `V`; an error names the file and the key when it
    /// is missing or does not parse.
    pub fn meta_value<V: FromStr>(&self, key: &str) -> Result<V>
    where
        V::Err: std::fmt::Display,
    {
        let raw = self.metadata.get(key).with_context(|| {
            format!(
                "checkpoint {}: the metadata has no {key:?} entry",
                self.path.display()
            )
        })?;
        raw.parse().map_err(|e| {
            anyhow::anyhow!(
                "checkpoint {}: metadata {key:?} = {:?} is not valid: {e}",
                self.path.display(),
                raw.chars().take(80).collect::<String>()
            )
        })
    }

    /// Whether the file holds a tensor called `name`.
    pub fn has(&self, name: &str) -> bool {
        SafeTensors::deserialize(&self.bytes)
            .map(|st| st.tensor(name).is_ok())
            .unwrap_or(false)
    }

    /// Tensor `name`, which must have `shape` and dtype `F32` or `F64`, as `f64` values; a
    /// NaN or infinite value is an error naming the file, the tensor and the index.
    pub fn tensor_f64(&self, name: &str, shape: &[usize]) -> Result<Vec<f64>> {
        let p = self.path.display();
        let st = SafeTensors::deserialize(&self.bytes)
            .with_context(|| format!("{p} is not a valid safetensors file"))?;
        let t = st
            .tensor(name)
            .with_context(|| format!("checkpoint {p} has no tensor {name}"))?;
        if t.shape() != shape {
            bail!(
                "checkpoint {p}: tensor {name} has shape {:?}, expected {shape:?}",
                t.shape()
            );
        }
        let values: Vec<f64> = match t.dtype() {
            Dtype::F64 => t
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
            Dtype::F32 => t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64)
                .collect(),
            other => {
                bail!("checkpoint {p}: tensor {name} has dtype {other:?}, expected F32 or F64")
            }
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            bail!(
                "checkpoint {p}: tensor {name} holds a non-finite value ({}) at flat index {i}; \
                 the file is corrupt or was written by a diverged run",
                values[i]
            );
        }
        Ok(values)
    }

    /// The parameters laid out as `blocks` (each block one tensor of its name and shape).
    pub fn params<T: Real>(&self, blocks: &[ParamBlock]) -> Result<Vec<T>> {
        let n: usize = blocks.iter().map(|b| b.offset + b.len()).max().unwrap_or(0);
        let mut theta = vec![T::zero(); n];
        for b in blocks {
            let v = self.tensor_f64(&b.name, &b.shape)?;
            for (d, s) in theta[b.offset..b.offset + b.len()].iter_mut().zip(v) {
                *d = T::of(s);
            }
        }
        Ok(theta)
    }
}

/// Reads a checkpoint written by [`save`] back into a flat vector laid out as `blocks`,
/// checking every tensor's presence, dtype, shape and finiteness. Returns it with the metadata.
pub fn load<T: Real>(
    path: &Path,
    blocks: &[ParamBlock],
) -> Result<(Vec<T>, BTreeMap<String, String>)> {
    let c = Checkpoint::read(path)?;
    Ok((c.params(blocks)?, c.metadata.clone()))
}
