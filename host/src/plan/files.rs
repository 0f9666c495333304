//! The dataset's file list: DLIO's names, zero padding, subfolders, and per-file sample shapes.

use dl_plugin_api::{abi::FileSpec, sdk::content::ZERO_FRACTION_KEY};

use super::numpy_rng::RandomState;
use crate::config::Dataset;

/// `train` or `valid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Training files.
    Train,
    /// Evaluation files.
    Valid,
}

impl Split {
    /// The folder name DLIO uses.
    pub fn folder(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
        }
    }
}

/// Key of file `index` of a split (relative to the dataset root), exactly as DLIO names it:
/// `train/[<sub>/]<prefix>_<index padded to len(total)>_of_<total>.<ext>`.
pub fn file_key(
    split: Split,
    index: u64,
    total: u64,
    subfolders: u64,
    prefix: &str,
    extension: &str,
) -> String {
    let width = total.to_string().len();
    let name = format!("{prefix}_{index:0width$}_of_{total}.{extension}");
    if subfolders > 1 {
        let sub_width = subfolders.to_string().len();
        format!(
            "{}/{:0sub_width$}/{name}",
            split.folder(),
            index % subfolders
        )
    } else {
        format!("{}/{name}", split.folder())
    }
}

/// Sample shape of every file, train files first then eval files. With
/// `record_length_bytes_stdev > 0` the two sides of file j are draws 2j and 2j+1 of
/// `RandomState(10).normal(d, σ_d)`, truncated and clamped to ≥ 1, as DLIO draws them.
pub fn sample_shapes(dataset: &Dataset, total_files: u64) -> Vec<Vec<u64>> {
    if !dataset.record_dims.is_empty() {
        return vec![dataset.record_dims.clone(); total_files as usize];
    }
    let d = dataset.record_length_bytes.max(0.0).sqrt().floor();
    if dataset.record_length_bytes_stdev <= 0.0 {
        return vec![vec![d as u64, d as u64]; total_files as usize];
    }
    let sigma = dataset.record_length_bytes_stdev / 2.0 / dataset.record_length_bytes.sqrt();
    let mut rng = RandomState::new(10);
    let side = |value: f64| (value.trunc() as i64).max(1) as u64;
    (0..total_files)
        .map(|_| {
            let first = side(rng.normal(d, sigma));
            let second = side(rng.normal(d, sigma));
            vec![first, second]
        })
        .collect()
}

/// Content seed of file `index`: a well-mixed function of the dataset seed and the index.
pub fn content_seed(dataset_seed: u64, index: u64) -> u64 {
    // splitmix64 finaliser
    let mut z = dataset_seed
        ^ index
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(0x632b_e59b_d9b4_e019);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What the formats' content streams need beyond the seed (`FileSpec::extra`).
fn content_extra(dataset: &Dataset) -> String {
    if dataset.content_zero_fraction > 0.0 {
        serde_json::json!({ ZERO_FRACTION_KEY: dataset.content_zero_fraction }).to_string()
    } else {
        String::new()
    }
}

/// Every file of the dataset: training files first, then evaluation files.
pub fn file_specs(dataset: &Dataset, extension: &str) -> Vec<FileSpec> {
    let (train, eval) = (dataset.num_files_train, dataset.num_files_eval);
    let shapes = sample_shapes(dataset, train + eval);
    let mut files = Vec::with_capacity((train + eval) as usize);
    for (split, count, subfolders, offset) in [
        (Split::Train, train, dataset.num_subfolders_train, 0),
        (Split::Valid, eval, dataset.num_subfolders_eval, train),
    ] {
        for i in 0..count {
            let index = offset + i;
            files.push(FileSpec {
                index,
                split: split.folder().into(),
                key: file_key(split, i, count, subfolders, &dataset.file_prefix, extension).into(),
                sample_shape: shapes[index as usize].clone().into(),
                samples: dataset.num_samples_per_file,
                // Shared content: every file's stream starts from the same seed.
                seed: content_seed(dataset.seed, if dataset.content_shared { 0 } else { index }),
                extra: content_extra(dataset).into(),
            });
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_dlio() {
        assert_eq!(
            file_key(Split::Train, 6, 64, 0, "img", "npz"),
            "train/img_06_of_64.npz"
        );
        assert_eq!(
            file_key(Split::Train, 7, 64, 2, "img", "npz"),
            "train/1/img_07_of_64.npz"
        );
        assert_eq!(
            file_key(Split::Valid, 4, 8, 0, "img", "npz"),
            "valid/img_4_of_8.npz"
        );
        assert_eq!(
            file_key(Split::Train, 3, 1000, 12, "part", "tfrecord"),
            "train/03/part_0003_of_1000.tfrecord"
        );
        // A single subfolder means none (DLIO's reader would assert on it).
        assert_eq!(
            file_key(Split::Train, 3, 8, 1, "img", "npz"),
            "train/img_3_of_8.npz"
        );
    }

    fn dataset(record_length: f64, stdev: f64, files: u64) -> Dataset {
        Dataset {
            record_length_bytes: record_length,
            record_length_bytes_stdev: stdev,
            num_files_train: files,
            ..Dataset::default()
        }
    }

    #[test]
    fn unet3d_first_four_files_match_dlio() {
        let shapes = sample_shapes(&dataset(146600628.0, 68341808.0, 168), 168);
        let want = [
            [15865, 14125],
            [7745, 12083],
            [13860, 10074],
            [12856, 12413],
        ];
        for (got, want) in shapes.iter().zip(want) {
            assert_eq!(got.as_slice(), want);
        }
    }

    #[test]
    fn cosmoflow_first_four_files_match_dlio() {
        let shapes = sample_shapes(&dataset(2828486.0, 71311.0, 16), 16);
        let want = [[1709, 1696], [1648, 1680], [1694, 1665], [1686, 1683]];
        for (got, want) in shapes.iter().zip(want) {
            assert_eq!(got.as_slice(), want);
        }
    }

    #[test]
    fn fixed_size_uses_integer_square_root() {
        let shapes = sample_shapes(&dataset(114660.07, 0.0, 2), 2);
        assert_eq!(shapes, vec![vec![338, 338], vec![338, 338]]);
    }

    #[test]
    fn file_list_is_train_then_valid_with_distinct_seeds() {
        let mut ds = dataset(4096.0, 0.0, 4);
        ds.num_files_eval = 2;
        let files = file_specs(&ds, "npz");
        assert_eq!(files.len(), 6);
        assert_eq!(files[4].key.as_str(), "valid/img_0_of_2.npz");
        assert_eq!(files[4].index, 4);
        let mut seeds: Vec<_> = files.iter().map(|f| f.seed).collect();
        seeds.dedup();
        assert_eq!(seeds.len(), 6);
    }
}
