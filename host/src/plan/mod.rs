//! What a run will do, derived once from the workload: where the data lives, every file with
//! its name, shape and size, and each phase's steps and per-rank samples. The engine reads this
//! and never recomputes it.

pub mod checkpoint;
mod files;
mod numpy_rng;
mod steps;
mod stream;
mod validate;

use std::path::Path;

use dl_plugin_api::abi::FileSpec;

pub use checkpoint::{CheckpointFile, CheckpointPlan};
pub use files::{content_seed, file_key, file_specs, sample_shapes, Split};
pub use numpy_rng::RandomState;
pub use steps::PhasePlan;
pub use stream::{RecordStream, StreamSettings};
pub use validate::data_loader;

use crate::config::Workload;

/// Where a dataset or checkpoint folder lives: a backend scheme and the root it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Backend component (URI scheme); `file` for plain paths.
    pub scheme: String,
    /// Root handed to the backend: the URI, or the local path.
    pub root: String,
}

impl Location {
    /// A URI (`scheme://…`) selects its backend; a plain path means local files under
    /// `storage_root` unless it is absolute.
    pub fn resolve(folder: &str, storage_root: &str) -> Location {
        let folder = folder.trim_end_matches('/');
        if let Some((scheme, _)) = folder.split_once("://") {
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            {
                return Location {
                    scheme: scheme.to_ascii_lowercase(),
                    root: folder.to_string(),
                };
            }
        }
        let path = Path::new(if folder.is_empty() { "." } else { folder });
        let joined = if path.is_absolute() || storage_root.is_empty() {
            path.to_path_buf()
        } else {
            Path::new(storage_root).join(path)
        };
        let text = joined.to_string_lossy().replace("/./", "/");
        let text = text.strip_prefix("./").unwrap_or(&text).to_string();
        Location {
            scheme: "file".into(),
            root: if text.is_empty() { ".".into() } else { text },
        }
    }

    /// Where `storage` puts a dataset folder: a URI as given; for `storage_type: s3` a relative
    /// folder lives in the bucket named by `storage_root` (DLIO's convention); local types
    /// resolve as paths.
    pub fn for_dataset(
        folder: &str,
        storage: &crate::config::Storage,
    ) -> Result<Location, PlanError> {
        let is_uri = folder.contains("://");
        match storage.storage_type.as_str() {
            _ if is_uri => Ok(Location::resolve(folder, &storage.storage_root)),
            "local_fs" | "parallel_fs" | "" => Ok(Location::resolve(folder, &storage.storage_root)),
            "s3" => {
                let bucket = storage.storage_root.trim_matches('/').trim_start_matches("./");
                if bucket.is_empty() || bucket == "." {
                    return Err(PlanError::Invalid {
                        key: "storage.storage_root",
                        value: storage.storage_root.clone(),
                        message: "with storage_type s3 it names the bucket; set it, or give data_folder as s3://bucket/prefix".into(),
                    });
                }
                let prefix = folder.trim_start_matches("./").trim_matches('/');
                Ok(Location::resolve(&format!("s3://{bucket}/{prefix}"), ""))
            }
            other => Err(PlanError::Invalid {
                key: "storage.storage_type",
                value: other.to_string(),
                message: "dl-driver supports local_fs, parallel_fs (local paths) and s3; for other stores give \
                          data_folder as a URI of a backend plugin (see `dl-driver plugins list`)"
                    .into(),
            }),
        }
    }

