//! The NPY array header: built exactly as numpy writes it, and parsed as numpy reads it.

use dl_plugin_api::sdk::{Error, Result};

use crate::literal::{parse_dict, Value};

/// The magic string that starts every NPY file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Enough leading bytes to know the header length of any NPY version.
pub const PREFIX_LEN: u64 = 12;
/// numpy pads headers so the array data starts on a multiple of this.
const ARRAY_ALIGN: usize = 64;
/// numpy leaves room for the first axis to grow to this many digits in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Python's `repr` of a shape tuple: `(8,)`, `(64, 64, 1)`, `()`.
pub fn shape_repr(shape: &[u64]) -> String {
    match shape {
        [] => "()".into(),
        [one] => format!("({one},)"),
        _ => {
            let items: Vec<String> = shape.iter().map(u64::to_string).collect();
            format!("({})", items.join(", "))
        }
    }
}

/// The header numpy writes for a C-order array of `descr` and `shape`: magic, version,
/// length, the dict, growth padding, alignment padding and a newline.
pub fn header(descr: &str, shape: &[u64]) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        shape_repr(shape)
    );
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    let text_len = dict.len() + 1; // numpy counts the final newline here
                                   // Version 1.0 has a u16 length; numpy moves to 2.0 (u32) only when that overflows.
    let (version, len_bytes) = if padded_len(text_len, 2) <= usize::from(u16::MAX) {
        (1u8, 2)
    } else {
        (2u8, 4)
    };
    let field = padded_len(text_len, len_bytes);
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_bytes + field);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if len_bytes == 2 {
        out.extend_from_slice(&(field as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(field as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + field - text_len, b' ');
    out.push(b'\n');
    out
}

/// The header length field numpy writes: text plus padding (always at least one space).
fn padded_len(text_len: usize, len_bytes: usize) -> usize {
    let pad = ARRAY_ALIGN - (MAGIC.len() + 2 + len_bytes + text_len) % ARRAY_ALIGN;
    text_len + pad
}

/// Bytes per element of a simple numeric array-protocol type string (`<f4` → 4, `|b1` → 1):
/// a byte order, a kind among `b i u f c`, and a size; `None` for anything else.
pub fn item_size(descr: &str) -> Option<u64> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    let kind = chars.next()?;
    let size = chars.as_str();
    if !matches!(order, '<' | '>' | '|' | '=')
        || !matches!(kind, 'b' | 'i' | 'u' | 'f' | 'c')
        || size.is_empty()
        || size.len() > 2
        || !size.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    size.parse().ok().filter(|&n| n > 0)
}

/// What an NPY header says about its array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Array-protocol type string (`<f4`).
    pub descr: String,
    /// Whether the data is in Fortran order.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<u64>,
}

/// Total header length (up to the array data) from the first bytes of an NPY file.
pub fn header_len(prefix: &[u8]) -> Result<u64> {
    if prefix.len() < 10 || &prefix[..6] != MAGIC {
        return Err(Error::corrupt("not an NPY array (no \\x93NUMPY magic)"));
    }
    match (prefix[6], prefix[7]) {
        (1, 0) => Ok(10 + u64::from(u16::from_le_bytes([prefix[8], prefix[9]]))),
        (2 | 3, 0) if prefix.len() >= 12 => {
            let len = u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]);
            Ok(12 + u64::from(len))
        }
        (2 | 3, 0) => Err(Error::corrupt("NPY header is cut short")),
        (major, minor) => Err(Error::corrupt(format!(
            "unsupported NPY format version {major}.{minor}"
        ))),
    }
}

