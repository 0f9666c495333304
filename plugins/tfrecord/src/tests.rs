use std::collections::BTreeMap;

use dl_plugin_api::sdk::{
    memory::{self, MemoryOutput},
    ErrorKind,
};

use super::*;
use crate::proto::{BytesList, Feature, Features, Int64List};

fn session(dtype: Dtype) -> Box<dyn FormatSession> {
    TfRecord
        .configure(&DatasetSpec::with_element_type(dtype))
        .unwrap()
}

fn file(key: &str, shape: Vec<u64>, samples: u64) -> FileSpec {
    let mut file = FileSpec::new(key, shape, samples);
    file.seed = 42;
    file
}

type Sidecars = Vec<(String, Vec<u8>)>;

fn generate(session: &dyn FormatSession, file: &FileSpec) -> (Vec<u8>, Sidecars) {
    let mut out = MemoryOutput::default();
    out.capture(|o| session.generate(file, o)).unwrap();
    let sidecars = out.sidecars();
    (out.data, sidecars)
}

/// An independent framing parser: `(offset, payload)` per record, checking both CRCs.
fn parse_records(bytes: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let length = &bytes[at..at + 8];
        let len = u64::from_le_bytes(length.try_into().unwrap()) as usize;
        let len_crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        assert_eq!(len_crc, masked_crc(length));
        let payload = &bytes[at + 12..at + 12 + len];
        let crc = u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
        assert_eq!(crc, masked_crc(payload));
        records.push((at, payload.to_vec()));
        at += 16 + len;
    }
    assert_eq!(at, bytes.len());
    records
}

#[test]
fn masked_crc_known_vectors() {
    // Values computed with Python's crc32c package and TFRecord's masking formula.
    assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
    assert_eq!(masked_crc(b"123456789"), 0xc78a_b0e5);
    assert_eq!(masked_crc(b""), 0xa282_ead8);
    assert_eq!(masked_crc(&100u64.to_le_bytes()), 0xdf1c_5f43);
}

