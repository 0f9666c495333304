//! Finds members the way zipfile does: the end record at the tail of the file, then the
//! central directory it points to, then each member's local header.

use dl_plugin_api::sdk::{Error, Result, Source};

use super::{
    Fields, CENTRAL_LEN, CENTRAL_SIG, END64_LEN, END64_SIG, END_LEN, END_SIG, LOCAL_LEN, LOCAL_SIG,
    LOCATOR_LEN, LOCATOR_SIG, MASK32, ZIP64_EXTRA_ID,
};

/// The first tail read: it holds the end records and central directory of any two-member npz
/// (a few hundred bytes), so finding `x.npy` costs one small request, like zipfile's
/// buffered reads of the same region.
const TAIL_BYTES: u64 = 4096;
/// An end record followed by the longest possible comment; zipfile searches this far back.
const SEARCH_BYTES: u64 = END_LEN + 0xFFFF;

/// One member as the central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name in the archive.
    pub name: String,
    /// General-purpose flags.
    pub flags: u16,
    /// Compression method (0 = stored).
    pub method: u16,
    /// CRC32 of the uncompressed bytes.
    pub crc: u32,
    /// Bytes stored in the archive.
    pub compressed_size: u64,
    /// Bytes after decompression.
    pub size: u64,
    /// Offset of the local header.
    pub offset: u64,
}

/// The archive's central directory and where its parts lie in the file.
#[derive(Debug, Clone)]
pub struct Directory {
    /// Members in directory order.
    pub entries: Vec<Entry>,
    /// Offset of the central directory.
    pub cd_offset: u64,
    /// Length of the central directory.
    pub cd_size: u64,
    /// Where the end records begin (the zip64 record when present, else the end record).
    pub records_offset: u64,
    /// Where the end record and its comment end; bytes after it are not part of the archive.
    pub archive_end: u64,
}

impl Directory {
    /// The member called `name`.
    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.name == name)
    }
}

/// A member's local header.
#[derive(Debug, Clone, Default)]
pub struct LocalHeader {
    /// General-purpose flags.
    pub flags: u16,
    /// Compression method.
    pub method: u16,
    /// CRC32 field.
    pub crc: u32,
    /// Compressed size (resolved through the zip64 extra by [`LocalHeader::read_rest`]).
    pub compressed_size: u64,
    /// Uncompressed size (resolved likewise).
    pub size: u64,
    /// Length of the name that follows the fixed part.
    pub name_len: u16,
    /// Length of the extra field after the name.
    pub extra_len: u16,
    /// The name, once [`LocalHeader::read_rest`] has read it.
    pub name: String,
}

impl LocalHeader {
    /// Offset of the member's bytes, given the header's own offset.
    pub fn data_offset(&self, offset: u64) -> u64 {
        offset + LOCAL_LEN + u64::from(self.name_len) + u64::from(self.extra_len)
    }

    /// Reads the name and extra field of the header at `offset` and resolves zip64 sizes.
    pub fn read_rest(&mut self, source: &mut Source, offset: u64) -> Result<()> {
        let len = u64::from(self.name_len) + u64::from(self.extra_len);
        let bytes = read_exact(source, offset + LOCAL_LEN, len, "local header")?;
        let (name, extra) = bytes.split_at(usize::from(self.name_len));
        self.name = String::from_utf8_lossy(name).into_owned();
        let mut zip64 = Zip64::find(extra, "local header")?;
        self.size = zip64.resolve(self.size, "size")?;
        self.compressed_size = zip64.resolve(self.compressed_size, "compressed size")?;
        Ok(())
    }
}

/// Reads the fixed part of the local header at `offset`, as zipfile does before the name.
pub fn local_header(source: &mut Source, offset: u64) -> Result<LocalHeader> {
    let bytes = read_exact(source, offset, LOCAL_LEN, "local header")?;
    let mut f = Fields::new(&bytes, "local header");
    let sig = f.u32()?;
    if sig != LOCAL_SIG {
        return Err(Error::corrupt(format!(
            "no local header at offset {offset} (signature 0x{sig:08x})"
        )));
    }
    f.u16()?; // version needed
    let flags = f.u16()?;
    let method = f.u16()?;
    f.take(4)?; // time and date
    let crc = f.u32()?;
    let compressed_size = u64::from(f.u32()?);
    let size = u64::from(f.u32()?);
    let name_len = f.u16()?;
    let extra_len = f.u16()?;
    Ok(LocalHeader {
        flags,
        method,
        crc,
        compressed_size,
        size,
        name_len,
        extra_len,
        name: String::new(),
    })
}

