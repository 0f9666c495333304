//! End-to-end tests of the npy format through the SDK's in-memory output and source.

use dl_plugin_api::sdk::{
    memory::{source, MemoryOutput},
    DatasetSpec, Dtype, ErrorKind, FileSpec, FormatPlugin, FormatSession,
};

use crate::{NpyFormat, NpySession, NpzSession};

fn spec(sample_shape: &[u64], samples: u64, seed: u64) -> FileSpec {
    let mut file = FileSpec::new("train/img_1_of_1.npy", sample_shape.to_vec(), samples);
    file.seed = seed;
    file
}

fn generate(session: &dyn FormatSession, file: &FileSpec) -> Vec<u8> {
    let mut out = MemoryOutput::default();
    out.capture(|out| session.generate(file, out)).unwrap();
    out.data
}

fn check_err(session: &NpySession, file: &FileSpec, bytes: Vec<u8>) -> String {
    let err = session.check(file, source(bytes)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::CORRUPT, "{}", err.message);
    err.message
}

/// Headers numpy 2.4 writes (`np.save` of zeros of that dtype and shape), byte for byte, with
/// the sample shape and sample count that give that array shape.
const NUMPY_HEADERS: &[(Dtype, &[u64], u64, &[u8])] = &[
    (Dtype::Uint8, &[32, 32], 3, b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (32, 32, 3), }                                                     \n"),
    (Dtype::Int16, &[10, 20], 5, b"\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': False, 'shape': (10, 20, 5), }                                                     \n"),
    (Dtype::Float64, &[], 1, b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }                                                            \n"),
    (Dtype::Bool, &[4, 4], 0, b"\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (4, 4, 0), }                                                       \n"),
    (Dtype::Float32, &[2; 25], 3, b"\x93NUMPY\x01\x00\xb6\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3), }                                                  \n"),
];

#[test]
fn uint8_32x32x3_is_3200_bytes_with_a_128_byte_header() {
    let session = NpySession::new(Dtype::Uint8);
    let file = spec(&[32, 32], 3, 7);
    let bytes = generate(&session, &file);
    assert_eq!(bytes.len(), 3200);
    assert_eq!(session.file_size(&file).unwrap(), Some(3200));
    assert_eq!(&bytes[..128], NUMPY_HEADERS[0].3);
}

#[test]
fn headers_and_sizes_match_numpy() {
    for &(dtype, shape, samples, header) in NUMPY_HEADERS {
        let session = NpySession::new(dtype);
        let file = spec(shape, samples, 1);
        let bytes = generate(&session, &file);
        let data = shape.iter().product::<u64>() * samples * dtype.size() as u64;
        assert_eq!(bytes.len() as u64, header.len() as u64 + data, "{dtype:?}");
        assert_eq!(session.file_size(&file).unwrap(), Some(bytes.len() as u64));
        assert_eq!(&bytes[..header.len()], header, "{dtype:?} {shape:?}");
    }
}

#[test]
fn data_is_the_npz_x_member_content() {
    // Same array, same content stream: the npy data equals the npz's x.npy data.
    let file = spec(&[64, 64], 1, 7);
    let npy = generate(&NpySession::new(Dtype::Uint8), &file);
    let npz = generate(&NpzSession::new(Dtype::Uint8), &file);
    assert_eq!(npy[..], npz[55..55 + 4224]);
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let session = NpySession::new(Dtype::Float32);
    let a = generate(&session, &spec(&[32, 32], 2, 11));
    let b = generate(&session, &spec(&[32, 32], 2, 11));
    let c = generate(&session, &spec(&[32, 32], 2, 12));
    assert_eq!(a, b);
    assert_eq!(a.len(), c.len());
    assert_ne!(a, c);
}

#[test]
fn sizes_are_exact_and_files_check_and_read_for_many_shapes_and_types() {
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
        let session = NpySession::new(dtype);
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
        let err = reader.read_sample(samples).unwrap_err();
        assert!(err.message.contains("out of range"), "{}", err.message);
    }
}

#[test]
fn check_reports_truncation_and_trailing_bytes() {
    let session = NpySession::new(Dtype::Uint8);
    let file = spec(&[32, 32], 3, 7);
    let bytes = generate(&session, &file);
    for cut in [3199, 3000, 129, 128, 127, 64, 10, 5, 0] {
        let message = check_err(&session, &file, bytes[..cut].to_vec());
        assert!(
            message.starts_with(&format!("file is truncated: {cut} bytes, expected 3200")),
            "{cut}: {message}"
        );
    }
    let mut longer = bytes;
    longer.extend_from_slice(b"garbage");
    let message = check_err(&session, &file, longer);
    assert_eq!(message, "file has 7 trailing bytes after the array data");
}

