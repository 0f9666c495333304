//! In-process tests through `sdk::memory`.

use std::io::Write as _;

use dl_plugin_api::sdk::{
    format_caps,
    memory::{self, MemoryOutput},
    DatasetSpec, Dtype, ErrorKind, FileSpec, FormatPlugin, FormatSession, SampleReader,
};

use crate::index::{read_index, Column, Decoder, Extent, Index};
use crate::layout::Layout;
use crate::mmap::{touch_pages, MmapReader, PAGE};
use crate::read::SeekReader;
use crate::{IndexedBinary, IndexedSession, MmapIndexedBinary, ReadMode};

const KEY: &str = "train/img_1_of_4.indexed_binary";

fn file(shape: Vec<u64>, samples: u64) -> FileSpec {
    let mut file = FileSpec::new(KEY, shape, samples);
    file.seed = 42;
    file
}

fn session(plugin: &dyn FormatPlugin, dtype: Dtype) -> Box<dyn FormatSession> {
    plugin
        .configure(&DatasetSpec::with_element_type(dtype))
        .unwrap()
}

/// The data file and the `(key, bytes)` sidecars `generate` writes.
fn generate(session: &dyn FormatSession, file: &FileSpec) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let mut out = MemoryOutput::default();
    out.capture(|o| session.generate(file, o)).unwrap();
    let sidecars = out.sidecars();
    (out.data, sidecars)
}

fn u64s(bytes: &[u8]) -> Vec<u64> {
    assert_eq!(bytes.len() % 8, 0);
    bytes
        .chunks_exact(8)
        .map(|w| u64::from_ne_bytes(w.try_into().unwrap()))
        .collect()
}

