//! [`ImageSet`]: a labelled set of `u8` images in memory, the type every real-data reader
//! produces and every consumer (training, experiments) reads.

use anyhow::{Context, Result, bail, ensure};
use std::ops::Range;

/// A labelled set of `u8` images held in memory.
///
/// `images` is sample-major, and within a sample channel-major (CHW: all of channel 0 in
/// row-major order, then channel 1, …), so sample `i` is
/// `images[i * dim() .. (i + 1) * dim()]`. Construct it with [`ImageSet::new`], which checks
/// the invariants below; the fields are public for reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSet {
    /// Pixels, `n × channels × rows × cols` bytes, sample-major, CHW within a sample.
    pub images: Vec<u8>,
    /// One label per sample, each `< classes`.
    pub labels: Vec<u8>,
    /// Number of samples.
    pub n: usize,
    /// Channels per image (1 for MNIST, 3 for CIFAR-10).
    pub channels: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// Number of classes; every label is `< classes`.
    pub classes: usize,
}

impl ImageSet {
    /// Builds an image set from pixels (sample-major, CHW) and labels, checking that the
    /// shape is non-degenerate, that `images.len() == labels.len() × channels × rows × cols`,
    /// and that every label is `< classes` (at most 256 classes, since labels are bytes).
    pub fn new(
        images: Vec<u8>,
        labels: Vec<u8>,
        channels: usize,
        rows: usize,
        cols: usize,
        classes: usize,
    ) -> Result<Self> {
        ensure!(
            channels > 0 && rows > 0 && cols > 0,
            "image shape {channels}×{rows}×{cols} has a zero dimension"
        );
        ensure!(
            (1..=256).contains(&classes),
            "{classes} classes: u8 labels allow 1 to 256 classes"
        );
        let dim = channels
            .checked_mul(rows)
            .and_then(|d| d.checked_mul(cols))
            .context("image shape overflows")?;
        let n = labels.len();
        ensure!(
            n.checked_mul(dim) == Some(images.len()),
            "image/label count mismatch: {} pixel bytes do not hold exactly {n} images of \
             {channels}×{rows}×{cols} = {dim} bytes",
            images.len()
        );
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| l as usize >= classes)
        {
            bail!("label {l} of sample {i} is out of range: labels must be < {classes}");
        }
        Ok(Self {
            images,
            labels,
            n,
            channels,
            rows,
            cols,
            classes,
        })
    }

    /// Bytes (pixels) per sample: `channels × rows × cols`.
    pub fn dim(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    /// The pixels of sample `i` (CHW). Panics if `i >= n`.
    pub fn image(&self, i: usize) -> &[u8] {
        assert!(i < self.n, "sample {i} out of range (n = {})", self.n);
        let d = self.dim();
        &self.images[i * d..(i + 1) * d]
    }

    /// Pixels of the samples in `range`, scaled to `[0, 1]` (`p / 255`), sample-major:
    /// `range.len() × dim()` values. Panics if `range` is not within `0..n`.
    pub fn to_f32_scaled(&self, range: Range<usize>) -> Vec<f32> {
        self.check_range(&range);
        let d = self.dim();
        self.images[range.start * d..range.end * d]
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect()
    }

    /// One-hot encoding of the labels of the samples in `range`, sample-major:
    /// `range.len() × classes` values. Panics if `range` is not within `0..n`.
    pub fn one_hot(&self, range: Range<usize>) -> Vec<f32> {
        self.check_range(&range);
        let mut out = vec![0.0f32; range.len() * self.classes];
        for (row, &l) in out.chunks_exact_mut(self.classes).zip(&self.labels[range]) {
            row[l as usize] = 1.0;
        }
        out
    }

    /// A new set holding the samples at `indices`, in that order (repeats allowed).
    /// Panics if an index is `>= n`.
    pub fn subset(&self, indices: &[usize]) -> ImageSet {
        let d = self.dim();
        let mut images = Vec::with_capacity(indices.len() * d);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        ImageSet {
            images,
            labels,
            n: indices.len(),
            channels: self.channels,
            rows: self.rows,
            cols: self.cols,
            classes: self.classes,
        }
    }

    /// Number of samples of each class: `classes` counts.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    fn check_range(&self, range: &Range<usize>) {
        assert!(
            range.start <= range.end && range.end <= self.n,
            "sample range {range:?} out of bounds (n = {})",
            self.n
        );
    }
}
