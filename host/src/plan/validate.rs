//! DLIO's configuration rules (reference/dlio-spec.md §1.3) that do not depend on files or
//! checkpoint layout: each broken rule is one error naming the key, the value and what to do;
//! rules DLIO only warns about become warnings.

use super::PlanError;
use crate::config::{Framework, Workload};

/// The data loader a workload emulates: `reader.data_loader`, or the framework's own loader
/// when it is absent (DLIO crashes instead, Q-2).
pub fn data_loader(workload: &Workload) -> &str {
    match (&workload.reader.data_loader, workload.framework) {
        (Some(loader), _) => loader.as_str(),
        (None, Framework::Tensorflow) => "tensorflow",
        (None, Framework::Pytorch) => "pytorch",
    }
}

const LOADERS: [&str; 5] = ["tensorflow", "pytorch", "dali", "native_dali", "synthetic"];

fn invalid(key: &'static str, value: impl ToString, message: impl Into<String>) -> PlanError {
    PlanError::Invalid {
        key,
        value: value.to_string(),
        message: message.into(),
    }
}

/// Checks the rules; returns the warnings to print. Dataset and loader rules apply only when
/// the workflow generates or trains: checkpoint-only workloads (llama) have no dataset.
pub fn check(workload: &Workload, ranks: u64) -> Result<Vec<String>, PlanError> {
    let mut warnings = Vec::new();
    if ranks == 0 {
        return Err(invalid("ranks", 0, "a run needs at least one rank"));
    }
    if workload.workflow.train || workload.workflow.generate_data {
        check_data(workload, &mut warnings)?;
    }
    for (key, value) in [
        (
            "reader.data_loader_classname",
            &workload.reader.data_loader_classname,
        ),
        ("reader.reader_classname", &workload.reader.reader_classname),
        (
            "checkpoint.checkpoint_mechanism_classname",
            &workload.checkpoint.checkpoint_mechanism_classname,
        ),
    ] {
        if let Some(class) = value {
            return Err(PlanError::Invalid {
                key,
                value: class.clone(),
                message: "Python classes cannot run in dl-driver; implement the behaviour as a format or backend \
                          plugin (see README, Writing a plugin) and remove this key"
                    .into(),
            });
        }
    }
    let checkpoint = &workload.checkpoint;
    if checkpoint.num_checkpoints_write > 0
        && checkpoint.num_checkpoints_read > checkpoint.num_checkpoints_write
    {
        return Err(invalid(
            "checkpoint.num_checkpoints_read",
            checkpoint.num_checkpoints_read,
            format!(
                "cannot read more checkpoints than the {} written",
                checkpoint.num_checkpoints_write
            ),
        ));
    }
    if checkpoint.ksm.is_some() && checkpoint.randomize_tensor {
        return Err(invalid(
            "checkpoint.ksm",
            "set",
            "KSM needs identical pages: set checkpoint.randomize_tensor: False",
        ));
    }
    Ok(warnings)
}

