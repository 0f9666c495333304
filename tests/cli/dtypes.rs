//! Every format, with default dims and with `record_dims` in each element type DLIO supports,
//! written by its loaded plugin and read back by the library people use (reference/dlio-spec.md
//! §8 items 15–20). One Python process reads every file of every case.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::support::{dl_driver_with, plugin_dir, python_run, run_ok, write_config};

/// `record_element_type` values of the issue and of DLIO's dimension tests.
const DTYPES: [&str; 8] = [
    "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
];

/// The reader script: numpy, h5py, tfrecord, Pillow and csv against the configuration.
const READER: &str = include_str!("read_datasets.py");

/// One dataset to generate and read back.
struct Case {
    format: &'static str,
    dtype: &'static str,
    /// `record_dims`, or none for DLIO's default `[d, d]` from `record_length_bytes`.
    dims: Option<Vec<u64>>,
    samples: u64,
    /// hdf5's `num_dset_per_record`.
    datasets: u64,
}

impl Case {
    fn yaml(&self, data: &Path) -> String {
        let framework = if self.format == "tfrecord" {
            "tensorflow"
        } else {
            "pytorch"
        };
        let dims = match &self.dims {
            Some(dims) => format!("  record_dims: {dims:?}\n"),
            None => String::new(),
        };
        format!(
            "model:\n  name: dtypes\nframework: {framework}\nworkflow:\n  generate_data: True\n  train: False\n\
             dataset:\n  data_folder: {data}\n  format: {format}\n  num_files_train: 2\n  \
             num_samples_per_file: {samples}\n  record_length_bytes: 256\n  record_element_type: {dtype}\n\
             {dims}  hdf5:\n    num_dset_per_record: {datasets}\n",
            data = data.display(),
            format = self.format,
            samples = self.samples,
            dtype = self.dtype,
            datasets = self.datasets,
        )
    }
}

/// Generates `case` under `dir` and describes it for the reader script.
fn generate(dir: &Path, plugins: &Path, case: &Case) -> Value {
    let data = dir.join("data");
    let config = write_config(dir, "w.yaml", &case.yaml(&data));
    run_ok(
        dl_driver_with(dir, plugins)
            .arg("generate")
            .arg(&config)
            .arg("++workload.output.folder=out"),
    );
    let files: Vec<PathBuf> = std::fs::read_dir(data.join("train"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == case.format))
        .collect();
    assert_eq!(files.len(), 2, "{} {}", case.format, case.dtype);
    json!({
        "format": case.format,
        "dtype": case.dtype,
        "dims": case.dims.clone().unwrap_or(vec![16, 16]),
        "samples": case.samples,
        "datasets": case.datasets,
        "files": files,
    })
}

/// Every case of `formats`: default dims, then `record_dims` in each dtype.
fn cases(formats: &[&'static str]) -> Vec<Case> {
    let mut cases = Vec::new();
    for &format in formats {
        let image = matches!(format, "png" | "jpeg");
        let samples = if image { 1 } else { 2 };
        cases.push(Case {
            format,
            dtype: "uint8",
            dims: None,
            samples,
            datasets: 1,
        });
        for dtype in DTYPES {
            cases.push(Case {
                format,
                dtype,
                dims: Some(if image { vec![6, 10] } else { vec![3, 5] }),
                samples,
                datasets: 1,
            });
        }
    }
    cases
}

/// Generates every case with `plugins` and asserts the readers find what was configured.
fn assert_read_back(plugins: &[&str], cases: &[Case]) {
    let tmp = tempfile::tempdir().unwrap();
    let plugin_path = plugin_dir(tmp.path(), "plugins", plugins);
    let described: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let dir = tmp.path().join(format!("case{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            generate(&dir, &plugin_path, case)
        })
        .collect();
    let list = tmp.path().join("cases.json");
    std::fs::write(&list, serde_json::to_string(&described).unwrap()).unwrap();
    let out: Value = serde_json::from_str(&python_run(READER, &[list.to_str().unwrap()])).unwrap();
    let results = out.as_array().unwrap();
    assert_eq!(results.len(), cases.len());
    for (result, case) in results.iter().zip(cases) {
        assert_eq!(result["files"], 2);
        assert_eq!(
            result["problems"],
            json!([]),
            "{} {} {:?}",
            case.format,
            case.dtype,
            case.dims
        );
    }
}

#[test]
fn every_format_writes_the_configured_shapes_and_types() {
    let formats = [
        "npz",
        "hdf5",
        "npy",
        "tfrecord",
        "indexed_binary",
        "mmap_indexed_binary",
        "csv",
        "png",
        "jpeg",
    ];
    assert_read_back(
        &["npz", "tfrecord", "indexed", "csv", "image", "hdf5", "file"],
        &cases(&formats),
    );
}

#[test]
fn hdf5_splits_a_sample_over_num_dset_per_record_datasets() {
    // DLIO's test 15: record_dims [3, …] with 3 datasets, each (N_s, …) in the dtype.
    let cases: Vec<Case> = ["float32", "int8", "float16"]
        .into_iter()
        .flat_map(|dtype| {
            [vec![3, 4, 5], vec![3, 2], vec![6, 2, 2, 3]]
                .into_iter()
                .map(move |dims| Case {
                    format: "hdf5",
                    dtype,
                    dims: Some(dims),
                    samples: 1,
                    datasets: 3,
                })
        })
        .collect();
    assert_read_back(&["hdf5", "file"], &cases);
}
