//! Plain descriptions of a dataset and of its files, converted from the ABI's JSON and structs.

use serde::Deserialize;

use super::{Error, Result};
use crate::abi;

/// Element type of generated samples (`dataset.record_element_type`), by numpy name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// `bool`, one byte.
    Bool,
    /// `uint8`.
    Uint8,
    /// `uint16`.
    Uint16,
    /// `uint32`.
    Uint32,
    /// `uint64`.
    Uint64,
    /// `int8`.
    Int8,
    /// `int16`.
    Int16,
    /// `int32`.
    Int32,
    /// `int64`.
    Int64,
    /// `float16` (IEEE half).
    Float16,
    /// `float32`.
    Float32,
    /// `float64`.
    Float64,
}

impl Dtype {
    /// Every supported type, for messages.
    pub const ALL: [Dtype; 12] = [
        Dtype::Bool,
        Dtype::Uint8,
        Dtype::Uint16,
        Dtype::Uint32,
        Dtype::Uint64,
        Dtype::Int8,
        Dtype::Int16,
        Dtype::Int32,
        Dtype::Int64,
        Dtype::Float16,
        Dtype::Float32,
        Dtype::Float64,
    ];

    /// Parses a numpy dtype name (`uint8`, `float32`, and numpy's aliases `float`, `int`,
    /// `double`, `half`, `u1`, `f4`, …).
    pub fn parse(name: &str) -> Option<Dtype> {
        let name = name
            .trim()
            .trim_start_matches("np.")
            .trim_start_matches("numpy.");
        Some(match name {
            "bool" | "bool_" | "b1" => Dtype::Bool,
            "uint8" | "u1" | "ubyte" => Dtype::Uint8,
            "uint16" | "u2" | "ushort" => Dtype::Uint16,
            "uint32" | "u4" | "uintc" => Dtype::Uint32,
            "uint64" | "u8" | "uint" => Dtype::Uint64,
            "int8" | "i1" | "byte" => Dtype::Int8,
            "int16" | "i2" | "short" => Dtype::Int16,
            "int32" | "i4" | "intc" => Dtype::Int32,
            "int64" | "i8" | "int" | "long" => Dtype::Int64,
            "float16" | "f2" | "half" => Dtype::Float16,
            "float32" | "f4" | "single" => Dtype::Float32,
            "float64" | "f8" | "float" | "double" => Dtype::Float64,
            _ => return None,
        })
    }

    /// The canonical numpy name (`uint8`).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::Uint8 => "uint8",
            Dtype::Uint16 => "uint16",
            Dtype::Uint32 => "uint32",
            Dtype::Uint64 => "uint64",
            Dtype::Int8 => "int8",
            Dtype::Int16 => "int16",
            Dtype::Int32 => "int32",
            Dtype::Int64 => "int64",
            Dtype::Float16 => "float16",
            Dtype::Float32 => "float32",
            Dtype::Float64 => "float64",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::Bool | Dtype::Uint8 | Dtype::Int8 => 1,
            Dtype::Uint16 | Dtype::Int16 | Dtype::Float16 => 2,
            Dtype::Uint32 | Dtype::Int32 | Dtype::Float32 => 4,
            Dtype::Uint64 | Dtype::Int64 | Dtype::Float64 => 8,
        }
    }

    /// numpy's array-protocol type string, little-endian (`|u1`, `<f4`).
    pub fn numpy_descr(self) -> &'static str {
        match self {
            Dtype::Bool => "|b1",
            Dtype::Uint8 => "|u1",
            Dtype::Uint16 => "<u2",
            Dtype::Uint32 => "<u4",
            Dtype::Uint64 => "<u8",
            Dtype::Int8 => "|i1",
            Dtype::Int16 => "<i2",
            Dtype::Int32 => "<i4",
            Dtype::Int64 => "<i8",
            Dtype::Float16 => "<f2",
            Dtype::Float32 => "<f4",
            Dtype::Float64 => "<f8",
        }
    }
}

/// The dataset a format is configured for: the host's resolved `dataset` section.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    /// `record_element_type`.
    pub element_type: Dtype,
    /// `compression` (`none` when absent).
    pub compression: String,
    /// `compression_level`.
    pub compression_level: i64,
    /// The whole section as JSON, for format-specific keys (`hdf5.chunk_dims`, say).
    pub raw: serde_json::Value,
}

impl DatasetSpec {
    /// Parses the JSON text the host passes to `configure`.
    pub fn from_json(text: &str) -> Result<DatasetSpec> {
        let raw: serde_json::Value = serde_json::from_str(text).map_err(|err| {
            Error::invalid_config(format!("dataset description is not JSON: {err}"))
        })?;
        let element_type = match raw.get("record_element_type") {
            None | Some(serde_json::Value::Null) => Dtype::Uint8,
            Some(serde_json::Value::String(name)) => Dtype::parse(name).ok_or_else(|| {
                let known: Vec<_> = Dtype::ALL.iter().map(|d| d.name()).collect();
                Error::invalid_config(format!(
                    "dataset.record_element_type: unknown type '{name}'; use one of {}",
                    known.join(", ")
                ))
            })?,
            Some(other) => {
                return Err(Error::invalid_config(format!(
                    "dataset.record_element_type must be a type name, not {other}"
                )))
            }
        };
        let compression = raw
            .get("compression")
            .and_then(|v| v.as_str())
            .unwrap_or("none")
            .to_string();
        let compression_level = raw
            .get("compression_level")
            .and_then(|v| v.as_i64())
            .unwrap_or(4);
        Ok(DatasetSpec {
            element_type,
            compression,
            compression_level,
            raw,
        })
    }

