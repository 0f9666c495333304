//! Cross-check with h5py: the files must look to DLIO's own library as h5py would write them.
//!
//! Runs the Python at `DL_DRIVER_PYTHON` (default `/work/main/.venv/bin/python`), which must
//! have h5py and numpy; without them the test fails rather than skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use dl_plugin_api::sdk::{memory::MemoryOutput, DatasetSpec, Dtype, FileSpec, FormatPlugin};

use crate::Hdf5Format;

const DEFAULT_PYTHON: &str = "/work/main/.venv/bin/python";

const SCRIPT: &str = r#"
import json, sys
import h5py, numpy as np

errors = []
for case in json.load(open(sys.argv[1])):
    where = case["name"]
    def expect(what, found, wanted):
        if found != wanted:
            errors.append(f"{where}: {what} is {found!r}, expected {wanted!r}")
    with h5py.File(case["path"], "r") as f:
        expect("datasets", sorted(f.keys()), sorted(case["datasets"] + ["labels"]))
        for name in case["datasets"]:
            d = f[name]
            expect(name + " shape", d.shape, tuple(case["shape"]))
            expect(name + " dtype", str(d.dtype), case["dtype"])
            expect(name + " compression", d.compression, case["compression"])
            expect(name + " compression_opts", d.compression_opts, case["level"])
            expect(name + " chunks", d.chunks, None if case["chunks"] is None else tuple(case["chunks"]))
            expect(name + " maxshape", d.maxshape, tuple(case["maxshape"]))
            if d.shape[0] > 0:
                row = d[d.shape[0] - 1]
                expect(name + " row dtype", str(row.dtype), case["dtype"])
                if row.dtype.kind == "f" and not ((row >= 0) & (row < 1)).all():
                    errors.append(f"{where}: {name} has floats outside [0, 1)")
                if row.dtype.kind == "b" and row.size > 8 and row.all():
                    errors.append(f"{where}: {name} is all True")
        labels = f["labels"]
        expect("labels dtype", str(labels.dtype), "int64")
        expect("labels shape", labels.shape, (case["shape"][0],))
        expect("labels all zero", bool((labels[...] == 0).all()), True)
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("h5py agrees on", len(json.load(open(sys.argv[1]))), "files")
"#;

/// One generated file and what h5py must report for it.
struct Case {
    name: String,
    dataset: String,
    sample_shape: Vec<u64>,
    samples: u64,
    datasets: usize,
    shape: Vec<u64>,
    dtype: &'static str,
    compression: Option<(&'static str, Option<u64>)>,
    chunks: Option<Vec<u64>>,
    maxshape: Vec<u64>,
}

fn list(values: &[u64]) -> String {
    let items: Vec<String> = values.iter().map(u64::to_string).collect();
    format!("[{}]", items.join(", "))
}

impl Case {
    fn plain(name: &str, dataset: &str, sample_shape: &[u64], samples: u64) -> Case {
        let mut shape = vec![samples];
        shape.extend_from_slice(sample_shape);
        Case {
            name: name.into(),
            dataset: dataset.into(),
            sample_shape: sample_shape.to_vec(),
            samples,
            datasets: 1,
            maxshape: shape.clone(),
            shape,
            dtype: "uint8",
            compression: None,
            chunks: None,
        }
    }

