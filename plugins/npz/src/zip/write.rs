//! Zip records byte for byte as CPython's zipfile writes them for numpy.savez, which opens
//! each member with `zipf.open(name, 'w', force_zip64=True)` on a seekable file.

use super::{
    Put, CENTRAL_SIG, DOS_DATE, END64_SIG, END_SIG, LOCAL_LEN, LOCAL_SIG, LOCATOR_SIG, MASK32,
    ZIP64_EXTRA_ID, ZIP64_VERSION,
};

/// zipfile gives members opened for writing mode 0o600.
const EXTERNAL_ATTR: u32 = 0o600 << 16;
/// "Made by": create_system 3 (Unix) in the high byte, version 4.5 in the low byte.
const MADE_BY: u16 = (3 << 8) | ZIP64_VERSION;
/// Length of the zip64 extra field that `force_zip64` adds to every local header.
const LOCAL_EXTRA_LEN: u16 = 20;
/// More entries than this need zip64 end records (zipfile's `ZIP_FILECOUNT_LIMIT`).
const FILECOUNT_LIMIT: u64 = 0xFFFF;

/// One member as the central directory records it.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// Name in the archive (`x.npy`).
    pub name: &'a str,
    /// CRC32 of the member's bytes.
    pub crc: u32,
    /// Size of the member's bytes (stored, so compressed size too).
    pub size: u64,
    /// Offset of its local header.
    pub offset: u64,
}

/// Length of the local header written for `name`.
pub fn local_header_len(name: &str) -> u64 {
    LOCAL_LEN + name.len() as u64 + u64::from(LOCAL_EXTRA_LEN)
}

/// The local header as zipfile rewrites it when the member is closed: 32-bit sizes masked
/// and the real ones in a zip64 extra field, because `force_zip64` was given.
pub fn local_header_bytes(name: &str, crc: u32, size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(local_header_len(name) as usize);
    out.put32(LOCAL_SIG);
    out.put16(ZIP64_VERSION);
    out.put16(0); // flags: seekable output needs no data descriptor
    out.put16(0); // method: stored
    out.put16(0); // time 00:00:00
    out.put16(DOS_DATE);
    out.put32(crc);
    out.put32(MASK32);
    out.put32(MASK32);
    out.put16(name.len() as u16);
    out.put16(LOCAL_EXTRA_LEN);
    out.extend_from_slice(name.as_bytes());
    out.put16(ZIP64_EXTRA_ID);
    out.put16(16);
    out.put64(size);
    out.put64(size);
    out
}

/// The central directory at `cd_offset`, the zip64 end records when zipfile needs them, and
/// the end-of-central-directory record. `limit` is zipfile's `ZIP64_LIMIT` (a parameter so
/// tests can exercise the zip64 paths with small files).
pub fn directory(members: &[Member<'_>], cd_offset: u64, limit: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for member in members {
        central_entry(&mut out, member, limit);
    }
    let count = members.len() as u64;
    let cd_size = out.len() as u64;
    if count > FILECOUNT_LIMIT || cd_offset > limit || cd_size > limit {
        let end64_offset = cd_offset + cd_size;
        out.put32(END64_SIG);
        out.put64(44); // size of the rest of the record
        out.put16(ZIP64_VERSION);
        out.put16(ZIP64_VERSION);
        out.put32(0);
        out.put32(0);
        out.put64(count);
        out.put64(count);
        out.put64(cd_size);
        out.put64(cd_offset);
        out.put32(LOCATOR_SIG);
        out.put32(0);
        out.put64(end64_offset);
        out.put32(1);
    }
    let count16 = count.min(FILECOUNT_LIMIT) as u16;
    out.put32(END_SIG);
    out.put16(0);
    out.put16(0);
    out.put16(count16);
    out.put16(count16);
    out.put32(cd_size.min(u64::from(MASK32)) as u32);
    out.put32(cd_offset.min(u64::from(MASK32)) as u32);
    out.put16(0); // comment length
    out
}

fn central_entry(out: &mut Vec<u8>, member: &Member<'_>, limit: u64) {
    let mut extra = Vec::new();
    let size32 = if member.size > limit {
        extra.push(member.size);
        extra.push(member.size);
        MASK32
    } else {
        member.size as u32
    };
    let offset32 = if member.offset > limit {
        extra.push(member.offset);
        MASK32
    } else {
        member.offset as u32
    };
    let extra_len = if extra.is_empty() {
        0
    } else {
        4 + 8 * extra.len() as u16
    };
    out.put32(CENTRAL_SIG);
    out.put16(MADE_BY);
    out.put16(ZIP64_VERSION);
    out.put16(0); // flags
    out.put16(0); // method: stored
    out.put16(0); // time
    out.put16(DOS_DATE);
    out.put32(member.crc);
    out.put32(size32);
    out.put32(size32);
    out.put16(member.name.len() as u16);
    out.put16(extra_len);
    out.put16(0); // comment length
    out.put16(0); // disk number
    out.put16(0); // internal attributes
    out.put32(EXTERNAL_ATTR);
    out.put32(offset32);
    out.extend_from_slice(member.name.as_bytes());
    if !extra.is_empty() {
        out.put16(ZIP64_EXTRA_ID);
        out.put16(8 * extra.len() as u16);
        for value in extra {
            out.put64(value);
        }
    }
}