    /// A plain spec with the given element type (for tests and tools).
    pub fn with_element_type(element_type: Dtype) -> DatasetSpec {
        DatasetSpec {
            element_type,
            compression: "none".into(),
            compression_level: 4,
            raw: serde_json::json!({ "record_element_type": element_type.name() }),
        }
    }

    /// Looks up a dotted key in the section (`hdf5.chunk_dims`).
    pub fn get(&self, dotted: &str) -> Option<&serde_json::Value> {
        dotted
            .split('.')
            .try_fold(&self.raw, |node, part| node.get(part))
    }
}

/// One file of the dataset (see [`abi::FileSpec`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FileSpec {
    /// Position in the combined file list (train first, then valid).
    pub index: u64,
    /// `train` or `valid`.
    pub split: String,
    /// Key relative to the dataset root.
    pub key: String,
    /// Shape of one sample.
    pub sample_shape: Vec<u64>,
    /// Samples in the file.
    pub samples: u64,
    /// Content seed.
    pub seed: u64,
    /// Per-file parameters added after ABI 1.0 (`null` when none).
    pub extra: serde_json::Value,
}

impl FileSpec {
    /// File `key` of the training split with `samples` samples of `sample_shape`, index 0 and
    /// seed 0 (for tests and tools; the host fills every field).
    pub fn new(key: impl Into<String>, sample_shape: Vec<u64>, samples: u64) -> Self {
        let key = key.into();
        let split = key.split('/').next().unwrap_or("train").to_string();
        FileSpec {
            index: 0,
            split,
            key,
            sample_shape,
            samples,
            seed: 0,
            extra: serde_json::Value::Null,
        }
    }

    /// Number of elements in one sample.
    pub fn sample_elements(&self) -> u64 {
        self.sample_shape.iter().product()
    }
}

impl From<&abi::FileSpec> for FileSpec {
    fn from(file: &abi::FileSpec) -> Self {
        FileSpec {
            index: file.index,
            split: file.split.to_string(),
            key: file.key.to_string(),
            sample_shape: file.sample_shape.to_vec(),
            samples: file.samples,
            seed: file.seed,
            extra: serde_json::from_str(file.extra.as_str()).unwrap_or(serde_json::Value::Null),
        }
    }
}

impl From<&FileSpec> for abi::FileSpec {
    fn from(file: &FileSpec) -> Self {
        abi::FileSpec {
            index: file.index,
            split: file.split.as_str().into(),
            key: file.key.as_str().into(),
            sample_shape: file.sample_shape.clone().into(),
            samples: file.samples,
            seed: file.seed,
            extra: if file.extra.is_null() {
                "".into()
            } else {
                file.extra.to_string().into()
            },
        }
    }
}

/// One option a component accepts, for `dl-driver plugins info`.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct OptionSpec {
    /// Key as users write it.
    pub name: &'static str,
    /// Value type (`bool`, `int`, `string`, …).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Default, as users would write it; `None` when required or computed.
    pub default: Option<&'static str>,
    /// What it does.
    pub description: &'static str,
}

impl OptionSpec {
    /// Option `name` of type `kind` with an optional `default`.
    pub const fn new(
        name: &'static str,
        kind: &'static str,
        default: Option<&'static str>,
        description: &'static str,
    ) -> Self {
        OptionSpec {
            name,
            kind,
            default,
            description,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_names_round_trip() {
        for dtype in Dtype::ALL {
            assert_eq!(Dtype::parse(dtype.name()), Some(dtype));
        }
        assert_eq!(Dtype::parse("float"), Some(Dtype::Float64));
        assert_eq!(Dtype::parse("complex64"), None);
    }

    #[test]
    fn dataset_spec_rejects_unknown_dtype_by_name() {
        let err = DatasetSpec::from_json(r#"{"record_element_type": "uint7"}"#).unwrap_err();
        assert!(err.message.contains("uint7"), "{}", err.message);
        assert!(err.message.contains("record_element_type"));
    }

    #[test]
    fn dotted_lookup() {
        let spec = DatasetSpec::from_json(r#"{"hdf5": {"chunk_dims": [1, 2]}}"#).unwrap();
        assert_eq!(
            spec.get("hdf5.chunk_dims").unwrap(),
            &serde_json::json!([1, 2])
        );
        assert!(spec.get("hdf5.missing").is_none());
        assert_eq!(spec.element_type, Dtype::Uint8);
    }
}