    /// The same root read through another backend (`direct` for `reader.odirect`).
    pub fn with_scheme(&self, scheme: &str) -> Location {
        Location {
            scheme: scheme.to_string(),
            root: self.root.clone(),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.root.contains("://") {
            write!(f, "{}", self.root)
        } else {
            write!(f, "{}://{}", self.scheme, self.root)
        }
    }
}

/// How the iterative sampler orders files each epoch (`reader.file_shuffle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrder {
    /// As listed (DLIO's index sampler, or `file_shuffle: off`).
    Listed,
    /// numpy's shuffle seeded with `seed` (+ epoch when `change_per_epoch`), as DLIO does.
    Seeded {
        /// `train.seed`.
        seed: u64,
        /// `train.seed_change_epoch`.
        change_per_epoch: bool,
    },
    /// A fresh random order each epoch (`file_shuffle: random`), from a seed drawn once per
    /// run; every rank must use the same one (the run broadcasts rank 0's).
    Random {
        /// Drawn from the OS when planning.
        seed: u64,
    },
}

/// One file of the dataset with its planned size.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// What the format plugin gets.
    pub spec: FileSpec,
    /// Exact size in bytes, when the format knows it.
    pub size: Option<u64>,
}

/// The dataset part of the plan.
#[derive(Debug, Clone)]
pub struct DatasetPlan {
    /// Where generation writes.
    pub write_location: Location,
    /// Where training reads (differs with `reader.odirect`).
    pub read_location: Location,
    /// Format component name.
    pub format: String,
    /// All files: training first, then evaluation.
    pub files: Vec<PlannedFile>,
    /// Number of training files.
    pub train_files: u64,
    /// Number of evaluation files.
    pub eval_files: u64,
}

impl DatasetPlan {
    /// Total bytes of the files whose size is known, and how many sizes are unknown.
    pub fn total_bytes(&self) -> (u64, usize) {
        let known = self.files.iter().filter_map(|f| f.size).sum();
        (
            known,
            self.files.iter().filter(|f| f.size.is_none()).count(),
        )
    }
}

/// Everything a run does.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// Number of ranks the plan is for.
    pub ranks: u64,
    /// Epochs of training.
    pub epochs: u64,
    /// The dataset.
    pub dataset: DatasetPlan,
    /// The training loop.
    pub train: PhasePlan,
    /// The evaluation loop, when enabled and there are evaluation files.
    pub eval: Option<PhasePlan>,
    /// What the user should hear about the workload (rules DLIO only warns about).
    pub warnings: Vec<String>,
    /// File order of the iterative sampler, or of the TFRecord pipeline's file list.
    pub file_order: FileOrder,
    /// TensorFlow's native TFRecord pipeline reads record streams instead of sampling.
    pub record_stream: Option<StreamSettings>,
}

impl RunPlan {
    /// The training and evaluation file permutations of `epoch` (1-based), when files are
    /// shuffled: one generator shuffles the training list, then the evaluation list, as
    /// DLIO's `reconfigure` does. Ranks then read by global sample id over the shuffled
    /// lists (DLIO's iterative sampler skips files on ranks > 0 instead, Q-13).
    pub fn file_orders(&self, epoch: u64) -> (Option<Vec<u64>>, Option<Vec<u64>>) {
        let seed = match self.file_order {
            FileOrder::Listed => return (None, None),
            FileOrder::Seeded {
                seed,
                change_per_epoch,
            } => seed + if change_per_epoch { epoch } else { 0 },
            FileOrder::Random { seed } => seed.wrapping_add(epoch),
        };
        let mut rng = RandomState::new(seed as u32);
        let mut train: Vec<u64> = (0..self.train.files()).collect();
        rng.shuffle(&mut train);
        let eval = self.eval.as_ref().map(|eval| {
            let mut order: Vec<u64> = (0..eval.files()).collect();
            rng.shuffle(&mut order);
            order
        });
        (Some(train), eval)
    }
}

/// A workload that cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A key has a value the plan cannot use.
    #[error("{key} = {value}: {message}")]
    Invalid {
        /// Dotted key.
        key: &'static str,
        /// The value given.
        value: String,
        /// What to do.
        message: String,
    },
    /// The format could not size a file.
    #[error("sizing {key}: {message}")]
    Size {
        /// The file.
        key: String,
        /// The format's error.
        message: String,
    },
}