fn ne(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// `(key, bytes)` of files beside a data file.
type Related = Vec<(String, Vec<u8>)>;

fn related(off: &[u64], sz: &[u64]) -> Related {
    vec![
        (format!("{KEY}.off.idx"), ne(off)),
        (format!("{KEY}.sz.idx"), ne(sz)),
    ]
}

#[test]
fn describes_both_formats() {
    let caps =
        format_caps::GENERATE | format_caps::READ | format_caps::CHECK | format_caps::EXACT_SIZE;
    let a = IndexedBinary.describe();
    assert_eq!(
        (a.name, a.extension, a.capabilities),
        ("indexed_binary", "indexed_binary", caps)
    );
    let b = MmapIndexedBinary.describe();
    assert_eq!(
        (b.name, b.extension, b.capabilities),
        ("mmap_indexed_binary", "mmap_indexed_binary", caps)
    );
}

#[test]
fn compression_other_than_none_is_rejected() {
    for plugin in [&IndexedBinary as &dyn FormatPlugin, &MmapIndexedBinary] {
        for ok in [
            r#"{}"#,
            r#"{"compression": "none"}"#,
            r#"{"compression": "None"}"#,
        ] {
            plugin
                .configure(&DatasetSpec::from_json(ok).unwrap())
                .unwrap();
        }
        let gzip = DatasetSpec::from_json(r#"{"compression": "gzip"}"#).unwrap();
        let err = plugin.configure(&gzip).err().unwrap();
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
        assert!(err.message.contains("'gzip'"), "{}", err.message);
    }
}

#[test]
fn sizes_match_file_size_and_indexes_hold_true_offsets() {
    for plugin in [&IndexedBinary as &dyn FormatPlugin, &MmapIndexedBinary] {
        for (dtype, shape, samples) in [
            (Dtype::Uint8, vec![4, 5], 3),
            (Dtype::Float32, vec![7, 3], 3),
            (Dtype::Int16, vec![1], 1),
            (Dtype::Float64, vec![0, 5], 2),
            (Dtype::Uint8, vec![10], 0),
        ] {
            let session = session(plugin, dtype);
            let file = file(shape.clone(), samples);
            let (data, sidecars) = generate(session.as_ref(), &file);
            let s = shape.iter().product::<u64>() * dtype.size() as u64;
            assert_eq!(session.file_size(&file).unwrap(), Some(data.len() as u64));
            assert_eq!(data.len() as u64, s * samples);
            let keys: Vec<_> = sidecars.iter().map(|(k, _)| k.clone()).collect();
            assert_eq!(keys, session.sidecar_keys(&file).unwrap());
            assert_eq!(keys, [format!("{KEY}.off.idx"), format!("{KEY}.sz.idx")]);
            let offsets: Vec<u64> = (0..samples).map(|i| i * s).collect();
            assert_eq!(u64s(&sidecars[0].1), offsets);
            assert_eq!(u64s(&sidecars[1].1), vec![s; samples as usize]);
        }
    }
}

#[test]
fn three_samples_have_offsets_0_s_2s() {
    let session = session(&IndexedBinary, Dtype::Float32);
    let (_, sidecars) = generate(session.as_ref(), &file(vec![8, 8], 3));
    assert_eq!(u64s(&sidecars[0].1), [0, 256, 512]);
    assert_eq!(u64s(&sidecars[1].1), [256, 256, 256]);
}

#[test]
fn large_sample_counts_keep_true_offsets_and_read_back() {
    // 200 000 samples: indexes of 1.6 MB, written in several batches and read in several
    // transfer-size pieces.
    let samples = 200_000u64;
    let session = session(&IndexedBinary, Dtype::Uint16);
    let file = file(vec![3], samples);
    let (data, sidecars) = generate(session.as_ref(), &file);
    let offsets = u64s(&sidecars[0].1);
    let sizes = u64s(&sidecars[1].1);
    assert_eq!(offsets.len() as u64, samples);
    assert!(offsets.iter().enumerate().all(|(i, &o)| o == i as u64 * 6));
    assert!(sizes.iter().all(|&s| s == 6));
    let source = memory::source_with_related(data.clone(), sidecars.clone());
    let layout = Layout::new(&file, Dtype::Uint16).unwrap();
    let (index, _) = read_index(&file, &layout, &source, Extent::Exact).unwrap();
    // Kept as a progression, not a 1.6 MB table.
    assert_eq!(
        index.offsets,
        Column::Arithmetic {
            first: 0,
            step: 6,
            len: samples
        }
    );
    let mut reader = session.open(&file, source).unwrap();
    for sample in [0, 1, 99_999, samples - 1] {
        reader.read_sample(sample).unwrap();
    }
    assert!(reader.read_sample(samples).is_err());
    let report = session
        .check(&file, memory::source_with_related(data, sidecars))
        .unwrap();
    assert_eq!(report.samples, samples);
    assert_eq!(report.bytes, samples * 6 + 2 * samples * 8);
}

#[test]
fn generation_is_deterministic_per_seed() {
    let session = session(&IndexedBinary, Dtype::Float16);
    let a = generate(session.as_ref(), &file(vec![30, 30], 5));
    let b = generate(session.as_ref(), &file(vec![30, 30], 5));
    assert_eq!(a, b);
    let mut other = file(vec![30, 30], 5);
    other.seed = 43;
    let c = generate(session.as_ref(), &other);
    assert_ne!(a.0, c.0);
    assert_eq!(a.1, c.1);
    // Bytes larger than one content chunk stream identically.
    let big = generate(session.as_ref(), &file(vec![1024, 700], 2));
    assert_eq!(big.0.len(), 2 * 1024 * 700 * 2);
    assert_eq!(big, generate(session.as_ref(), &file(vec![1024, 700], 2)));
}

#[test]
fn seek_reader_reads_exactly_each_sample() {
    let session = session(&IndexedBinary, Dtype::Int32);
    let file = file(vec![5, 3], 4);
    let (data, sidecars) = generate(session.as_ref(), &file);
    let source = memory::source_with_related(data.clone(), sidecars);
    let layout = Layout::new(&file, Dtype::Int32).unwrap();
    let (index, _) = read_index(&file, &layout, &source, Extent::Prefix).unwrap();
    let mut reader = SeekReader::new(KEY.into(), source, index);
    for sample in 0..4u64 {
        let mut seen = Vec::new();
        reader
            .read_with(sample, |bytes| {
                seen.extend_from_slice(bytes);
                Ok(())
            })
            .unwrap();
        let at = sample as usize * 60;
        assert_eq!(seen, &data[at..at + 60], "sample {sample}");
    }
    let err = reader.read_with(4, |_| Ok(())).unwrap_err();
    assert!(err.message.contains("sample 4"), "{}", err.message);
}

#[test]
fn out_of_range_sample_is_an_error_for_both_formats() {
    for plugin in [&IndexedBinary as &dyn FormatPlugin, &MmapIndexedBinary] {
        let session = session(plugin, Dtype::Uint8);
        let file = file(vec![16], 3);
        let (data, sidecars) = generate(session.as_ref(), &file);
        let mut reader = session
            .open(&file, memory::source_with_related(data, sidecars))
            .unwrap();
        for sample in 0..3 {
            reader.read_sample(sample).unwrap();
        }
        for bad in [3, 1000, u64::MAX] {
            let err = reader.read_sample(bad).unwrap_err();
            assert!(err.message.contains("3 samples"), "{}", err.message);
        }
    }
}

#[test]
fn open_reads_only_the_first_samples_entries_and_names_missing_indexes() {
    let session = session(&IndexedBinary, Dtype::Uint8);
    let file = file(vec![4], 2);
    let data = vec![7u8; 8];
    // Longer indexes are fine for reads (DLIO reads the first N_s entries)...
    let long = related(&[0, 4, 999], &[4, 4, 999]);
    let mut reader = session
        .open(
            &file,
            memory::source_with_related(data.clone(), long.clone()),
        )
        .unwrap();
    reader.read_sample(1).unwrap();
    assert!(reader.read_sample(2).is_err());
    // ...but not for check.
    let err = session
        .check(&file, memory::source_with_related(data.clone(), long))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::CORRUPT);
    assert!(err.message.contains(".off.idx"), "{}", err.message);
    // A missing index is named.
    let err = session.open(&file, memory::source(data)).err().unwrap();
    assert!(
        err.message.contains(&format!("{KEY}.off.idx")),
        "{}",
        err.message
    );
}

#[test]
fn check_accepts_generated_files() {
    for plugin in [&IndexedBinary as &dyn FormatPlugin, &MmapIndexedBinary] {
        let session = session(plugin, Dtype::Float32);
        let file = file(vec![6, 6], 5);
        let (data, sidecars) = generate(session.as_ref(), &file);
        let report = session
            .check(&file, memory::source_with_related(data, sidecars))
            .unwrap();
        assert_eq!((report.samples, report.bytes), (5, 5 * 144 + 2 * 5 * 8));
    }
}

#[test]
fn check_catches_truncated_data_wrong_index_length_and_offset_past_end() {
    let session = session(&IndexedBinary, Dtype::Uint8);
    let file = file(vec![10], 3);
    let (data, sidecars) = generate(session.as_ref(), &file);
    let check = |data: Vec<u8>, related: Vec<(String, Vec<u8>)>| {
        session
            .check(&file, memory::source_with_related(data, related))
            .unwrap_err()
    };

    // Truncated data file: the last sample lies past its end.
    let err = check(data[..25].to_vec(), sidecars.clone());
    assert_eq!(err.kind, ErrorKind::CORRUPT);
    assert!(err.message.contains("past the end"), "{}", err.message);

    // Data file longer than the samples.
    let mut longer = data.clone();
    longer.push(0);
    let err = check(longer, sidecars.clone());
    assert!(err.message.contains("31 bytes"), "{}", err.message);

    // Index with a wrong number of entries, short and long.
    let err = check(data.clone(), related(&[0, 10], &[10, 10, 10]));
    assert!(
        err.message.contains(".off.idx") && err.message.contains("2 entries"),
        "{}",
        err.message
    );
    let err = check(data.clone(), related(&[0, 10, 20], &[10, 10, 10, 10]));
    assert!(
        err.message.contains(".sz.idx") && err.message.contains("4 entries"),
        "{}",
        err.message
    );
    let err = session
        .check(
            &file,
            memory::source_with_related(
                data.clone(),
                vec![
                    (format!("{KEY}.off.idx"), vec![0; 25]),
                    (format!("{KEY}.sz.idx"), ne(&[10, 10, 10])),
                ],
            ),
        )
        .unwrap_err();
    assert!(err.message.contains("partial"), "{}", err.message);

    // An offset past the end of the data file.
    let err = check(data.clone(), related(&[0, 10, 30], &[10, 10, 10]));
    assert!(
        err.message.contains("sample 2") && err.message.contains("past the end"),
        "{}",
        err.message
    );

    // DLIO's Q-11 offsets (restarting at 0) and wrong sizes are inconsistent with the layout.
    let err = check(data.clone(), related(&[0, 10, 0], &[10, 10, 10]));
    assert!(
        err.message.contains("sample 2") && err.message.contains("put it at offset 20"),
        "{}",
        err.message
    );
    let err = check(data, related(&[0, 10, 20], &[10, 5, 10]));
    assert!(err.message.contains("sample 1"), "{}", err.message);
}

#[test]
fn reads_follow_any_index_table() {
    // A non-progression index (DLIO's Q-11 layout) is kept as a table and followed.
    let file = file(vec![4], 4);
    let data: Vec<u8> = (0..16).collect();
    let source = memory::source_with_related(data, related(&[0, 4, 0, 4], &[4, 4, 4, 4]));
    let layout = Layout::new(&file, Dtype::Uint8).unwrap();
    let (index, _) = read_index(&file, &layout, &source, Extent::Prefix).unwrap();
    assert_eq!(index.offsets, Column::Table(vec![0, 4, 0, 4]));
    let mut reader = SeekReader::new(KEY.into(), source, index);
    let mut seen = Vec::new();
    reader
        .read_with(2, |b| {
            seen.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, [0, 1, 2, 3]);
}

#[test]
fn decoder_handles_any_piece_sizes() {
    let values = [5u64, 9, 13, 17, 3, u64::MAX, 0];
    let bytes = ne(&values);
    for piece in [1, 3, 5, 7, 8, 13, 56] {
        let mut decoder = Decoder::default();
        for chunk in bytes.chunks(piece) {
            decoder.feed(chunk);
        }
        let column = decoder.finish().unwrap();
        let got: Vec<u64> = (0..column.len()).map(|i| column.get(i).unwrap()).collect();
        assert_eq!(got, values, "pieces of {piece}");
    }
    let mut progression = Decoder::default();
    progression.feed(&ne(&[7, 10, 13, 16]));
    assert_eq!(
        progression.finish().unwrap(),
        Column::Arithmetic {
            first: 7,
            step: 3,
            len: 4
        }
    );
    let mut partial = Decoder::default();
    partial.feed(&[1, 2, 3]);
    assert!(partial.finish().is_err());
}

#[test]
fn garbage_input_is_an_error_never_a_panic() {
    for plugin in [&IndexedBinary as &dyn FormatPlugin, &MmapIndexedBinary] {
        let session = session(plugin, Dtype::Uint8);
        let file = file(vec![8], 3);
        let garbage: Vec<u8> = (0..64u32).map(|i| (i * 97 % 251) as u8).collect();
        let cases: Vec<(Vec<u8>, Related)> = vec![
            // Random bytes as indexes: huge offsets and sizes.
            (
                garbage.clone(),
                vec![
                    (format!("{KEY}.off.idx"), garbage[..24].to_vec()),
                    (format!("{KEY}.sz.idx"), garbage[24..48].to_vec()),
                ],
            ),
            // Offsets near u64::MAX (offset + size overflows).
            (
                garbage.clone(),
                related(&[u64::MAX, u64::MAX - 1, 1], &[8, 8, u64::MAX]),
            ),
            // Short indexes and an empty data file.
            (Vec::new(), related(&[0], &[8])),
            (Vec::new(), vec![]),
            (Vec::new(), related(&[0, 8, 16], &[8, 8, 8])),
        ];
        for (data, related) in cases {
            let _ = session.check(
                &file,
                memory::source_with_related(data.clone(), related.clone()),
            );
            if let Ok(mut reader) = session.open(&file, memory::source_with_related(data, related))
            {
                for sample in [0, 1, 2, 3, u64::MAX] {
                    let _ = reader.read_sample(sample);
                }
            }
        }
        // Overflowing shapes are configuration errors.
        let huge = FileSpec::new(KEY, vec![u64::MAX, 2], 1);
        assert_eq!(
            session.file_size(&huge).unwrap_err().kind,
            ErrorKind::INVALID_CONFIG
        );
        let many = FileSpec::new(KEY, vec![8], u64::MAX / 4);
        assert!(session.file_size(&many).is_err());
        assert!(session.open(&many, memory::source(Vec::new())).is_err());
    }
    // Offsets past the end are errors when reading, too.
    let session = session(&IndexedBinary, Dtype::Uint8);
    let file = file(vec![8], 1);
    let mut reader = session
        .open(
            &file,
            memory::source_with_related(vec![0; 8], related(&[4], &[8])),
        )
        .unwrap();
    let err = reader.read_sample(0).unwrap_err();
    assert_eq!(err.kind, ErrorKind::CORRUPT);
}

#[test]
fn mmap_format_without_local_path_falls_back_to_ranged_reads() {
    let session = session(&MmapIndexedBinary, Dtype::Uint8);
    let file = file(vec![100], 3);
    let (data, sidecars) = generate(session.as_ref(), &file);
    let source = memory::source_with_related(data.clone(), sidecars);
    let layout = Layout::new(&file, Dtype::Uint8).unwrap();
    let (index, _) = read_index(&file, &layout, &source, Extent::Prefix).unwrap();
    let mut reader = MmapReader::new(KEY.into(), source, index).unwrap();
    assert!(!reader.is_mapped());
    let touch = reader.touch(1).unwrap();
    assert_eq!(touch.bytes, 100);
    assert_eq!(touch.sum, data[100] as u64);
}

fn mapped_reader(data: &[u8], index: Index) -> (tempfile::NamedTempFile, MmapReader) {
    let mut tmp = tempfile::NamedTempFile::new().unwrap();
    tmp.write_all(data).unwrap();
    tmp.flush().unwrap();
    let reader = MmapReader::from_path(KEY.into(), tmp.path(), index).unwrap();
    (tmp, reader)
}

#[test]
fn mmap_reader_touches_every_page_of_each_sample_in_a_real_file() {
    // Samples of 10 000 bytes: each spans 3 or 4 pages depending on where it starts.
    let session = session(&MmapIndexedBinary, Dtype::Uint8);
    let file = file(vec![100, 100], 5);
    let (data, sidecars) = generate(session.as_ref(), &file);
    let source = memory::source_with_related(data.clone(), sidecars);
    let layout = Layout::new(&file, Dtype::Uint8).unwrap();
    let (index, _) = read_index(&file, &layout, &source, Extent::Prefix).unwrap();
    let (_tmp, mut reader) = mapped_reader(&data, index);
    assert!(reader.is_mapped());
    for sample in 0..5usize {
        let touch = reader.touch(sample as u64).unwrap();
        let (start, end) = (sample * 10_000, (sample + 1) * 10_000);
        let pages = (end - 1) / PAGE - start / PAGE + 1;
        assert_eq!(touch.pages, pages as u64, "sample {sample}");
        assert_eq!(touch.bytes, 10_000);
        let mut want = data[start] as u64;
        let mut page = (start / PAGE + 1) * PAGE;
        while page < end {
            want += data[page] as u64;
            page += PAGE;
        }
        assert_eq!(touch.sum, want, "sample {sample}");
    }
    reader.read_sample(4).unwrap();
    assert!(reader.read_sample(5).is_err());
}

#[test]
fn mmap_reader_rejects_entries_past_the_end_of_the_map() {
    let data = vec![1u8; 100];
    let index = Index {
        offsets: Column::Table(vec![0, 90, u64::MAX]),
        sizes: Column::Table(vec![100, 20, 2]),
    };
    let (_tmp, mut reader) = mapped_reader(&data, index);
    assert_eq!(reader.touch(0).unwrap().sum, 1);
    assert_eq!(reader.touch(1).unwrap_err().kind, ErrorKind::CORRUPT);
    assert_eq!(reader.touch(2).unwrap_err().kind, ErrorKind::CORRUPT);
}

#[test]
fn touch_pages_visits_one_byte_per_page() {
    let map: Vec<u8> = (0..3 * PAGE).map(|i| (i / PAGE + 1) as u8).collect();
    let touch = touch_pages(&map, 10, 2 * PAGE + 1);
    assert_eq!((touch.pages, touch.sum), (3, 1 + 2 + 3));
    assert_eq!(touch_pages(&map, 5, 5).pages, 0);
    assert_eq!(touch_pages(&map, PAGE, 2 * PAGE).pages, 1);
}

#[test]
fn sessions_are_constructible_directly() {
    let session = IndexedSession::new(Dtype::Uint8, ReadMode::Mmap);
    let layout = session.layout(&file(vec![2, 3], 4)).unwrap();
    assert_eq!(
        (layout.sample_bytes, layout.data_bytes, layout.index_bytes),
        (6, 24, 32)
    );
}
