//! The `jpeg` and `png` formats, as DLIO writes them with Pillow: each file holds ONE 8-bit
//! greyscale image (Pillow mode `L`), whatever the number of samples per file (DLIO ignores it
//! for content too). Reading a sample reads the whole file and decodes it in full, the cost
//! DLIO pays with Pillow; the pixels are discarded.
//!
//! Image size comes from the sample shape: a 2-D shape `[d0, d1]` gives height `d0` and width
//! `d1` (DLIO's rule). A 1-D shape `[d0]` gives a single row: width `d0`, height 1. More than
//! two dimensions is refused with DLIO's error text.
//!
//! Pixels are uint8 whatever `record_element_type` says (DLIO forces images to uint8); another
//! element type is accepted with a warning. PNG uses the default compression, JPEG quality 75
//! (Pillow's default). Encoded sizes are not known in advance.

use std::io::Cursor;

use dl_plugin_api::sdk::{
    content::ContentStream, format_caps, log, CheckReport, DatasetSpec, Dtype, Error, FileSpec,
    FormatDescription, FormatPlugin, FormatSession, Output, Result, SampleReader, Source,
};
use image::{
    codecs::{jpeg::JpegEncoder, png::PngEncoder},
    ColorType, DynamicImage, ExtendedColorType, ImageEncoder, ImageFormat, ImageReader,
};

/// JPEG quality: Pillow's default.
const JPEG_QUALITY: u8 = 75;

/// Which of the two image formats a component or session stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jpeg,
    Png,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
        }
    }

    fn describe(self) -> FormatDescription {
        let description = match self {
            Kind::Jpeg => {
                "one 8-bit greyscale JPEG image per file (quality 75), fully decoded on read"
            }
            Kind::Png => "one 8-bit greyscale PNG image per file, fully decoded on read",
        };
        FormatDescription::new(
            self.name(),
            self.name(),
            description,
            format_caps::GENERATE | format_caps::READ | format_caps::CHECK,
        )
    }

    fn configure(self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        let compression = dataset.compression.trim();
        if !(compression.is_empty() || compression.eq_ignore_ascii_case("none")) {
            return Err(Error::invalid_config(format!(
                "dataset.compression: the {} format does not support compression '{compression}'; \
                 use none",
                self.name()
            )));
        }
        if dataset.element_type != Dtype::Uint8 {
            log::warn(
                self.name(),
                &format!(
                    "dataset.record_element_type is {}, but {} images are always 8-bit \
                     greyscale (uint8), as in DLIO",
                    dataset.element_type.name(),
                    self.name()
                ),
            );
        }
        Ok(Box::new(ImageSession { kind: self }))
    }
}

/// The `jpeg` format.
pub struct Jpeg;

impl FormatPlugin for Jpeg {
    fn describe(&self) -> FormatDescription {
        Kind::Jpeg.describe()
    }

    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        Kind::Jpeg.configure(dataset)
    }
}

/// The `png` format.
pub struct Png;

impl FormatPlugin for Png {
    fn describe(&self) -> FormatDescription {
        Kind::Png.describe()
    }

    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        Kind::Png.configure(dataset)
    }
}

struct ImageSession {
    kind: Kind,
}

impl ImageSession {
    /// `(width, height)` of the image for `file`'s sample shape.
    fn dimensions(&self, file: &FileSpec) -> Result<(u32, u32)> {
        let name = self.kind.name();
        let shape = &file.sample_shape;
        let (height, width) = match shape.as_slice() {
            [] => {
                return Err(Error::invalid_config(format!(
                    "{}: {name} needs a 1-D or 2-D sample shape, got none",
                    file.key
                )))
            }
            [width] => (1, *width),
            [height, width] => (*height, *width),
            _ => {
                return Err(Error::invalid_config(format!(
                    "{name} format does not support more than 2 dimensions, but got {} dimensions.",
                    shape.len()
                )))
            }
        };
        let fits = |d: u64| u32::try_from(d).ok().filter(|&d| d > 0);
        match (fits(width), fits(height)) {
            (Some(w), Some(h)) => Ok((w, h)),
            _ => Err(Error::invalid_config(format!(
                "{}: {name} image of {height}x{width} pixels is not possible \
                 (each side must be 1 to {} pixels)",
                file.key,
                u32::MAX
            ))),
        }
    }