/// Plans `workload` for `ranks` ranks; `size_of` asks the format for a file's exact size.
pub fn build<E: std::fmt::Display>(
    workload: &Workload,
    ranks: u64,
    extension: &str,
    size_of: impl Fn(&FileSpec) -> Result<Option<u64>, E>,
) -> Result<RunPlan, PlanError> {
    let dataset = &workload.dataset;
    let reader = &workload.reader;
    let warnings = validate::check(workload, ranks)?;
    if reader.batch_size == 0 {
        return Err(PlanError::Invalid {
            key: "reader.batch_size",
            value: "0".into(),
            message: "must be at least 1".into(),
        });
    }
    if dataset.num_samples_per_file == 0 {
        return Err(PlanError::Invalid {
            key: "dataset.num_samples_per_file",
            value: "0".into(),
            message: "must be at least 1".into(),
        });
    }
    let write_location = Location::for_dataset(&dataset.data_folder, &workload.storage)?;
    let read_location = if reader.odirect && write_location.scheme == "file" {
        write_location.with_scheme("direct")
    } else {
        write_location.clone()
    };
    let mut files = Vec::new();
    for spec in file_specs(dataset, extension) {
        let size = size_of(&spec).map_err(|err| PlanError::Size {
            key: spec.key.to_string(),
            message: err.to_string(),
        })?;
        files.push(PlannedFile { spec, size });
    }
    let n_s = dataset.num_samples_per_file;
    let mut train = PhasePlan::new(
        Split::Train,
        dataset.num_files_train,
        0,
        n_s,
        reader.batch_size,
        ranks,
    );
    if workload.train.total_training_steps > 0 {
        let cap = workload.train.total_training_steps as u64;
        if cap > train.max_steps {
            return Err(PlanError::Invalid {
                key: "train.total_training_steps",
                value: cap.to_string(),
                message: format!(
                    "more than the {} steps an epoch has ({} samples / batch {} / {} ranks); lower it or add files",
                    train.max_steps, train.samples, reader.batch_size, ranks
                ),
            });
        }
        train.steps = cap;
    }
    let eval = (workload.workflow.evaluation && dataset.num_files_eval > 0).then(|| {
        PhasePlan::new(
            Split::Valid,
            dataset.num_files_eval,
            dataset.num_files_train,
            n_s,
            reader.batch_size_eval.max(1),
            ranks,
        )
    });
    Ok(RunPlan {
        ranks,
        epochs: workload.train.epochs,
        dataset: DatasetPlan {
            write_location,
            read_location,
            format: dataset.format.clone(),
            files,
            train_files: dataset.num_files_train,
            eval_files: dataset.num_files_eval,
        },
        train,
        eval,
        warnings,
        file_order: file_order(workload),
        record_stream: record_stream(workload),
    })
}

/// DLIO's tensorflow loader reads TFRecord files through `tf.data` (§4.2), not by index.
fn record_stream(workload: &Workload) -> Option<StreamSettings> {
    let native = data_loader(workload) == "tensorflow" && workload.dataset.format == "tfrecord";
    native.then_some(StreamSettings {
        shuffle_size: match workload.reader.sample_shuffle.as_str() {
            "off" => 0,
            _ => workload.reader.shuffle_size,
        },
    })
}

