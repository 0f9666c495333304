//! Steps per epoch and which samples each rank reads (DLIO's PyTorch index sampler). The
//! split's samples are first trimmed to a multiple of `B·P` (the rule DLIO intends), so rank r
//! owns the contiguous block `[r·n'/P, (r+1)·n'/P)` of the `n'` kept samples and every rank
//! runs the same number of steps; `total_training_steps` shortens each block from its end.

use std::ops::Range;

use super::files::Split;

/// The loop of one split: training or evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhasePlan {
    /// Which split it reads.
    pub split: Split,
    /// Samples per batch, per rank.
    pub batch_size: u64,
    /// Steps every rank runs per epoch.
    pub steps: u64,
    /// Steps before `total_training_steps` capped it (what DLIO calls the expected steps).
    pub max_steps: u64,
    /// Samples in the split (`N_s · files`).
    pub samples: u64,
    /// Samples per file.
    pub samples_per_file: u64,
    /// Index of the split's first file in the combined file list.
    pub first_file: u64,
    /// Number of ranks.
    pub ranks: u64,
}

impl PhasePlan {
    /// The phase for `files` files of `samples_per_file` samples, batch `batch_size`, on
    /// `ranks` ranks. Sample-based trimming (the rule DLIO intends; see README).
    pub fn new(
        split: Split,
        files: u64,
        first_file: u64,
        samples_per_file: u64,
        batch_size: u64,
        ranks: u64,
    ) -> Self {
        let samples = files * samples_per_file;
        let max_steps = if batch_size == 0 || ranks == 0 {
            0
        } else {
            samples / (batch_size * ranks)
        };
        PhasePlan {
            split,
            batch_size,
            steps: max_steps,
            max_steps,
            samples,
            samples_per_file,
            first_file,
            ranks,
        }
    }

    /// Global samples (within the split) that `rank` reads each epoch, in order.
    pub fn rank_samples(&self, rank: u64) -> Range<u64> {
        let start = rank * self.max_steps * self.batch_size;
        start..start + self.steps * self.batch_size
    }

    /// Global samples of batch `step` for `rank`.
    pub fn batch(&self, rank: u64, step: u64) -> Range<u64> {
        let start = self.rank_samples(rank).start + step * self.batch_size;
        start..start + self.batch_size
    }

    /// File (index in the combined file list) and sample-in-file of a global sample of the
    /// split, with the split's files in `order` (a permutation of `0..files`) when shuffled.
    pub fn locate(&self, sample: u64, order: Option<&[u64]>) -> (u64, u64) {
        let position = sample / self.samples_per_file;
        let file = order
            .and_then(|o| o.get(position as usize).copied())
            .unwrap_or(position);
        (self.first_file + file, sample % self.samples_per_file)
    }

    /// Number of files in the split.
    pub fn files(&self) -> u64 {
        self.samples / self.samples_per_file.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_floor_of_samples_over_batch_times_ranks() {
        assert_eq!(PhasePlan::new(Split::Train, 64, 0, 1, 4, 1).steps, 16);
        assert_eq!(PhasePlan::new(Split::Train, 64, 0, 1, 4, 3).steps, 5);
        // resnet50: N_s > 1 must not trim to zero (DLIO HEAD's bug).
        assert_eq!(
            PhasePlan::new(Split::Train, 1024, 0, 1251, 400, 8).steps,
            400
        );
        assert_eq!(PhasePlan::new(Split::Train, 13, 0, 1, 4, 3).steps, 1);
    }

    #[test]
    fn ranks_read_disjoint_contiguous_blocks() {
        let plan = PhasePlan::new(Split::Train, 25, 0, 1, 4, 3);
        assert_eq!(plan.steps, 2);
        assert_eq!(plan.rank_samples(0), 0..8);
        assert_eq!(plan.rank_samples(1), 8..16);
        assert_eq!(plan.rank_samples(2), 16..24);
        assert_eq!(plan.batch(1, 1), 12..16);
        // Every rank's samples exist, for the whole uneven matrix of DLIO's deadlock test.
        for (files, batch) in [(13, 4), (24, 4), (25, 4), (145, 16)] {
            let plan = PhasePlan::new(Split::Train, files, 0, 1, batch, 3);
            for rank in 0..3 {
                let range = plan.rank_samples(rank);
                assert_eq!(range.end - range.start, plan.steps * batch);
                assert!(range.end <= files);
            }
        }
    }

    #[test]
    fn samples_map_to_files() {
        let plan = PhasePlan::new(Split::Valid, 4, 64, 3, 2, 1);
        assert_eq!(plan.locate(0, None), (64, 0));
        assert_eq!(plan.locate(5, None), (65, 2));
        assert_eq!(plan.locate(5, Some(&[2, 3, 0, 1])), (67, 2));
    }
}
