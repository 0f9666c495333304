//! TensorFlow's native TFRecord pipeline (reference/dlio-spec.md §4.2–4.3), which reads a
//! record stream instead of sampling indices: with at least as many files as ranks, file i
//! goes to rank i mod P and the rank reads its files' records in order; with fewer files
//! every rank reads all of them and keeps every P-th record (sharding after reading). A shuffle buffer of S records
//! must be full before the first record leaves it, so the first batch reads S − 1 records
//! ahead and every later batch is read that far ahead of delivery. The pipeline repeats, so
//! a rank whose records run out starts its stream again.

use std::ops::Range;

use super::PhasePlan;

/// How the TFRecord pipeline is set up, when the workload uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSettings {
    /// `reader.shuffle_size` when `sample_shuffle` is on, else 0.
    pub shuffle_size: u64,
}

/// One rank's record stream over one split for one epoch.
#[derive(Debug, Clone)]
pub struct RecordStream {
    /// The split's files this rank reads, as positions in the split, in stream order.
    files: Vec<u64>,
    /// Records kept are those at `offset + k·stride` of the concatenated files; the ones
    /// between are read and dropped.
    stride: u64,
    offset: u64,
    samples_per_file: u64,
    /// Records kept in one pass of the stream.
    len: u64,
    /// Records read in one pass.
    pass: u64,
    /// Records read ahead of delivery (the shuffle buffer).
    lead: u64,
    batch_size: u64,
    first_file: u64,
}

impl RecordStream {
    /// The stream of `rank` over `phase`, with the split's files in `order` when shuffled.
    pub fn new(
        phase: &PhasePlan,
        rank: u64,
        order: Option<&[u64]>,
        settings: StreamSettings,
    ) -> Self {
        let listed: Vec<u64> = match order {
            Some(order) => order.to_vec(),
            None => (0..phase.files()).collect(),
        };
        let ranks = phase.ranks.max(1);
        let n_s = phase.samples_per_file.max(1);
        let (files, stride, offset) = if listed.len() as u64 >= ranks {
            let mine = listed
                .iter()
                .enumerate()
                .filter(|(i, _)| *i as u64 % ranks == rank)
                .map(|(_, &file)| file)
                .collect();
            (mine, 1, 0)
        } else {
            (listed, ranks, rank)
        };
        let total = files.len() as u64 * n_s;
        let len = if total > offset {
            (total - offset).div_ceil(stride)
        } else {
            0
        };
        RecordStream {
            files,
            stride,
            offset,
            samples_per_file: n_s,
            len,
            pass: total,
            lead: settings.shuffle_size.min(len).saturating_sub(1),
            batch_size: phase.batch_size,
            first_file: phase.first_file,
        }
    }

    /// Stream positions read while producing batch `step`: the first batch also fills the
    /// shuffle buffer; with sharding after reading, the records between kept ones too.
    pub fn batch(&self, step: u64) -> Range<u64> {
        if self.len == 0 {
            return 0..0;
        }
        let kept_end = (step + 1) * self.batch_size + self.lead;
        let start = if step == 0 {
            0
        } else {
            self.read_position(kept_end - self.batch_size - 1) + 1
        };
        start..self.read_position(kept_end - 1) + 1
    }

    /// Where the `kept`-th kept record lies among the records read (passes repeat).
    fn read_position(&self, kept: u64) -> u64 {
        (kept / self.len) * self.pass + self.offset + (kept % self.len) * self.stride
    }

    /// The file (index in the combined file list) and record of stream position `position`;
    /// `None` when this rank has no records at all.
    pub fn locate(&self, position: u64) -> Option<(u64, u64)> {
        if self.len == 0 {
            return None;
        }
        let record = position % self.pass;
        let file = self.files[(record / self.samples_per_file) as usize];
        Some((self.first_file + file, record % self.samples_per_file))
    }

    /// Records in one pass of this rank's stream.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when this rank has no records.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Split;

    fn records(stream: &RecordStream, steps: u64) -> Vec<(u64, u64)> {
        (0..steps)
            .flat_map(|step| stream.batch(step))
            .filter_map(|p| stream.locate(p))
            .collect()
    }

    #[test]
    fn files_go_round_robin_when_there_are_enough() {
        // 5 files of 2 records, batch 2, 2 ranks: rank 0 has files 0, 2, 4; rank 1 files 1, 3.
        let phase = PhasePlan::new(Split::Train, 5, 0, 2, 2, 2);
        let none = StreamSettings { shuffle_size: 0 };
        let rank0 = RecordStream::new(&phase, 0, None, none);
        assert_eq!(rank0.len(), 6);
        assert_eq!(
            records(&rank0, phase.steps),
            vec![(0, 0), (0, 1), (2, 0), (2, 1)]
        );
        let rank1 = RecordStream::new(&phase, 1, None, none);
        assert_eq!(rank1.len(), 4);
        // Both ranks run the same steps; rank 1's stream repeats when it runs out.
        let mut long = phase.clone();
        long.steps = 3;
        assert_eq!(
            records(&rank1, long.steps),
            vec![(1, 0), (1, 1), (3, 0), (3, 1), (1, 0), (1, 1)]
        );
    }

    #[test]
    fn records_are_sharded_after_reading_when_files_are_fewer_than_ranks() {
        // 1 file of 6 records on 3 ranks, batch 1: rank r keeps records r and r+3 and reads
        // every record up to the one it keeps.
        let phase = PhasePlan::new(Split::Valid, 1, 7, 6, 1, 3);
        let none = StreamSettings { shuffle_size: 0 };
        for rank in 0..3 {
            let stream = RecordStream::new(&phase, rank, None, none);
            assert_eq!(stream.len(), 2);
            let first: Vec<_> = stream.batch(0).filter_map(|p| stream.locate(p)).collect();
            let second: Vec<_> = stream.batch(1).filter_map(|p| stream.locate(p)).collect();
            assert_eq!(first, (0..=rank).map(|r| (7, r)).collect::<Vec<_>>());
            assert_eq!(
                second,
                (rank + 1..=rank + 3).map(|r| (7, r)).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn the_shuffle_buffer_is_filled_before_the_first_batch() {
        let phase = PhasePlan::new(Split::Train, 4, 0, 4, 2, 1);
        let stream = RecordStream::new(&phase, 0, None, StreamSettings { shuffle_size: 5 });
        assert_eq!(
            stream.batch(0),
            0..6,
            "2 delivered + 4 more to fill a buffer of 5"
        );
        assert_eq!(stream.batch(1), 6..8);
        // A buffer larger than the stream holds the whole stream.
        let big = RecordStream::new(&phase, 0, None, StreamSettings { shuffle_size: 1024 });
        assert_eq!(big.batch(0), 0..17);
    }

    #[test]
    fn a_shuffled_file_list_is_followed() {
        let phase = PhasePlan::new(Split::Train, 4, 0, 1, 1, 2);
        let none = StreamSettings { shuffle_size: 0 };
        let stream = RecordStream::new(&phase, 1, Some(&[3, 1, 0, 2]), none);
        assert_eq!(records(&stream, 2), vec![(1, 0), (2, 0)]);
    }
}
