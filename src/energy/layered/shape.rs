//! The shape of one layer of a [`super::Layered`] energy: a feature map `C × H × W`
//! (PyTorch's `CHW` order within a sample) or a flat vector of `n` units (`n × 1 × 1`).

use serde::{Deserialize, Serialize};

/// A layer's shape. A flat layer of `n` units is `n × 1 × 1`; its per-channel bias is then
/// a per-unit bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Channels (the units of a flat layer).
    pub c: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

impl Shape {
    /// A feature map of `c` channels of `h × w`.
    pub fn map(c: usize, h: usize, w: usize) -> Self {
        Self { c, h, w }
    }
    /// A flat layer of `n` units.
    pub fn flat(n: usize) -> Self {
        Self { c: n, h: 1, w: 1 }
    }
    /// Number of units `C · H · W`.
    pub fn len(&self) -> usize {
        self.c * self.h * self.w
    }
    /// True when the layer has no unit.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Positions per channel `H · W`.
    pub fn area(&self) -> usize {
        self.h * self.w
    }
    /// True for a flat layer (`H = W = 1`).
    pub fn is_flat(&self) -> bool {
        self.h == 1 && self.w == 1
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_flat() {
            write!(f, "{}", self.c)
        } else {
            write!(f, "{}×{}×{}", self.c, self.h, self.w)
        }
    }
}