    /// Generates the file into `dir`; returns the manifest entry.
    fn write(&self, dir: &Path) -> String {
        let session = Hdf5Format
            .configure(&DatasetSpec::from_json(&self.dataset).unwrap())
            .unwrap();
        let mut file = FileSpec::new(
            format!("train/{}.hdf5", self.name),
            self.sample_shape.clone(),
            self.samples,
        );
        file.seed = 17;
        let mut out = MemoryOutput::default();
        out.capture(|o| session.generate(&file, o)).unwrap();
        // Superblock version 3: what libver='latest' gives on HDF5 1.10.
        assert_eq!(out.data[8], 3, "{}: superblock version", self.name);
        let path = dir.join(format!("{}.hdf5", self.name));
        std::fs::write(&path, &out.data).unwrap();
        let names: Vec<String> = (0..self.datasets)
            .map(|k| format!("\"records_{k}\""))
            .collect();
        let (compression, level) = match self.compression {
            None => ("null".to_string(), "null".to_string()),
            Some((name, level)) => (
                format!("\"{name}\""),
                level.map_or("null".into(), |l| l.to_string()),
            ),
        };
        format!(
            r#"{{"name": "{}", "path": "{}", "datasets": [{}], "shape": {}, "dtype": "{}",
                "compression": {compression}, "level": {level}, "chunks": {}, "maxshape": {}}}"#,
            self.name,
            path.display(),
            names.join(", "),
            list(&self.shape),
            self.dtype,
            self.chunks.as_deref().map_or("null".into(), list),
            list(&self.maxshape),
        )
    }
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for dtype in Dtype::ALL {
        let mut case = Case::plain(
            &format!("dtype_{}", dtype.name()),
            &format!(r#"{{"record_element_type": "{}"}}"#, dtype.name()),
            &[8, 6],
            3,
        );
        case.dtype = dtype.name();
        cases.push(case);
    }
    let mut case = Case::plain("one_sample", "{}", &[4, 4], 1);
    case.shape = vec![1, 4, 4];
    cases.push(case);

    let mut case = Case::plain(
        "gzip6_float16",
        r#"{"record_element_type": "float16", "compression": "gzip", "compression_level": 6}"#,
        &[16, 16],
        4,
    );
    case.dtype = "float16";
    case.compression = Some(("gzip", Some(6)));
    case.chunks = Some(vec![1, 16, 16]);
    cases.push(case);

    let mut case = Case::plain(
        "lzf_int8",
        r#"{"record_element_type": "int8", "compression": "lzf"}"#,
        &[16, 16],
        4,
    );
    case.dtype = "int8";
    case.compression = Some(("lzf", None));
    case.chunks = Some(vec![1, 16, 16]);
    cases.push(case);

    let mut case = Case::plain("none", r#"{"compression": "none"}"#, &[16, 16], 2);
    case.dtype = "uint8";
    cases.push(case);

    let mut case = Case::plain(
        "chunks_max",
        r#"{"hdf5": {"chunk_dims": [2, 8, 16], "max_shape": [32, 16]}}"#,
        &[16, 16],
        4,
    );
    case.chunks = Some(vec![2, 8, 16]);
    case.maxshape = vec![4, 32, 16];
    cases.push(case);

    // DLIO test 15: record_dims [3, 4, 5] with three datasets per record.
    let mut case = Case::plain(
        "split3",
        r#"{"record_element_type": "float32", "hdf5": {"num_dset_per_record": 3}}"#,
        &[3, 4, 5],
        2,
    );
    case.datasets = 3;
    case.dtype = "float32";
    case.shape = vec![2, 4, 5];
    case.maxshape = vec![2, 4, 5];
    cases.push(case);
    cases
}

/// The Python to run, and why it is that one.
fn python() -> (PathBuf, String) {
    match std::env::var_os("DL_DRIVER_PYTHON") {
        Some(path) => (path.into(), "DL_DRIVER_PYTHON".into()),
        None => (DEFAULT_PYTHON.into(), "the default".into()),
    }
}

#[test]
fn h5py_reads_what_we_write() {
    let (python, from) = python();
    let probe = Command::new(&python)
        .args(["-c", "import h5py, numpy"])
        .output();
    match probe {
        Err(err) => panic!(
            "cannot run {} ({from}): {err}; set DL_DRIVER_PYTHON to a Python with h5py and numpy",
            python.display()
        ),
        Ok(out) if !out.status.success() => panic!(
            "{} ({from}) lacks h5py or numpy: {}; install them (pip install h5py numpy) or set \
             DL_DRIVER_PYTHON",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Ok(_) => {}
    }
    let dir = std::env::temp_dir().join(format!("dl-plugin-hdf5-h5py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let entries: Vec<String> = cases().iter().map(|case| case.write(&dir)).collect();
    let manifest = dir.join("manifest.json");
    std::fs::write(&manifest, format!("[{}]", entries.join(",\n"))).unwrap();
    let out = Command::new(&python)
        .args(["-c", SCRIPT])
        .arg(&manifest)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "h5py disagrees:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