    /// Encodes the image of `file` into memory.
    fn encode(&self, file: &FileSpec) -> Result<Vec<u8>> {
        let (width, height) = self.dimensions(file)?;
        let pixels_len = usize::try_from(u64::from(width) * u64::from(height))
            .map_err(|_| Error::invalid_config(format!("{}: image too large", file.key)))?;
        let mut pixels = vec![0u8; pixels_len];
        ContentStream::for_file(file, Dtype::Uint8).fill(&mut pixels);
        let mut encoded = Vec::new();
        let result =
            match self.kind {
                Kind::Jpeg => JpegEncoder::new_with_quality(&mut encoded, JPEG_QUALITY)
                    .write_image(&pixels, width, height, ExtendedColorType::L8),
                Kind::Png => PngEncoder::new(&mut encoded).write_image(
                    &pixels,
                    width,
                    height,
                    ExtendedColorType::L8,
                ),
            };
        result.map_err(|err| {
            Error::invalid_config(format!(
                "{}: cannot encode a {height}x{width} {} image: {err}",
                file.key,
                self.kind.name()
            ))
        })?;
        Ok(encoded)
    }

    /// Decodes the whole of `bytes`; errors name `key`.
    /// A JPEG without its end-of-image marker is refused, as Pillow refuses truncated images
    /// (the decoder itself would fill the missing part in). `FF D9` cannot occur inside
    /// entropy-coded data (an `FF` there is always followed by `00` or a restart marker).
    fn decode(&self, key: &str, bytes: &[u8]) -> Result<DynamicImage> {
        if self.kind == Kind::Jpeg && !has_end_of_image(bytes) {
            return Err(Error::corrupt(format!(
                "{key}: truncated jpeg image: no end-of-image marker"
            )));
        }
        let reader = ImageReader::with_format(Cursor::new(bytes), self.kind.image_format());
        reader.decode().map_err(|err| {
            Error::corrupt(format!(
                "{key}: not a valid {} image: {err}",
                self.kind.name()
            ))
        })
    }
}