fn check_data(workload: &Workload, warnings: &mut Vec<String>) -> Result<(), PlanError> {
    let (dataset, reader) = (&workload.dataset, &workload.reader);
    let loader = data_loader(workload);
    // DLIO compares only an explicit `data_loader` in these rules (its default is a plain string
    // that never matches), so a workload without one passes them, as it does upstream.
    let explicit = reader.data_loader.as_deref().unwrap_or("");
    if !LOADERS.contains(&loader) {
        return Err(invalid(
            "reader.data_loader",
            loader,
            format!("use one of {}", LOADERS.join(", ")),
        ));
    }
    match (workload.framework, explicit) {
        (Framework::Tensorflow, "pytorch") => {
            return Err(invalid(
                "reader.data_loader",
                loader,
                "the tensorflow framework cannot use the pytorch loader; set framework: pytorch",
            ))
        }
        (Framework::Pytorch, "tensorflow") => {
            return Err(invalid(
                "reader.data_loader",
                loader,
                "the pytorch framework cannot use the tensorflow loader; set framework: tensorflow",
            ))
        }
        _ => {}
    }
    if dataset.format == "tfrecord" && explicit == "pytorch" {
        return Err(invalid(
            "dataset.format",
            "tfrecord",
            "the pytorch loader cannot read tfrecord; use the tensorflow or dali loader",
        ));
    }
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as u64)
        .unwrap_or(1);
    if reader.read_threads > cpus {
        warnings.push(format!(
            "reader.read_threads = {} is more than the {cpus} CPUs this process may use; reads may be CPU-bound",
            reader.read_threads
        ));
    }
    if !(0.0..=1.0).contains(&dataset.content_zero_fraction) {
        return Err(invalid(
            "dataset.content_zero_fraction",
            dataset.content_zero_fraction,
            "use a fraction from 0 (incompressible, the default) to 1 (all zeros)",
        ));
    }
    if !dataset.record_dims.is_empty() {
        if dataset.record_length_bytes_stdev > 0.0 {
            return Err(invalid(
                "dataset.record_length_bytes_stdev",
                dataset.record_length_bytes_stdev,
                "cannot vary sizes of samples with fixed dataset.record_dims; remove one of the two",
            ));
        }
        if matches!(dataset.format.as_str(), "jpeg" | "png") && dataset.record_dims.len() > 2 {
            // DLIO's exact text: scripts and tests match it.
            return Err(invalid(
                "dataset.record_dims",
                format!("{:?}", dataset.record_dims),
                format!(
                    "{} format does not support more than 2 dimensions, but got {} dimensions.",
                    dataset.format,
                    dataset.record_dims.len()
                ),
            ));
        }
        let per_record = dataset.hdf5.num_dset_per_record.max(1);
        if dataset.format == "hdf5" && dataset.record_dims[0] % per_record != 0 {
            return Err(invalid(
                "dataset.hdf5.num_dset_per_record",
                per_record,
                format!(
                    "must divide dataset.record_dims[0] = {}",
                    dataset.record_dims[0]
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload() -> Workload {
        let mut w = Workload {
            framework: Framework::Pytorch,
            ..Workload::default()
        };
        w.dataset.format = "npz".into();
        w
    }

    #[test]
    fn checkpoint_only_workloads_skip_dataset_rules() {
        // llama workloads: pytorch, no dataset section (so DLIO's default format, tfrecord).
        let mut w = Workload {
            framework: Framework::Pytorch,
            ..Workload::default()
        };
        w.workflow.train = false;
        w.workflow.checkpoint = true;
        assert!(check(&w, 8).is_ok());
        w.workflow.train = true;
        assert!(
            check(&w, 8).is_ok(),
            "no explicit loader: DLIO's rules do not fire"
        );
        w.reader.data_loader = Some("pytorch".into());
        assert!(
            check(&w, 8).is_err(),
            "tfrecord with an explicit pytorch loader is refused when training"
        );
    }

    fn error(w: &Workload) -> String {
        check(w, 1).unwrap_err().to_string()
    }

    #[test]
    fn a_default_loader_follows_the_framework() {
        let mut w = workload();
        assert_eq!(data_loader(&w), "pytorch");
        w.framework = Framework::Tensorflow;
        assert_eq!(data_loader(&w), "tensorflow");
        assert!(check(&w, 1).is_ok());
    }

    #[test]
    fn framework_loader_and_format_must_agree() {
        let mut w = workload();
        w.reader.data_loader = Some("tensorflow".into());
        assert!(error(&w).contains("set framework: tensorflow"));
        w.reader.data_loader = Some("pytorch".into());
        w.dataset.format = "tfrecord".into();
        assert!(error(&w).contains("dataset.format = tfrecord"));
        w.reader.data_loader = Some("keras".into());
        assert!(error(&w).contains("reader.data_loader = keras"));
    }

    #[test]
    fn image_formats_refuse_three_dimensions_with_dlios_text() {
        let mut w = workload();
        w.dataset.format = "png".into();
        w.dataset.record_dims = vec![3, 4, 5];
        assert!(error(&w)
            .contains("png format does not support more than 2 dimensions, but got 3 dimensions."));
        w.dataset.record_dims = vec![3, 4];
        assert!(check(&w, 1).is_ok());
    }

    #[test]
    fn record_dims_rules() {
        let mut w = workload();
        w.dataset.record_dims = vec![6, 4];
        w.dataset.record_length_bytes_stdev = 10.0;
        assert!(error(&w).contains("dataset.record_length_bytes_stdev"));
        w.dataset.record_length_bytes_stdev = 0.0;
        w.dataset.format = "hdf5".into();
        w.dataset.hdf5.num_dset_per_record = 4;
        assert!(error(&w).contains("must divide dataset.record_dims[0] = 6"));
        w.dataset.hdf5.num_dset_per_record = 3;
        assert!(check(&w, 1).is_ok());
    }

    #[test]
    fn checkpoint_rules() {
        let mut w = workload();
        w.checkpoint.num_checkpoints_write = 2;
        w.checkpoint.num_checkpoints_read = 3;
        assert!(error(&w).contains("checkpoint.num_checkpoints_read = 3"));
        w.checkpoint.num_checkpoints_read = 2;
        w.checkpoint.ksm = Some(Default::default());
        assert!(error(&w).contains("randomize_tensor: False"));
        w.checkpoint.randomize_tensor = false;
        assert!(check(&w, 1).is_ok());
    }

    #[test]
    fn python_classes_are_refused_not_ignored() {
        let mut w = workload();
        w.reader.reader_classname = Some("my.Reader".into());
        assert!(error(&w).contains("reader.reader_classname = my.Reader"));
    }
}
