//! End-to-end tests through the SDK's in-memory output and source.

use dl_plugin_api::sdk::{
    memory::{source, MemoryOutput},
    DatasetSpec, Dtype, ErrorKind, FileSpec, FormatPlugin, FormatSession,
};

use crate::{NpzFormat, NpzSession};

fn spec(sample_shape: &[u64], samples: u64, seed: u64) -> FileSpec {
    let mut file = FileSpec::new("train/img_1_of_1.npz", sample_shape.to_vec(), samples);
    file.seed = seed;
    file
}

fn generate(session: &NpzSession, file: &FileSpec) -> Vec<u8> {
    let mut out = MemoryOutput::default();
    out.capture(|out| session.generate(file, out)).unwrap();
    out.data
}

/// Decodes hex, substituting `crc` for each `XXXXXXXX` placeholder.
fn hex(text: &str, crc: u32) -> Vec<u8> {
    let crc_hex: String = crc
        .to_le_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let text = text.replace("XXXXXXXX", &crc_hex);
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn check_err(session: &NpzSession, file: &FileSpec, bytes: Vec<u8>) -> String {
    let err = session.check(file, source(bytes)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::CORRUPT, "{}", err.message);
    err.message
}

// Bytes numpy 2.4 (CPython 3.11 zipfile) writes for `np.savez(f, x=<64x64x1 uint8>, y=[0])`:
// x.npy's local header and everything from the central directory on, with x.npy's CRC as
// XXXXXXXX. The `limit` variants are numpy's output with `zipfile.ZIP64_LIMIT` lowered, which
// exercises the layout numpy writes for files above 2 GiB.
const LOCAL_X: &str = "504b03042d000000000000002100XXXXXXXXffffffffffffffff05001400782e6e7079\
                       0100100080100000000000008010000000000000";
const LOCAL_Y: &str = "504b03042d000000000000002100a09abe92ffffffffffffffff05001400792e6e7079\
                       0100100088000000000000008800000000000000";
const DIR: &str = "\
    504b01022d032d000000000000002100XXXXXXXX801000008010000005000000000000000000000080010000\
    0000782e6e7079504b01022d032d000000000000002100a09abe928800000088000000050000000000000000\
    0000008001b7100000792e6e7079504b0506000000000200020066000000761100000000";
const DIR_LIMIT_1000: &str = "\
    504b01022d032d000000000000002100XXXXXXXXffffffffffffffff05001400000000000000000080010000\
    0000782e6e70790100100080100000000000008010000000000000504b01022d032d000000000000002100a0\
    9abe92880000008800000005000c0000000000000000008001ffffffff792e6e707901000800b71000000000\
    0000504b06062c000000000000002d002d000000000000000000020000000000000002000000000000008600\
    0000000000007611000000000000504b060700000000fc1100000000000001000000504b0506000000000200\
    020086000000761100000000";
const DIR_LIMIT_4250: &str = "\
    504b01022d032d000000000000002100XXXXXXXX801000008010000005000000000000000000000080010000\
    0000782e6e7079504b01022d032d000000000000002100a09abe92880000008800000005000c000000000000\
    0000008001ffffffff792e6e707901000800b710000000000000504b06062c000000000000002d002d000000\
    0000000000000200000000000000020000000000000072000000000000007611000000000000504b06070000\
    0000e81100000000000001000000504b0506000000000200020072000000761100000000";
const DIR_LIMIT_4400: &str = "\
    504b01022d032d000000000000002100XXXXXXXX801000008010000005000000000000000000000080010000\
    0000782e6e7079504b01022d032d000000000000002100a09abe928800000088000000050000000000000000\
    0000008001b7100000792e6e7079504b06062c000000000000002d002d000000000000000000020000000000\
    0000020000000000000066000000000000007611000000000000504b060700000000dc110000000000000100\
    0000504b0506000000000200020066000000761100000000";

#[test]
fn uint8_64x64x1_is_4594_bytes_laid_out_like_numpy() {
    let session = NpzSession::new(Dtype::Uint8);
    let file = spec(&[64, 64], 1, 7);
    let bytes = generate(&session, &file);
    assert_eq!(bytes.len(), 4594);
    assert_eq!(session.file_size(&file).unwrap(), Some(4594));
    let x_crc = crc32fast::hash(&bytes[55..55 + 4224]);
    assert_eq!(bytes[..55], hex(LOCAL_X, x_crc)[..]);
    assert_eq!(&bytes[55..65], b"\x93NUMPY\x01\x00\x76\x00");
    assert_eq!(bytes[4279..4279 + 55], hex(LOCAL_Y, 0)[..]);
    assert_eq!(bytes[4470..], hex(DIR, x_crc)[..]);
}

#[test]
fn zip64_layout_matches_numpy_above_the_limit() {
    for (limit, size, dir) in [
        (1000, 4702, DIR_LIMIT_1000),
        (4250, 4682, DIR_LIMIT_4250),
        (4400, 4670, DIR_LIMIT_4400),
    ] {
        let session = NpzSession::new(Dtype::Uint8).with_zip64_limit(limit);
        let file = spec(&[64, 64], 1, 7);
        let bytes = generate(&session, &file);
        assert_eq!(bytes.len() as u64, size, "limit {limit}");
        assert_eq!(session.file_size(&file).unwrap(), Some(size));
        let x_crc = crc32fast::hash(&bytes[55..55 + 4224]);
        assert_eq!(bytes[4470..], hex(dir, x_crc)[..], "limit {limit}");
        assert_eq!(
            session.check(&file, source(bytes.clone())).unwrap().bytes,
            size
        );
        session
            .open(&file, source(bytes))
            .unwrap()
            .read_sample(0)
            .unwrap();
    }
}

#[test]
fn sizes_are_exact_and_files_check_for_many_shapes_and_types() {
    let cases: &[(Dtype, &[u64], u64)] = &[
        (Dtype::Float32, &[64, 64], 1),
        (Dtype::Float32, &[700, 800], 1), // several chunks, short last chunk
        (Dtype::Float64, &[3, 5], 7),
        (Dtype::Float16, &[5], 3),
        (Dtype::Int16, &[], 9),
        (Dtype::Bool, &[4, 4], 0),
        (Dtype::Uint64, &[1, 1, 1, 1, 1, 1, 1], 2),
    ];
    for &(dtype, shape, samples) in cases {
        let session = NpzSession::new(dtype);
        let file = spec(shape, samples, 3);
        let bytes = generate(&session, &file);
        assert_eq!(
            Some(bytes.len() as u64),
            session.file_size(&file).unwrap(),
            "{dtype:?} {shape:?}"
        );
        let report = session.check(&file, source(bytes.clone())).unwrap();
        assert_eq!(
            (report.samples, report.bytes),
            (samples, bytes.len() as u64)
        );
        let mut reader = session.open(&file, source(bytes)).unwrap();
        for sample in 0..samples {
            reader.read_sample(sample).unwrap();
        }
        assert!(reader.read_sample(samples).is_err());
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let session = NpzSession::new(Dtype::Float32);
    let a = generate(&session, &spec(&[32, 32], 2, 11));
    let b = generate(&session, &spec(&[32, 32], 2, 11));
    let c = generate(&session, &spec(&[32, 32], 2, 12));
    assert_eq!(a, b);
    assert_eq!(a.len(), c.len());
    assert_ne!(a, c);
}

#[test]
fn check_reports_truncation() {
    let session = NpzSession::new(Dtype::Uint8);
    let file = spec(&[64, 64], 1, 7);
    let bytes = generate(&session, &file);
    for cut in [
        bytes.len() - 1,
        bytes.len() - 30,
        bytes.len() / 2,
        100,
        10,
        0,
    ] {
        let message = check_err(&session, &file, bytes[..cut].to_vec());
        assert!(message.contains("truncated"), "{cut}: {message}");
    }
}

#[test]
fn check_reports_flipped_data_bytes_as_crc_mismatch() {
    let session = NpzSession::new(Dtype::Uint8);
    let file = spec(&[64, 64], 1, 7);
    let good = generate(&session, &file);
    let mut bad = good.clone();
    bad[55 + 128 + 1000] ^= 0x01;
    let message = check_err(&session, &file, bad);
    assert!(
        message.starts_with("x.npy: CRC32 mismatch (stored 0x"),
        "{message}"
    );
    let mut bad = good;
    bad[4279 + 55 + 128] ^= 0x80; // the label
    let message = check_err(&session, &file, bad);
    assert!(message.starts_with("y.npy: CRC32 mismatch"), "{message}");
}

#[test]
fn check_names_mismatched_type_shape_and_extra_bytes() {
    let file = spec(&[64, 64], 1, 7);
    let bytes = generate(&NpzSession::new(Dtype::Uint8), &file);
    let message = check_err(&NpzSession::new(Dtype::Int8), &file, bytes.clone());
    assert_eq!(message, "x.npy: dtype '|u1', expected '|i1'");
    let message = check_err(
        &NpzSession::new(Dtype::Uint8),
        &spec(&[32, 128], 1, 7),
        bytes.clone(),
    );
    assert_eq!(message, "x.npy: shape (64, 64, 1), expected (32, 128, 1)");
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"garbage");
    let message = check_err(&NpzSession::new(Dtype::Uint8), &file, longer);
    assert_eq!(
        message,
        "file has 7 trailing bytes after the zip end record"
    );
    let renamed = rename_x(&bytes);
    let message = check_err(&NpzSession::new(Dtype::Uint8), &file, renamed);
    assert!(message.contains("unexpected member 'z.npy'"), "{message}");
}

/// The file with `x.npy` renamed to `z.npy` in its local header and central directory.
fn rename_x(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for at in [30, 4470 + 46] {
        assert_eq!(&out[at..at + 5], b"x.npy");
        out[at] = b'z';
    }
    out
}

#[test]
fn reader_reads_good_files_and_rejects_garbage() {
    let session = NpzSession::new(Dtype::Uint8);
    let file = spec(&[64, 64], 1, 7);
    let bytes = generate(&session, &file);
    session
        .open(&file, source(bytes.clone()))
        .unwrap()
        .read_sample(0)
        .unwrap();

    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
    for bad in [
        garbage,
        Vec::new(),
        b"PK\x05\x06".to_vec(),
        bytes[..bytes.len() - 1].to_vec(),
    ] {
        let err = session
            .open(&file, source(bad))
            .unwrap()
            .read_sample(0)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::CORRUPT, "{}", err.message);
    }
    let err = session
        .open(&file, source(rename_x(&bytes)))
        .unwrap()
        .read_sample(0)
        .unwrap_err();
    assert_eq!(
        err.message,
        "x.npy: not in the archive (members: z.npy, y.npy)"
    );
}

