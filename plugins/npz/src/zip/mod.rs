//! The subset of the zip format that numpy.savez writes and np.load reads.

mod read;
mod write;

pub use read::{local_header, read_directory, Directory, Entry};
pub use write::{directory, local_header_bytes, local_header_len, Member};

use dl_plugin_api::sdk::{Error, Result};

/// Local file header signature (`PK\x03\x04`).
pub const LOCAL_SIG: u32 = 0x0403_4b50;
/// Central directory entry signature (`PK\x01\x02`).
pub const CENTRAL_SIG: u32 = 0x0201_4b50;
/// End-of-central-directory signature (`PK\x05\x06`).
pub const END_SIG: u32 = 0x0605_4b50;
/// Zip64 end-of-central-directory signature (`PK\x06\x06`).
pub const END64_SIG: u32 = 0x0606_4b50;
/// Zip64 end-of-central-directory locator signature (`PK\x06\x07`).
pub const LOCATOR_SIG: u32 = 0x0706_4b50;

/// Fixed part of a local file header.
pub const LOCAL_LEN: u64 = 30;
/// Fixed part of a central directory entry.
pub const CENTRAL_LEN: u64 = 46;
/// End-of-central-directory record without its comment.
pub const END_LEN: u64 = 22;
/// Zip64 end-of-central-directory record as zipfile writes it.
pub const END64_LEN: u64 = 56;
/// Zip64 end-of-central-directory locator.
pub const LOCATOR_LEN: u64 = 20;

/// CPython's `zipfile.ZIP64_LIMIT`: sizes and offsets above it move into zip64 fields.
pub const ZIP64_LIMIT: u64 = (1 << 31) - 1;
/// "Version needed" 4.5, which zipfile stamps on every zip64 member.
pub const ZIP64_VERSION: u16 = 45;
/// Header id of the zip64 extended-information extra field.
pub const ZIP64_EXTRA_ID: u16 = 0x0001;
/// 32-bit field value meaning "see the zip64 extra field".
pub const MASK32: u32 = 0xFFFF_FFFF;
/// DOS date of 1980-01-01: numpy.savez gives every member this timestamp.
pub const DOS_DATE: u16 = (1 << 5) | 1;

/// Reads little-endian fields from one record; running past its end is a corrupt-file error.
pub(crate) struct Fields<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'a str,
}

impl<'a> Fields<'a> {
    /// Fields of `bytes`, which hold the record named `what` (for messages).
    pub fn new(bytes: &'a [u8], what: &'a str) -> Self {
        Fields {
            bytes,
            pos: 0,
            what,
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(Error::corrupt(format!("{} is cut short", self.what)));
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next byte array of length `N`.
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// The next little-endian u16.
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// The next little-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// The next little-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

/// Appends little-endian fields to a record under construction.
pub(crate) trait Put {
    /// Appends a u16.
    fn put16(&mut self, value: u16);
    /// Appends a u32.
    fn put32(&mut self, value: u32);
    /// Appends a u64.
    fn put64(&mut self, value: u64);
}

impl Put for Vec<u8> {
    fn put16(&mut self, value: u16) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put32(&mut self, value: u32) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put64(&mut self, value: u64) {
        self.extend_from_slice(&value.to_le_bytes());
    }
}
