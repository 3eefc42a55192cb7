//! The confusion matrix of a classifier on a split: which classes it predicts for which.
//!
//! A hard-sigmoid output unit that no sample drives above 0 is never predicted (the argmax of
//! an all-zero output is class 0), a failure the error rate alone does not show.

use serde::{Deserialize, Serialize};

/// Counts of (true class, predicted class) pairs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Confusion {
    /// Number of classes.
    pub classes: usize,
    /// `counts[t][p]`: samples of class `t` predicted as `p`.
    pub counts: Vec<Vec<u64>>,
}

impl Confusion {
    /// An empty matrix over `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self {
            classes,
            counts: vec![vec![0; classes]; classes],
        }
    }

    /// Records one sample of class `truth` predicted as `predicted`.
    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth][predicted] += 1;
    }

    /// Samples recorded.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Fraction of the samples predicted wrongly (0 when empty).
    pub fn error(&self) -> f64 {
        let right: u64 = (0..self.classes).map(|c| self.counts[c][c]).sum();
        let n = self.total();
        if n == 0 {
            0.0
        } else {
            (n - right) as f64 / n as f64
        }
    }

    /// Per class, the fraction of its samples predicted wrongly (NaN for an absent class).
    pub fn class_errors(&self) -> Vec<f64> {
        self.counts
            .iter()
            .enumerate()
            .map(|(c, row)| {
                let n: u64 = row.iter().sum();
                if n == 0 {
                    f64::NAN
                } else {
                    (n - row[c]) as f64 / n as f64
                }
            })
            .collect()
    }

    /// The classes no sample was predicted as.
    pub fn never_predicted(&self) -> Vec<usize> {
        (0..self.classes)
            .filter(|&p| self.counts.iter().all(|row| row[p] == 0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_and_unpredicted_classes() {
        let mut c = Confusion::new(3);
        for (t, p) in [(0, 0), (0, 0), (1, 0), (1, 1), (2, 0)] {
            c.add(t, p);
        }
        assert_eq!(c.total(), 5);
        assert!((c.error() - 0.4).abs() < 1e-15);
        assert_eq!(c.class_errors(), vec![0.0, 0.5, 1.0]);
        assert_eq!(c.never_predicted(), vec![2]);
    }
}