/// Whether a JPEG has an end-of-image marker (`FF D9`) after its first start-of-scan (`FF DA`).
fn has_end_of_image(bytes: &[u8]) -> bool {
    let Some(scan) = bytes.windows(2).position(|w| w == [0xFF, 0xDA]) else {
        return false;
    };
    bytes[scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Reads the whole of `source` into memory.
fn read_all(source: &mut Source) -> Result<Vec<u8>> {
    let len = source.len();
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    source.read_range(0, len, |piece| {
        bytes.extend_from_slice(piece);
        Ok(())
    })?;
    Ok(bytes)
}

impl FormatSession for ImageSession {
    fn file_size(&self, _file: &FileSpec) -> Result<Option<u64>> {
        Ok(None)
    }

    fn generate(&self, file: &FileSpec, out: &mut Output<'_>) -> Result<()> {
        let encoded = self.encode(file)?;
        out.write_bytes(&encoded)
    }

    fn open(&self, file: &FileSpec, source: Source) -> Result<Box<dyn SampleReader>> {
        Ok(Box::new(ImageReaderSession {
            session: ImageSession { kind: self.kind },
            key: file.key.clone(),
            samples: file.samples,
            source,
        }))
    }

    fn check(&self, file: &FileSpec, mut source: Source) -> Result<CheckReport> {
        let (width, height) = self.dimensions(file)?;
        let bytes = read_all(&mut source)?;
        let image = self.decode(&file.key, &bytes)?;
        let key = &file.key;
        if image.color() != ColorType::L8 {
            return Err(Error::corrupt(format!(
                "{key}: expected an 8-bit greyscale image, found {:?}",
                image.color()
            )));
        }
        if (image.width(), image.height()) != (width, height) {
            return Err(Error::corrupt(format!(
                "{key}: expected {width}x{height} pixels (width x height), found {}x{}",
                image.width(),
                image.height()
            )));
        }
        Ok(CheckReport {
            samples: 1,
            bytes: bytes.len() as u64,
        })
    }
}

/// Reads of one open image file: every sample reads and decodes the whole file.
struct ImageReaderSession {
    session: ImageSession,
    key: String,
    samples: u64,
    source: Source,
}

impl SampleReader for ImageReaderSession {
    fn read_sample(&mut self, sample: u64) -> Result<()> {
        if sample >= self.samples.max(1) {
            return Err(Error::invalid_config(format!(
                "{}: sample {sample} of a file with {} samples",
                self.key, self.samples
            )));
        }
        let bytes = read_all(&mut self.source)?;
        let image = self.session.decode(&self.key, &bytes)?;
        drop(std::hint::black_box(image));
        Ok(())
    }
}

dl_plugin_api::export_plugin! {
    description: "jpeg and png formats: one 8-bit greyscale image per file, decoded in full on read",
    formats: [Jpeg, Png],
    backends: [],
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_plugin_api::sdk::{memory, memory::MemoryOutput, ErrorKind};

    fn file(key: &str, shape: Vec<u64>, seed: u64) -> FileSpec {
        let mut file = FileSpec::new(key, shape, 3);
        file.seed = seed;
        file
    }

    fn session(kind: Kind) -> Box<dyn FormatSession> {
        kind.configure(&DatasetSpec::with_element_type(Dtype::Uint8))
            .unwrap()
    }

    fn generate(session: &dyn FormatSession, file: &FileSpec) -> Vec<u8> {
        let mut out = MemoryOutput::default();
        out.capture(|o| session.generate(file, o)).unwrap();
        assert!(out.sidecars().is_empty());
        out.data
    }

    #[test]
    fn descriptions() {
        let jpeg = Jpeg.describe();
        assert_eq!((jpeg.name, jpeg.extension), ("jpeg", "jpeg"));
        let png = Png.describe();
        assert_eq!((png.name, png.extension), ("png", "png"));
        for d in [jpeg, png] {
            assert_eq!(
                d.capabilities,
                format_caps::GENERATE | format_caps::READ | format_caps::CHECK
            );
        }
    }

    #[test]
    fn generated_images_decode_to_greyscale_of_the_right_size() {
        for (kind, format) in [
            (Kind::Png, ImageFormat::Png),
            (Kind::Jpeg, ImageFormat::Jpeg),
        ] {
            let session = session(kind);
            // Height 24, width 40.
            let f = file("train/a", vec![24, 40], 5);
            assert_eq!(session.file_size(&f).unwrap(), None);
            let bytes = generate(&*session, &f);
            let image = image::load_from_memory_with_format(&bytes, format).unwrap();
            assert_eq!((image.width(), image.height()), (40, 24), "{kind:?}");
            assert_eq!(image.color(), ColorType::L8, "{kind:?}");
            // 1-D shape: one row.
            let row = generate(&*session, &file("train/b", vec![17], 5));
            let image = image::load_from_memory_with_format(&row, format).unwrap();
            assert_eq!((image.width(), image.height()), (17, 1), "{kind:?}");
        }
    }

    #[test]
    fn png_pixels_are_the_content_stream() {
        let session = session(Kind::Png);
        let f = file("train/a.png", vec![8, 16], 11);
        let image = image::load_from_memory(&generate(&*session, &f)).unwrap();
        let mut expected = vec![0u8; 8 * 16];
        ContentStream::new(11, Dtype::Uint8).fill(&mut expected);
        assert_eq!(image.into_luma8().into_raw(), expected);
    }

    #[test]
    fn generation_is_deterministic() {
        for kind in [Kind::Png, Kind::Jpeg] {
            let session = session(kind);
            let a = generate(&*session, &file("train/a", vec![32, 32], 1));
            let b = generate(&*session, &file("train/a", vec![32, 32], 1));
            let c = generate(&*session, &file("train/a", vec![32, 32], 2));
            assert_eq!(a, b, "{kind:?}");
            assert_ne!(a, c, "{kind:?}");
        }
    }

    #[test]
    fn check_accepts_good_and_rejects_damaged_files() {
        for kind in [Kind::Png, Kind::Jpeg] {
            let session = session(kind);
            let f = file("train/img_1.x", vec![32, 48], 3);
            let bytes = generate(&*session, &f);
            let report = session.check(&f, memory::source(bytes.clone())).unwrap();
            assert_eq!(report.samples, 1);
            assert_eq!(report.bytes, bytes.len() as u64);

            // Wrong expected size.
            let other = file("train/img_1.x", vec![48, 32], 3);
            let err = session
                .check(&other, memory::source(bytes.clone()))
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::CORRUPT, "{kind:?}");
            assert!(
                err.message.starts_with("train/img_1.x: "),
                "{}",
                err.message
            );

            let damaged: Vec<Vec<u8>> = vec![
                bytes[..bytes.len() / 2].to_vec(),
                bytes[..10].to_vec(),
                Vec::new(),
                b"this is not an image at all".to_vec(),
                (0..=255u8).cycle().take(4096).collect(),
            ];
            // Every truncation is an error, never a panic.
            for cut in (0..bytes.len()).step_by(7) {
                let err = session
                    .check(&f, memory::source(bytes[..cut].to_vec()))
                    .unwrap_err();
                assert_eq!(err.kind, ErrorKind::CORRUPT, "{kind:?} cut at {cut}");
            }
            for bad in damaged {
                let len = bad.len();
                let err = session.check(&f, memory::source(bad)).unwrap_err();
                assert_eq!(
                    err.kind,
                    ErrorKind::CORRUPT,
                    "{kind:?} {len}: {}",
                    err.message
                );
                assert!(
                    err.message.starts_with("train/img_1.x: "),
                    "{}",
                    err.message
                );
            }
        }
    }

    #[test]
    fn check_rejects_colour_images() {
        let f = file("train/c.png", vec![4, 4], 0);
        let mut bytes = Vec::new();
        PngEncoder::new(&mut bytes)
            .write_image(&[0u8; 4 * 4 * 3], 4, 4, ExtendedColorType::Rgb8)
            .unwrap();
        let err = session(Kind::Png)
            .check(&f, memory::source(bytes))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::CORRUPT);
        assert!(err.message.contains("greyscale"), "{}", err.message);
    }

    #[test]
    fn read_sample_decodes_the_file() {
        for kind in [Kind::Png, Kind::Jpeg] {
            let session = session(kind);
            let f = file("train/r", vec![20, 30], 4);
            let bytes = generate(&*session, &f);
            let mut reader = session.open(&f, memory::source(bytes)).unwrap();
            for sample in 0..3 {
                reader.read_sample(sample).unwrap();
            }
            assert!(reader.read_sample(3).is_err());

            let mut garbage = session
                .open(&f, memory::source(b"\x89PNG\r\n\x1a\ngarbage".to_vec()))
                .unwrap();
            let err = garbage.read_sample(0).unwrap_err();
            assert_eq!(err.kind, ErrorKind::CORRUPT);
            assert!(err.message.starts_with("train/r: "), "{}", err.message);
        }
    }

    #[test]
    fn shapes_and_options_are_validated() {
        let session = session(Kind::Png);
        let mut out = MemoryOutput::default();
        let err = out
            .capture(|o| session.generate(&file("train/a", vec![2, 2, 2], 0), o))
            .unwrap_err();
        assert_eq!(
            err.message,
            "png format does not support more than 2 dimensions, but got 3 dimensions."
        );
        for shape in [vec![], vec![0, 4], vec![1 << 33, 1]] {
            let err = out
                .capture(|o| session.generate(&file("train/a", shape.clone(), 0), o))
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{shape:?}");
        }
        // JPEG's own limit (65535 per side) is an error, not a panic.
        let jpeg = self::session(Kind::Jpeg);
        let err = out
            .capture(|o| jpeg.generate(&file("train/a", vec![1, 70000], 0), o))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{}", err.message);

        let mut spec = DatasetSpec::with_element_type(Dtype::Uint8);
        spec.compression = "gzip".into();
        assert_eq!(
            Jpeg.configure(&spec).err().unwrap().kind,
            ErrorKind::INVALID_CONFIG
        );
        // Other element types are accepted (with a warning).
        assert!(Png
            .configure(&DatasetSpec::with_element_type(Dtype::Float32))
            .is_ok());
    }
}
