//! Generated content: incompressible and unique by default, compressible or deduplicable on
//! request (`dataset.content_zero_fraction`, `dataset.content_shared`), reproducible per seed.

use std::path::Path;

use crate::support::{
    dl_driver_with, plugin_dir, python_run, run_ok, small_npz_workload, write_config,
};

/// Generates the small npz workload with `extra` dataset keys into `dir`; returns the bytes
/// of every training file.
fn generate(dir: &Path, extra: &str) -> Vec<Vec<u8>> {
    let plugins = plugin_dir(dir, "plugins", &["npz", "file"]);
    let config = write_config(dir, "w.yaml", &small_npz_workload(dir, extra));
    run_ok(dl_driver_with(dir, &plugins).arg("generate").arg(&config));
    let mut files: Vec<_> = std::fs::read_dir(dir.join("data/train"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// zlib's compressed size over the original size, measured by Python.
fn zlib_ratio(data: &[u8], dir: &Path) -> f64 {
    let path = dir.join("sample.bin");
    std::fs::write(&path, data).unwrap();
    let out = python_run(
        "import sys, zlib; d = open(sys.argv[1], 'rb').read(); print(len(zlib.compress(d, 6)) / len(d))",
        &[path.to_str().unwrap()],
    );
    out.trim().parse().unwrap()
}

#[test]
fn content_is_incompressible_and_unique_unless_asked_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = generate(&tmp.path().join("plain"), "");
    // Inside the array data (past the zip and npy headers) nothing compresses.
    let ratio = zlib_ratio(&plain[0][300..4000], tmp.path());
    assert!(ratio > 0.99, "zlib ratio {ratio}");
    for (i, a) in plain.iter().enumerate() {
        for b in &plain[i + 1..] {
            assert_ne!(a[200..], b[200..], "files differ past the headers");
        }
    }
    // The same seed gives the same bytes; another seed other bytes.
    let again = generate(&tmp.path().join("again"), "");
    assert_eq!(plain, again);
    let seeded = generate(&tmp.path().join("seeded"), "  seed: 7\n");
    assert_ne!(plain[0], seeded[0]);

    // Half of every 4 KiB block zero: zlib halves it.
    let half = generate(&tmp.path().join("half"), "  content_zero_fraction: 0.5\n");
    let ratio = zlib_ratio(&half[0], tmp.path());
    assert!((0.45..0.6).contains(&ratio), "zlib ratio {ratio}");

    // Shared content: every file has the same bytes (same shapes), so it deduplicates.
    let shared = generate(&tmp.path().join("shared"), "  content_shared: True\n");
    assert!(shared.iter().all(|f| f == &shared[0]));
}