#[test]
fn damaged_files_give_errors_never_panics() {
    let session = NpzSession::new(Dtype::Uint8).with_zip64_limit(1000);
    let file = spec(&[8, 8], 2, 5);
    let bytes = generate(&session, &file);
    for cut in 0..bytes.len() {
        assert!(
            session.check(&file, source(bytes[..cut].to_vec())).is_err(),
            "cut {cut}"
        );
        let _ = session
            .open(&file, source(bytes[..cut].to_vec()))
            .unwrap()
            .read_sample(0);
    }
    for at in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut bad = bytes.clone();
            bad[at] ^= flip;
            let _ = session.check(&file, source(bad.clone()));
            let _ = session.open(&file, source(bad)).unwrap().read_sample(1);
        }
    }
}

#[test]
fn describe_and_configure() {
    let description = NpzFormat.describe();
    assert_eq!((description.name, description.extension), ("npz", "npz"));
    assert_eq!(description.capabilities, 0b1111);
    let spec = DatasetSpec::from_json(r#"{"record_element_type": "float32"}"#).unwrap();
    let session = NpzFormat.configure(&spec).unwrap();
    assert_eq!(
        session.file_size(&self::spec(&[64, 64], 1, 0)).unwrap(),
        Some(16882)
    );
    assert!(NpzFormat
        .configure(&DatasetSpec::from_json(r#"{"compression": "none"}"#).unwrap())
        .is_ok());
    let gzip = DatasetSpec::from_json(r#"{"compression": "gzip"}"#).unwrap();
    let err = NpzFormat.configure(&gzip).err().unwrap();
    assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
    assert!(err.message.contains("'gzip'") && err.message.contains("dataset.compression"));
}

#[test]
fn absurd_sizes_are_config_errors() {
    let session = NpzSession::new(Dtype::Float64);
    let err = session
        .file_size(&spec(&[u64::MAX / 2, 3], 1, 0))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
}