/// Reads the end records and the central directory.
pub fn read_directory(source: &mut Source) -> Result<Directory> {
    let len = source.len();
    if len < END_LEN {
        return Err(Error::corrupt(format!(
            "file is too short to be an npz (zip) archive: {len} bytes"
        )));
    }
    let mut tail = Tail::read(source, TAIL_BYTES)?;
    let mut found = find_end(&tail.bytes);
    if found.is_none() && (tail.bytes.len() as u64) < len.min(SEARCH_BYTES) {
        tail = Tail::read(source, SEARCH_BYTES)?;
        found = find_end(&tail.bytes);
    }
    let Some(at) = found else {
        return Err(Error::corrupt(format!(
            "no zip end-of-central-directory record in the last {} bytes: not an npz (zip) \
             archive, or the file is truncated",
            tail.bytes.len()
        )));
    };
    let end_offset = tail.offset + at as u64;
    let mut f = Fields::new(&tail.bytes[at..], "end-of-central-directory record");
    f.u32()?;
    let (disk, cd_disk) = (f.u16()?, f.u16()?);
    let (disk_entries, entries) = (f.u16()?, f.u16()?);
    let (cd_size, cd_offset) = (u64::from(f.u32()?), u64::from(f.u32()?));
    let archive_end = end_offset + END_LEN + u64::from(f.u16()?);
    if disk != 0 || cd_disk != 0 || disk_entries != entries {
        return Err(Error::corrupt(
            "zip archive spans several disks; npz files never do",
        ));
    }
    let mut dir = Directory {
        entries: Vec::new(),
        cd_offset,
        cd_size,
        records_offset: end_offset,
        archive_end,
    };
    let mut count = u64::from(entries);
    if end_offset >= LOCATOR_LEN {
        let locator = tail.get(
            source,
            end_offset - LOCATOR_LEN,
            LOCATOR_LEN,
            "zip64 locator",
        )?;
        if locator.get(..4) == Some(&LOCATOR_SIG.to_le_bytes()[..]) {
            count = read_zip64_end(source, &tail, &locator, end_offset, &mut dir)?;
        }
    }
    let cd_end = dir
        .cd_offset
        .checked_add(dir.cd_size)
        .filter(|&end| end <= dir.records_offset);
    if cd_end.is_none() {
        return Err(Error::corrupt(format!(
            "central directory ({} bytes at offset {}) runs into the end records at offset {}",
            dir.cd_size, dir.cd_offset, dir.records_offset
        )));
    }
    if count.saturating_mul(CENTRAL_LEN) > dir.cd_size {
        return Err(Error::corrupt(format!(
            "central directory of {} bytes cannot hold the {count} entries the end record \
             announces",
            dir.cd_size
        )));
    }
    let cd = tail.get(source, dir.cd_offset, dir.cd_size, "central directory")?;
    dir.entries = parse_entries(&cd, count)?;
    Ok(dir)
}

/// Parses the zip64 end record the locator points to; returns the entry count.
fn read_zip64_end(
    source: &mut Source,
    tail: &Tail,
    locator: &[u8],
    end_offset: u64,
    dir: &mut Directory,
) -> Result<u64> {
    let mut f = Fields::new(locator, "zip64 locator");
    f.take(8)?; // signature and disk
    let end64_offset = f.u64()?;
    let locator_offset = end_offset - LOCATOR_LEN;
    if end64_offset.checked_add(END64_LEN) != Some(locator_offset) {
        return Err(Error::corrupt(format!(
            "zip64 end record at offset {end64_offset} is not directly before its locator at \
             offset {locator_offset}"
        )));
    }
    let record = tail.get(source, end64_offset, END64_LEN, "zip64 end record")?;
    let mut f = Fields::new(&record, "zip64 end record");
    let sig = f.u32()?;
    if sig != END64_SIG {
        return Err(Error::corrupt(format!(
            "zip64 end record at offset {end64_offset} has a bad signature 0x{sig:08x}"
        )));
    }
    f.take(20)?; // record size, versions, disk numbers
    let (disk_entries, entries) = (f.u64()?, f.u64()?);
    if disk_entries != entries {
        return Err(Error::corrupt(
            "zip archive spans several disks; npz files never do",
        ));
    }
    dir.cd_size = f.u64()?;
    dir.cd_offset = f.u64()?;
    dir.records_offset = end64_offset;
    Ok(entries)
}