/// DLIO shuffles files only with the tensorflow loader (its iterative sampler, and the
/// TFRecord pipeline's file list); the PyTorch index sampler reads files in listed order
/// whatever the setting.
fn file_order(workload: &Workload) -> FileOrder {
    let tensorflow = data_loader(workload) == "tensorflow";
    match (tensorflow, workload.reader.file_shuffle.as_str()) {
        (true, "seed") => FileOrder::Seeded {
            seed: workload.train.seed,
            change_per_epoch: workload.train.seed_change_epoch,
        },
        (true, "random") => FileOrder::Random {
            seed: rand::RngCore::next_u64(
                &mut <rand::rngs::SmallRng as rand::SeedableRng>::from_os_rng(),
            ) >> 32,
        },
        _ => FileOrder::Listed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_like_dlio() {
        assert_eq!(
            Location::resolve("data/default/", "./"),
            Location {
                scheme: "file".into(),
                root: "data/default".into()
            }
        );
        assert_eq!(
            Location::resolve("data", "runs"),
            Location {
                scheme: "file".into(),
                root: "runs/data".into()
            }
        );
        assert_eq!(
            Location::resolve("/abs/data", "runs"),
            Location {
                scheme: "file".into(),
                root: "/abs/data".into()
            }
        );
        let s3 = Location::resolve("s3://bucket/prefix/", "./");
        assert_eq!(
            s3,
            Location {
                scheme: "s3".into(),
                root: "s3://bucket/prefix".into()
            }
        );
        assert_eq!(Location::resolve("direct:///mnt/x", "./").scheme, "direct");
    }

    #[test]
    fn storage_type_chooses_where_relative_folders_live() {
        use crate::config::Storage;
        let storage = |kind: &str, root: &str| Storage {
            storage_type: kind.into(),
            storage_root: root.into(),
            storage_options: None,
        };
        let s3 = Location::for_dataset("data/unet3d/", &storage("s3", "mybucket")).unwrap();
        assert_eq!(
            s3,
            Location {
                scheme: "s3".into(),
                root: "s3://mybucket/data/unet3d".into()
            }
        );
        let uri = Location::for_dataset("s3://other/x", &storage("s3", "mybucket")).unwrap();
        assert_eq!(uri.root, "s3://other/x");
        assert_eq!(
            Location::for_dataset("data", &storage("parallel_fs", "/lustre"))
                .unwrap()
                .root,
            "/lustre/data"
        );
        let err = Location::for_dataset("data", &storage("aistore", "b"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("storage.storage_type = aistore"), "{err}");
        let err = Location::for_dataset("data", &storage("s3", "./"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("names the bucket"), "{err}");
    }

    #[test]
    fn the_iterative_sampler_shuffles_files_like_numpy() {
        let mut workload = Workload {
            framework: crate::config::Framework::Tensorflow,
            ..Workload::default()
        };
        workload.dataset.format = "npz".into();
        workload.reader.file_shuffle = "seed".into();
        workload.reader.batch_size = 1;
        let plan = build(&workload, 1, "npz", |_| Ok::<_, String>(Some(1))).unwrap();
        let (train, eval) = plan.file_orders(1);
        assert_eq!(
            train.unwrap(),
            [3, 7, 0, 5, 2, 1, 4, 6],
            "np.random.seed(124); shuffle(arange(8))"
        );
        assert!(eval.is_none());
        assert_ne!(plan.file_orders(2).0.unwrap(), [3, 7, 0, 5, 2, 1, 4, 6]);
        workload.framework = crate::config::Framework::Pytorch;
        workload.reader.data_loader = Some("pytorch".into());
        let plan = build(&workload, 1, "npz", |_| Ok::<_, String>(Some(1))).unwrap();
        assert_eq!(
            plan.file_orders(1),
            (None, None),
            "the index sampler ignores file_shuffle"
        );
    }

    #[test]
    fn total_training_steps_above_the_epoch_is_refused() {
        let mut workload = Workload::default();
        workload.dataset.num_files_train = 8;
        workload.reader.batch_size = 4;
        workload.train.total_training_steps = 3;
        let err = build(&workload, 1, "npz", |_| Ok::<_, String>(Some(1)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("train.total_training_steps = 3"), "{err}");
        workload.train.total_training_steps = 2;
        let plan = build(&workload, 1, "npz", |_| Ok::<_, String>(Some(10))).unwrap();
        assert_eq!(plan.train.steps, 2);
        assert_eq!(plan.dataset.total_bytes(), (80, 0));
    }
}