#[test]
fn describe_and_configure() {
    let description = TfRecord.describe();
    assert_eq!(description.name, "tfrecord");
    assert_eq!(description.extension, "tfrecord");
    assert_eq!(
        description.capabilities,
        format_caps::GENERATE | format_caps::READ | format_caps::CHECK | format_caps::EXACT_SIZE
    );
    for ok in [
        r#"{}"#,
        r#"{"compression": "none"}"#,
        r#"{"compression": "None"}"#,
    ] {
        TfRecord
            .configure(&DatasetSpec::from_json(ok).unwrap())
            .unwrap();
    }
    let gzip = DatasetSpec::from_json(r#"{"compression": "gzip"}"#).unwrap();
    let err = TfRecord.configure(&gzip).err().unwrap();
    assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
    assert!(err.message.contains("dataset.compression") && err.message.contains("'gzip'"));
}

#[test]
fn size_matches_file_size_for_many_shapes() {
    let shapes: [Vec<u64>; 6] = [
        vec![1],
        vec![3, 5],
        vec![11, 13],
        vec![64, 64],
        vec![130, 130],
        vec![1, 1_100_000],
    ];
    for dtype in [Dtype::Uint8, Dtype::Float32, Dtype::Int64, Dtype::Float16] {
        let session = session(dtype);
        for shape in &shapes {
            for samples in [0, 1, 3] {
                let f = file("train/img_0_of_1.tfrecord", shape.clone(), samples);
                let (data, _) = generate(session.as_ref(), &f);
                assert_eq!(
                    Some(data.len() as u64),
                    session.file_size(&f).unwrap(),
                    "{dtype:?} {shape:?} {samples}"
                );
                let records = parse_records(&data);
                assert_eq!(records.len() as u64, samples);
            }
        }
    }
}

#[test]
fn payload_is_the_example_prost_encodes() {
    let session = session(Dtype::Uint16);
    for shape in [vec![0], vec![1], vec![7, 9], vec![100, 100], vec![300, 300]] {
        let f = file("train/a.tfrecord", shape.clone(), 2);
        let (data, _) = generate(session.as_ref(), &f);
        let n = f.sample_elements() as usize * 2;
        for (_, payload) in parse_records(&data) {
            let image =
                payload[payload.len() - n - Layout::new(n as u64).tail.len()..][..n].to_vec();
            let mut feature = BTreeMap::new();
            feature.insert(
                "image".to_string(),
                Feature {
                    kind: Some(Kind::BytesList(BytesList {
                        value: vec![image.clone()],
                    })),
                },
            );
            feature.insert(
                "size".to_string(),
                Feature {
                    kind: Some(Kind::Int64List(Int64List {
                        value: vec![n as i64],
                    })),
                },
            );
            let example = Example {
                features: Some(Features { feature }),
            };
            assert_eq!(example.encode_to_vec(), payload, "{shape:?}");
            let decoded = Example::decode(payload.as_slice()).unwrap();
            assert_eq!(decoded, example);
        }
    }
}

#[test]
fn generation_is_deterministic_and_seeded() {
    let session = session(Dtype::Uint8);
    let f = file("train/a.tfrecord", vec![32, 32], 4);
    let (a, sa) = generate(session.as_ref(), &f);
    let (b, sb) = generate(session.as_ref(), &f);
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    let mut other = f.clone();
    other.seed = 43;
    let (c, _) = generate(session.as_ref(), &other);
    assert_eq!(a.len(), c.len());
    assert_ne!(a, c);
    // Samples within a file differ.
    let records = parse_records(&a);
    assert_ne!(records[0].1, records[1].1);
}

#[test]
fn index_sidecar_lists_every_record() {
    let session = session(Dtype::Uint8);
    let f = file("train/sub/img_1_of_8.tfrecord", vec![10, 10], 3);
    assert_eq!(
        session.sidecar_keys(&f).unwrap(),
        vec!["index/train/img_1_of_8.tfrecord.idx".to_string()]
    );
    let (data, sidecars) = generate(session.as_ref(), &f);
    assert_eq!(sidecars.len(), 1);
    assert_eq!(sidecars[0].0, "index/train/img_1_of_8.tfrecord.idx");
    let expected: String = parse_records(&data)
        .iter()
        .map(|(offset, payload)| format!("{offset} {}\n", payload.len() + 16))
        .collect();
    assert_eq!(String::from_utf8(sidecars[0].1.clone()).unwrap(), expected);
    // 100 image bytes: payload = 1+2 (Example.features) + 2+7+2+2+2+100 (image entry)
    // + 2+6+2+2+2+1 (size entry) = 133; record = 149.
    assert_eq!(expected, "0 149\n149 149\n298 149\n");

    let valid = file("valid/img_0_of_1.tfrecord", vec![10, 10], 1);
    assert_eq!(
        session.sidecar_keys(&valid).unwrap(),
        vec!["index/valid/img_0_of_1.tfrecord.idx".to_string()]
    );
}

#[test]
fn check_passes_on_a_good_file() {
    let session = session(Dtype::Float32);
    let f = file("train/a.tfrecord", vec![20, 30], 5);
    let (data, sidecars) = generate(session.as_ref(), &f);
    let len = data.len() as u64;
    let report = session
        .check(&f, memory::source_with_related(data, sidecars))
        .unwrap();
    assert_eq!(report.samples, 5);
    assert_eq!(report.bytes, len);
}

fn check_err(
    session: &dyn FormatSession,
    f: &FileSpec,
    data: Vec<u8>,
    sidecars: Sidecars,
) -> Error {
    let err = session
        .check(f, memory::source_with_related(data, sidecars))
        .expect_err("check should fail");
    assert_eq!(err.kind, ErrorKind::CORRUPT, "{}", err.message);
    err
}

#[test]
fn check_reports_corruption_clearly() {
    let session = session(Dtype::Uint8);
    let f = file("train/a.tfrecord", vec![10, 10], 4);
    let (data, sidecars) = generate(session.as_ref(), &f);

    // Flipped payload byte in record 2 (inside the image).
    let mut flipped = data.clone();
    flipped[2 * 149 + 12 + 50] ^= 0x01;
    let err = check_err(session.as_ref(), &f, flipped, sidecars.clone());
    assert!(
        err.message
            .starts_with("train/a.tfrecord: record 2: payload CRC mismatch (stored 0x"),
        "{}",
        err.message
    );
    assert!(err.message.contains("computed 0x"), "{}", err.message);

    // Truncated in the middle of record 3.
    let err = check_err(
        session.as_ref(),
        &f,
        data[..3 * 149 + 40].to_vec(),
        sidecars.clone(),
    );
    assert!(
        err.message.contains("record 3") && err.message.contains("truncated"),
        "{}",
        err.message
    );

    // Truncated at a record boundary: too few records.
    let err = check_err(
        session.as_ref(),
        &f,
        data[..2 * 149].to_vec(),
        sidecars.clone(),
    );
    assert!(
        err.message.contains("after 2 records, expected 4"),
        "{}",
        err.message
    );

    // Trailing bytes.
    let mut trailing = data.clone();
    trailing.extend_from_slice(b"xyz");
    let err = check_err(session.as_ref(), &f, trailing, sidecars.clone());
    assert!(err.message.contains("3 trailing bytes"), "{}", err.message);

    // Corrupted length field.
    let mut length = data.clone();
    length[149] ^= 0x80;
    let err = check_err(session.as_ref(), &f, length, sidecars.clone());
    assert!(
        err.message.contains("record 1") && err.message.contains("length CRC mismatch"),
        "{}",
        err.message
    );

    // Wrong sample size for the spec.
    let bigger = file("train/a.tfrecord", vec![10, 11], 4);
    let err = check_err(session.as_ref(), &bigger, data.clone(), sidecars.clone());
    assert!(
        err.message
            .contains("feature 'image' has 100 bytes, expected 110"),
        "{}",
        err.message
    );

    // Index wrong or missing.
    let key = sidecars[0].0.clone();
    let bad_index = vec![(key.clone(), b"0 149\n149 149\n298 149\n447 150\n".to_vec())];
    let err = check_err(session.as_ref(), &f, data.clone(), bad_index);
    assert!(
        err.message.contains(&key) && err.message.contains("entry 3"),
        "{}",
        err.message
    );
    let short_index = vec![(key.clone(), b"0 149\n".to_vec())];
    let err = check_err(session.as_ref(), &f, data.clone(), short_index);
    assert!(
        err.message.contains("1 entries for 4 records"),
        "{}",
        err.message
    );
    let err = session
        .check(&f, memory::source(data.clone()))
        .err()
        .unwrap();
    assert!(err.message.contains(&key), "{}", err.message);
}

#[test]
fn reads_in_order_and_out_of_order_with_and_without_index() {
    let session = session(Dtype::Int32);
    let f = file("train/a.tfrecord", vec![50, 40], 6);
    let (data, sidecars) = generate(session.as_ref(), &f);
    for with_index in [true, false] {
        let source = if with_index {
            memory::source_with_related(data.clone(), sidecars.clone())
        } else {
            memory::source(data.clone())
        };
        let mut reader = session.open(&f, source).unwrap();
        for sample in 0..6 {
            reader.read_sample(sample).unwrap();
        }
        for sample in [5, 0, 3, 3, 1, 4, 2] {
            reader.read_sample(sample).unwrap();
        }
        assert_eq!(
            reader.read_sample(6).err().unwrap().kind,
            ErrorKind::INVALID_CONFIG
        );
        // Out of order first, on a fresh reader.
        let source = if with_index {
            memory::source_with_related(data.clone(), sidecars.clone())
        } else {
            memory::source(data.clone())
        };
        let mut reader = session.open(&f, source).unwrap();
        reader.read_sample(4).unwrap();
        reader.read_sample(5).unwrap();
        reader.read_sample(0).unwrap();
    }
}

#[test]
fn garbage_is_an_error_never_a_panic() {
    let session = session(Dtype::Uint8);
    let f = file("train/a.tfrecord", vec![10, 10], 3);
    let (good, sidecars) = generate(session.as_ref(), &f);
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0xff; 5],
        vec![0xff; 64],
        b"not a tfrecord file at all, just some text".to_vec(),
        u64::MAX.to_le_bytes().to_vec(),
    ];
    // A header with a valid length CRC but a huge length.
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(&masked_crc(&u64::MAX.to_le_bytes()).to_le_bytes());
    huge.extend_from_slice(&[0; 20]);
    inputs.push(huge);
    // A well-framed record whose payload is not an Example.
    let junk = vec![0xffu8; 10];
    let mut framed = (junk.len() as u64).to_le_bytes().to_vec();
    framed.extend_from_slice(&masked_crc(&(junk.len() as u64).to_le_bytes()).to_le_bytes());
    framed.extend_from_slice(&junk);
    framed.extend_from_slice(&masked_crc(&junk).to_le_bytes());
    inputs.push(framed.clone());
    for cut in [1, 11, 12, 100, 200, good.len() - 1] {
        inputs.push(good[..cut].to_vec());
    }
    let mut state = 0x1234_5678u32;
    for _ in 0..200 {
        let mut bytes = good.clone();
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let at = state as usize % bytes.len();
        bytes[at] = bytes[at].wrapping_add((state >> 24) as u8 | 1);
        inputs.push(bytes);
    }
    for input in inputs {
        assert!(session
            .check(
                &f,
                memory::source_with_related(input.clone(), sidecars.clone())
            )
            .is_err());
        let mut reader = session.open(&f, memory::source(input.clone())).unwrap();
        for sample in [2, 0, 1] {
            let _ = reader.read_sample(sample);
        }
    }
    let err = session
        .check(&f, memory::source_with_related(framed, sidecars))
        .err()
        .unwrap();
    assert!(
        err.message.contains("not a tf.train.Example"),
        "{}",
        err.message
    );
    // A garbage index is ignored by reads (they scan) and rejected by check.
    let bad_index = vec![(sidecars_key(&f), b"12 x\nfoo\n".to_vec())];
    let mut reader = session
        .open(
            &f,
            memory::source_with_related(good.clone(), bad_index.clone()),
        )
        .unwrap();
    reader.read_sample(2).unwrap();
    let err = session
        .check(&f, memory::source_with_related(good, bad_index))
        .err()
        .unwrap();
    assert!(err.message.contains("bad index line"), "{}", err.message);
}

fn sidecars_key(f: &FileSpec) -> String {
    index_key(f)
}