#[test]
fn check_names_mismatched_type_shape_and_order() {
    let file = spec(&[32, 32], 3, 7);
    let bytes = generate(&NpySession::new(Dtype::Int16), &file);
    let message = check_err(&NpySession::new(Dtype::Uint16), &file, bytes.clone());
    assert_eq!(message, "dtype '<i2', expected '<u2'");
    let message = check_err(
        &NpySession::new(Dtype::Int16),
        &spec(&[16, 64], 3, 7),
        bytes.clone(),
    );
    assert_eq!(message, "shape (32, 32, 3), expected (16, 64, 3)");
    let text = String::from_utf8_lossy(&bytes[10..128]).replace("False", "True ");
    let mut fortran = bytes;
    fortran[10..128].copy_from_slice(text.as_bytes());
    let message = check_err(&NpySession::new(Dtype::Int16), &file, fortran);
    assert_eq!(message, "array is in Fortran order, expected C order");
}

#[test]
fn reader_reads_good_files_and_rejects_garbage() {
    let session = NpySession::new(Dtype::Uint8);
    let file = spec(&[32, 32], 3, 7);
    let bytes = generate(&session, &file);
    let mut reader = session.open(&file, source(bytes.clone())).unwrap();
    for sample in 0..3 {
        reader.read_sample(sample).unwrap();
    }
    // np.load reads whatever array the header describes, and ignores trailing bytes.
    let floats = generate(&NpySession::new(Dtype::Float32), &file);
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"garbage");
    for other in [floats, longer] {
        session
            .open(&file, source(other))
            .unwrap()
            .read_sample(0)
            .unwrap();
    }

    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut object = bytes.clone();
    object[10..128].copy_from_slice(
        &String::from_utf8_lossy(&bytes[10..128])
            .replace("'|u1'", "'|O' ")
            .into_bytes(),
    );
    for bad in [
        garbage,
        Vec::new(),
        b"\x93NUMPY".to_vec(),
        bytes[..100].to_vec(),
        bytes[..bytes.len() - 1].to_vec(),
        object,
    ] {
        let err = session
            .open(&file, source(bad))
            .unwrap()
            .read_sample(0)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::CORRUPT, "{}", err.message);
    }
    let err = session
        .open(&file, source(bytes[..3000].to_vec()))
        .unwrap()
        .read_sample(0)
        .unwrap_err();
    assert_eq!(
        err.message,
        "file is truncated: the array of shape (32, 32, 3) and type '|u1' needs more than the \
         2872 bytes after its header"
    );
}

#[test]
fn damaged_files_give_errors_never_panics() {
    let session = NpySession::new(Dtype::Uint16);
    let file = spec(&[4, 4], 2, 5);
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
    // Headers claiming absurd shapes.
    for shape in ["(18446744073709551615, 2)", "(4294967296, 4294967296)"] {
        let dict = format!("{{'descr': '<u2', 'fortran_order': False, 'shape': {shape}, }}");
        let mut bad = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        bad.extend_from_slice(dict.as_bytes());
        bad.resize(127, b' ');
        bad.push(b'\n');
        bad.extend_from_slice(&[0; 64]);
        assert!(session.check(&file, source(bad.clone())).is_err());
        let err = session
            .open(&file, source(bad))
            .unwrap()
            .read_sample(0)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::CORRUPT, "{}", err.message);
    }
}

#[test]
fn describe_and_configure() {
    let description = NpyFormat.describe();
    assert_eq!((description.name, description.extension), ("npy", "npy"));
    assert_eq!(description.capabilities, 0b1111);
    let spec = DatasetSpec::from_json(r#"{"record_element_type": "float32"}"#).unwrap();
    let session = NpyFormat.configure(&spec).unwrap();
    assert_eq!(
        session.file_size(&self::spec(&[64, 64], 1, 0)).unwrap(),
        Some(128 + 64 * 64 * 4)
    );
    assert!(NpyFormat
        .configure(&DatasetSpec::from_json(r#"{"compression": "none"}"#).unwrap())
        .is_ok());
    let gzip = DatasetSpec::from_json(r#"{"compression": "gzip"}"#).unwrap();
    let err = NpyFormat.configure(&gzip).err().unwrap();
    assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
    assert!(
        err.message.contains("'gzip'")
            && err.message.contains("npy format")
            && err.message.contains("dataset.compression"),
        "{}",
        err.message
    );
}

#[test]
fn absurd_sizes_are_config_errors() {
    let session = NpySession::new(Dtype::Float64);
    for shape in [&[u64::MAX / 2, 3][..], &[u64::MAX / 8]] {
        let err = session.file_size(&spec(shape, 1, 0)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{}", err.message);
    }
}