fn parse_entries(cd: &[u8], count: u64) -> Result<Vec<Entry>> {
    let mut f = Fields::new(cd, "central directory");
    let mut entries = Vec::new();
    for index in 0..count {
        let sig = f.u32()?;
        if sig != CENTRAL_SIG {
            return Err(Error::corrupt(format!(
                "central directory entry {index} has a bad signature 0x{sig:08x}"
            )));
        }
        f.take(4)?; // versions
        let flags = f.u16()?;
        let method = f.u16()?;
        f.take(4)?; // time and date
        let crc = f.u32()?;
        let compressed32 = u64::from(f.u32()?);
        let size32 = u64::from(f.u32()?);
        let (name_len, extra_len, comment_len) = (f.u16()?, f.u16()?, f.u16()?);
        f.take(8)?; // disk, internal and external attributes
        let offset32 = u64::from(f.u32()?);
        let name = String::from_utf8_lossy(f.take(name_len.into())?).into_owned();
        let extra = f.take(extra_len.into())?;
        f.take(comment_len.into())?;
        let what = format!("{name}: central directory");
        let mut zip64 = Zip64::find(extra, &what)?;
        let size = zip64.resolve(size32, "size")?;
        let compressed_size = zip64.resolve(compressed32, "compressed size")?;
        let offset = zip64.resolve(offset32, "local header offset")?;
        entries.push(Entry {
            name,
            flags,
            method,
            crc,
            compressed_size,
            size,
            offset,
        });
    }
    Ok(entries)
}

/// The values of a zip64 extra field, taken in order for each 32-bit field that is masked.
struct Zip64<'a> {
    values: Option<Fields<'a>>,
    what: &'a str,
}

impl<'a> Zip64<'a> {
    fn find(extra: &'a [u8], what: &'a str) -> Result<Self> {
        let mut f = Fields::new(extra, what);
        while f.remaining() >= 4 {
            let id = f.u16()?;
            let len = f.u16()?;
            let data = f.take(len.into())?;
            if id == ZIP64_EXTRA_ID {
                return Ok(Zip64 {
                    values: Some(Fields::new(data, what)),
                    what,
                });
            }
        }
        Ok(Zip64 { values: None, what })
    }

    fn resolve(&mut self, value: u64, field: &str) -> Result<u64> {
        if value != u64::from(MASK32) {
            return Ok(value);
        }
        match self.values.as_mut().map(|values| values.u64()) {
            Some(Ok(value)) => Ok(value),
            _ => Err(Error::corrupt(format!(
                "{}: {field} is 0xFFFFFFFF but no zip64 extra field holds it",
                self.what
            ))),
        }
    }
}

/// The index of the last end record whose comment fits in `bytes`.
fn find_end(bytes: &[u8]) -> Option<usize> {
    let last = bytes.len().checked_sub(END_LEN as usize)?;
    (0..=last).rev().find(|&at| {
        let record = &bytes[at..];
        record[..4] == END_SIG.to_le_bytes()
            && at + END_LEN as usize + usize::from(u16::from_le_bytes([record[20], record[21]]))
                <= bytes.len()
    })
}

/// Bytes read from the end of the file, reused for records that lie within them.
struct Tail {
    offset: u64,
    bytes: Vec<u8>,
}

impl Tail {
    fn read(source: &mut Source, len: u64) -> Result<Tail> {
        let len = len.min(source.len());
        let offset = source.len() - len;
        let bytes = source.read(offset, len)?.to_vec();
        Ok(Tail { offset, bytes })
    }

    /// `len` bytes at `offset`: from the tail when it holds them, else read from `source`.
    fn get(&self, source: &mut Source, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        if offset >= self.offset {
            let start = (offset - self.offset) as usize;
            if let Some(bytes) = start
                .checked_add(len as usize)
                .and_then(|end| self.bytes.get(start..end))
            {
                return Ok(bytes.to_vec());
            }
        }
        read_exact(source, offset, len, what)
    }
}

/// Reads `len` bytes at `offset`, reporting a truncated file rather than a failed read.
fn read_exact(source: &mut Source, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
    let file_len = source.len();
    if offset.checked_add(len).is_none_or(|end| end > file_len) {
        return Err(Error::corrupt(format!(
            "file is truncated: {what} ({len} bytes at offset {offset}) lies past the end of \
             the {file_len}-byte file"
        )));
    }
    Ok(source.read(offset, len)?.to_vec())
}
