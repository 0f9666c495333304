//! Full verification of an npz file: zip structure, both members, their NPY headers and CRCs.

use crc32fast::Hasher;
use dl_plugin_api::sdk::{CheckReport, Dtype, Error, FileSpec, Result, Source};

use crate::array;
use crate::layout::{Layout, LABEL_DESCR, X_NAME, Y_NAME};
use crate::npy;
use crate::zip::{self, Directory, Entry};

/// Flag bit 0: the member is encrypted.
const FLAG_ENCRYPTED: u16 = 1;
/// Flag bit 3: CRC and sizes follow the data instead of being in the local header.
const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;

/// Verifies `source` holds the npz file `file` describes with elements of `dtype`.
pub fn check(
    file: &FileSpec,
    dtype: Dtype,
    layout: &Layout,
    mut source: Source,
) -> Result<CheckReport> {
    let len = source.len();
    let dir = zip::read_directory(&mut source).map_err(|err| {
        if len < layout.total {
            Error::corrupt(format!(
                "file is truncated: {len} bytes, expected {} ({})",
                layout.total, err.message
            ))
        } else {
            err
        }
    })?;
    if let Some(other) = dir
        .entries
        .iter()
        .find(|e| e.name != X_NAME && e.name != Y_NAME)
    {
        return Err(Error::corrupt(format!(
            "unexpected member '{}' (an npz for dl-driver holds only {X_NAME} and {Y_NAME})",
            other.name
        )));
    }
    let x = member(&dir, X_NAME)?;
    let y = member(&dir, Y_NAME)?;
    let mut spans = vec![
        check_member(
            &mut source,
            &dir,
            x,
            dtype.numpy_descr(),
            dtype.size() as u64,
            &layout.x_shape,
        )?,
        check_member(&mut source, &dir, y, LABEL_DESCR, 8, &layout.y_shape)?,
    ];
    spans.sort_unstable();
    let mut at = 0;
    for (start, end, name) in spans {
        if start != at {
            return Err(Error::corrupt(format!(
                "{name}: local header at offset {start}, expected {at} (unaccounted or \
                 overlapping bytes before it)"
            )));
        }
        at = end;
    }
    if dir.cd_offset != at {
        return Err(Error::corrupt(format!(
            "central directory at offset {}, expected {at} right after the last member",
            dir.cd_offset
        )));
    }
    if dir.cd_offset + dir.cd_size != dir.records_offset {
        return Err(Error::corrupt(format!(
            "{} unaccounted bytes between the central directory and the end records",
            dir.records_offset - (dir.cd_offset + dir.cd_size)
        )));
    }
    if dir.archive_end != len {
        return Err(Error::corrupt(format!(
            "file has {} trailing bytes after the zip end record",
            len - dir.archive_end
        )));
    }
    Ok(CheckReport {
        samples: file.samples,
        bytes: len,
    })
}

fn member<'a>(dir: &'a Directory, name: &str) -> Result<&'a Entry> {
    let mut found = dir.entries.iter().filter(|e| e.name == name);
    match (found.next(), found.next()) {
        (Some(entry), None) => Ok(entry),
        (Some(_), Some(_)) => Err(Error::corrupt(format!("{name}: member appears twice"))),
        (None, _) => Err(Error::corrupt(format!(
            "{name}: member missing from the archive"
        ))),
    }
}

/// Verifies one member; returns the span of its local header and data, and its name.
fn check_member<'a>(
    source: &mut Source,
    dir: &Directory,
    entry: &'a Entry,
    descr: &str,
    item_size: u64,
    shape: &[u64],
) -> Result<(u64, u64, &'a str)> {
    let name = entry.name.as_str();
    verify_member(source, dir, entry, descr, item_size, shape).map_err(|err| err.context(name))
}

fn verify_member<'a>(
    source: &mut Source,
    dir: &Directory,
    entry: &'a Entry,
    descr: &str,
    item_size: u64,
    shape: &[u64],
) -> Result<(u64, u64, &'a str)> {
    if entry.flags & FLAG_ENCRYPTED != 0 {
        return Err(Error::corrupt("member is encrypted"));
    }
    if entry.method != 0 {
        return Err(Error::corrupt(format!(
            "compressed with zip method {}; numpy.savez stores members (method 0)",
            entry.method
        )));
    }
    if entry.compressed_size != entry.size {
        return Err(Error::corrupt(format!(
            "stored member has compressed size {} but size {}",
            entry.compressed_size, entry.size
        )));
    }
    let mut local = zip::local_header(source, entry.offset)?;
    local.read_rest(source, entry.offset)?;
    if local.name != entry.name || local.method != entry.method {
        return Err(Error::corrupt(format!(
            "local header (name '{}', method {}) disagrees with the central directory",
            local.name, local.method
        )));
    }
    if local.flags & FLAG_DATA_DESCRIPTOR == 0 {
        if local.crc != entry.crc {
            return Err(Error::corrupt(format!(
                "local header CRC32 0x{:08x} differs from the central directory's 0x{:08x}",
                local.crc, entry.crc
            )));
        }
        if local.size != entry.size || local.compressed_size != entry.compressed_size {
            return Err(Error::corrupt(format!(
                "local header size {} differs from the central directory's {}",
                local.size, entry.size
            )));
        }
    }
    let data = local.data_offset(entry.offset);
    let end = data
        .checked_add(entry.size)
        .filter(|&end| end <= dir.cd_offset);
    let Some(end) = end else {
        return Err(Error::corrupt(format!(
            "member data ({} bytes at offset {data}) runs into the central directory at offset {}",
            entry.size, dir.cd_offset
        )));
    };
    let (header_len, header) = array::read_header(source, data, entry.size, "member")?;
    array::expect(&header, descr, shape)?;
    let expected_data = array::data_len(item_size, shape);
    if expected_data != Some(entry.size - header_len) {
        return Err(Error::corrupt(format!(
            "{} bytes of array data, expected {} for shape {} of '{descr}'",
            entry.size - header_len,
            expected_data.map_or("more than 2^64".into(), |n| n.to_string()),
            npy::shape_repr(shape)
        )));
    }
    let mut crc = Hasher::new();
    source.read_range(data, entry.size, |chunk| {
        crc.update(chunk);
        Ok(())
    })?;
    let computed = crc.finalize();
    if computed != entry.crc {
        return Err(Error::corrupt(format!(
            "CRC32 mismatch (stored 0x{:08x}, computed 0x{computed:08x})",
            entry.crc
        )));
    }
    Ok((entry.offset, end, entry.name.as_str()))
}