/// Parses a whole header (`header_len` bytes from the start of the NPY data).
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader> {
    let start = if bytes.get(6) == Some(&1) { 10 } else { 12 };
    let text_bytes = bytes
        .get(start..)
        .ok_or_else(|| Error::corrupt("NPY header is cut short"))?;
    let text: String = if bytes.get(6) == Some(&3) {
        String::from_utf8(text_bytes.to_vec())
            .map_err(|_| Error::corrupt("NPY 3.0 header is not UTF-8"))?
    } else {
        text_bytes.iter().map(|&b| char::from(b)).collect() // latin-1
    };
    let dict =
        parse_dict(&text).map_err(|msg| Error::corrupt(format!("NPY header dict: {msg}")))?;
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    for (key, value) in dict {
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("fortran_order", Value::Bool(b)) => fortran_order = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            (key, value) => {
                return Err(Error::corrupt(format!(
                    "NPY header has unexpected '{key}': {value:?}"
                )))
            }
        }
    }
    match (descr, fortran_order, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => Ok(NpyHeader {
            descr,
            fortran_order,
            shape,
        }),
        _ => Err(Error::corrupt(
            "NPY header lacks one of the keys 'descr', 'fortran_order' and 'shape'",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers numpy 2.4 writes (`numpy.lib._format_impl._write_array_header`), verified
    /// byte for byte; each is padded with spaces to its length and ends in a newline.
    const NUMPY_HEADERS: &[(&str, &[u64], usize, &str)] = &[
        ("|u1", &[64, 64, 1], 128, "{'descr': '|u1', 'fortran_order': False, 'shape': (64, 64, 1), }"),
        ("<i8", &[8], 128, "{'descr': '<i8', 'fortran_order': False, 'shape': (8,), }"),
        ("<f4", &[3, 224, 224, 16], 128, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 224, 224, 16), }"),
        ("<f2", &[], 128, "{'descr': '<f2', 'fortran_order': False, 'shape': (), }"),
        ("|b1", &[1, 2], 128, "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 2), }"),
        ("<f8", &[1_000_000_000_000, 1], 128, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 1), }"),
        ("<u2", &[7; 30], 192, "{'descr': '<u2', 'fortran_order': False, 'shape': (7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7), }"),
    ];

    #[test]
    fn headers_match_numpy() {
        for &(descr, shape, total, dict) in NUMPY_HEADERS {
            let got = header(descr, shape);
            assert_eq!(got.len(), total, "{dict}");
            assert_eq!(&got[..8], b"\x93NUMPY\x01\x00");
            assert_eq!(
                usize::from(u16::from_le_bytes([got[8], got[9]])),
                total - 10
            );
            assert_eq!(&got[10..10 + dict.len()], dict.as_bytes());
            assert!(got[10 + dict.len()..total - 1].iter().all(|&b| b == b' '));
            assert_eq!(got[total - 1], b'\n');
        }
    }

    #[test]
    fn version_two_only_when_the_length_overflows_u16() {
        // numpy: (1,)*21817 still fits version 1.0 (65536 bytes); (1,)*21818 needs 2.0.
        let fits = header("|u1", &[1; 21817]);
        assert_eq!(fits.len(), 65536);
        assert_eq!(&fits[6..10], &[1, 0, 0xf6, 0xff]);
        let big = header("|u1", &[1; 21818]);
        assert_eq!(big.len(), 65600);
        assert_eq!(&big[6..12], &[2, 0, 0x34, 0, 1, 0]);
        // numpy: (10000,)*10000 gives a 70144-byte 2.0 header.
        let wide = header("|u1", &[10_000; 10_000]);
        assert_eq!(wide.len(), 70144);
        assert_eq!(&wide[6..12], &[2, 0, 0xf4, 0x11, 1, 0]);
        assert_eq!(header_len(&big).unwrap(), 65600);
        assert_eq!(parse_header(&big).unwrap().shape.len(), 21818);
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        for &(descr, shape, _, _) in NUMPY_HEADERS {
            let bytes = header(descr, shape);
            assert_eq!(header_len(&bytes).unwrap(), bytes.len() as u64);
            let parsed = parse_header(&bytes).unwrap();
            assert_eq!(
                parsed,
                NpyHeader {
                    descr: descr.into(),
                    fortran_order: false,
                    shape: shape.to_vec()
                }
            );
        }
        assert!(header_len(b"PK\x03\x04").is_err());
        assert!(header_len(b"\x93NUMPY\x04\x00\x10\x00").is_err());
        assert!(parse_header(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}").is_err());
        assert!(parse_header(b"\x93NUMPY\x01\x00").is_err());
    }

    #[test]
    fn item_sizes_of_simple_descrs() {
        for (descr, size) in [("|u1", 1), ("<f4", 4), (">i8", 8), ("|b1", 1), ("<c16", 16)] {
            assert_eq!(item_size(descr), Some(size), "{descr}");
        }
        for descr in ["", "<", "<f", "|O", "<U10", "<f0", "<f999", "f4", "<f4x"] {
            assert_eq!(item_size(descr), None, "{descr}");
        }
    }
}
