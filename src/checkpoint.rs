//! Parameter checkpoints in the safetensors format (loadable from PyTorch and JAX with
//! `safetensors.torch.load_file` / `safetensors.numpy.load_file`).
//!
//! Each [`ParamBlock`] of a substrate becomes one tensor of its name and row-major shape, in
//! the precision of the simulation (`F64` or `F32`); string metadata (seed, step, …) goes in
//! the header. Files are written atomically.

use crate::energy::ParamBlock;
use crate::real::Real;
use crate::report::json::write_atomic;
use anyhow::{Context, bail};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::path::Path;

fn dtype<T: Real>() -> Dtype {
    if std::mem::size_of::<T>() == 8 {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

/// Writes `theta` (laid out as `blocks`) with `metadata` to `path`.
pub fn save<T: Real>(
    path: &Path,
    blocks: &[ParamBlock],
    theta: &[T],
    metadata: HashMap<String, String>,
) -> anyhow::Result<()> {
    let bytes: Vec<Vec<u8>> = blocks
        .iter()
        .map(|b| {
            theta[b.offset..b.offset + b.len()]
                .iter()
                .flat_map(|v| {
                    if std::mem::size_of::<T>() == 8 {
                        v.f64().to_le_bytes().to_vec()
                    } else {
                        (v.f64() as f32).to_le_bytes().to_vec()
                    }
                })
                .collect()
        })
        .collect();
    let views = blocks
        .iter()
        .zip(&bytes)
        .map(|(b, d)| {
            Ok((
                b.name.clone(),
                TensorView::new(dtype::<T>(), b.shape.clone(), d)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let out = safetensors::tensor::serialize(views, Some(metadata))
        .with_context(|| format!("serialising checkpoint {}", path.display()))?;
    write_atomic(path, &out)
}

/// Reads a checkpoint written by [`save`] back into a flat vector laid out as `blocks`,
/// checking every tensor's presence, dtype and shape. Returns it with the metadata.
pub fn load<T: Real>(
    path: &Path,
    blocks: &[ParamBlock],
) -> anyhow::Result<(Vec<T>, HashMap<String, String>)> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    let st = SafeTensors::deserialize(&bytes)
        .with_context(|| format!("{} is not a valid safetensors file", path.display()))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)?;
    let n: usize = blocks.iter().map(|b| b.offset + b.len()).max().unwrap_or(0);
    let mut theta = vec![T::zero(); n];
    for b in blocks {
        let t = st
            .tensor(&b.name)
            .with_context(|| format!("checkpoint {} has no tensor {}", path.display(), b.name))?;
        if t.shape() != b.shape.as_slice() {
            bail!(
                "checkpoint {}: tensor {} has shape {:?}, expected {:?}",
                path.display(),
                b.name,
                t.shape(),
                b.shape
            );
        }
        let dst = &mut theta[b.offset..b.offset + b.len()];
        match t.dtype() {
            Dtype::F64 => {
                for (d, c) in dst.iter_mut().zip(t.data().chunks_exact(8)) {
                    *d = T::of(f64::from_le_bytes(c.try_into().expect("8 bytes")));
                }
            }
            Dtype::F32 => {
                for (d, c) in dst.iter_mut().zip(t.data().chunks_exact(4)) {
                    *d = T::of(f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64);
                }
            }
            other => bail!(
                "checkpoint {}: tensor {} has dtype {other:?}, expected F32 or F64",
                path.display(),
                b.name
            ),
        }
    }
    Ok((theta, meta.metadata().clone().unwrap_or_default()))
}
