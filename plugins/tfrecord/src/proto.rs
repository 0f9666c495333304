//! `tf.train.Example` messages (as prost types, for decoding in `check`) and the hand-written
//! encoding `generate` streams: everything before and after the sample bytes.

use std::collections::BTreeMap;

use prost::encoding::{encode_varint, encoded_len_varint};

/// `tf.train.Example`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Example {
    #[prost(message, optional, tag = "1")]
    pub features: Option<Features>,
}

/// `tf.train.Features`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Features {
    #[prost(btree_map = "string, message", tag = "1")]
    pub feature: BTreeMap<String, Feature>,
}

/// `tf.train.Feature`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Feature {
    #[prost(oneof = "Kind", tags = "1, 2, 3")]
    pub kind: Option<Kind>,
}

/// `tf.train.Feature.kind`.
// Variant names follow the proto's field names.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Kind {
    #[prost(message, tag = "1")]
    BytesList(BytesList),
    #[prost(message, tag = "2")]
    FloatList(FloatList),
    #[prost(message, tag = "3")]
    Int64List(Int64List),
}

/// `tf.train.BytesList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BytesList {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub value: Vec<Vec<u8>>,
}

/// `tf.train.FloatList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FloatList {
    #[prost(float, repeated, tag = "1")]
    pub value: Vec<f32>,
}

/// `tf.train.Int64List`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Int64List {
    #[prost(int64, repeated, tag = "1")]
    pub value: Vec<i64>,
}

/// Field 1, length-delimited.
const TAG_1_LEN: u8 = 0x0a;
/// Field 2, length-delimited.
const TAG_2_LEN: u8 = 0x12;
/// Field 3, length-delimited.
const TAG_3_LEN: u8 = 0x1a;

/// Bytes of a length-delimited field holding `len` bytes: tag, length varint, content.
fn field_len(len: u64) -> u64 {
    1 + encoded_len_varint(len) as u64 + len
}

fn put_len(buf: &mut Vec<u8>, tag: u8, len: u64) {
    buf.push(tag);
    encode_varint(len, buf);
}

/// The serialized `Example {image: bytes_list[<n bytes>], size: int64_list[n]}` with the `n`
/// image bytes left out: `head` comes before them and `tail` after. Same bytes as prost
/// (and TensorFlow) encode, map entries in key order.
pub struct Layout {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
    pub image_len: u64,
}

impl Layout {
    pub fn new(image_len: u64) -> Layout {
        let n = image_len;
        // image entry: key "image", value Feature{bytes_list: BytesList{value: [n bytes]}}
        let bytes_list = field_len(n);
        let image_feature = field_len(bytes_list);
        let image_entry = field_len(5) + field_len(image_feature);
        // size entry: key "size", value Feature{int64_list: Int64List{value: [n]}} (packed)
        let packed = encoded_len_varint(n) as u64;
        let int64_list = field_len(packed);
        let size_feature = field_len(int64_list);
        let size_entry = field_len(4) + field_len(size_feature);
        let features = field_len(image_entry) + field_len(size_entry);

        let mut head = Vec::with_capacity(40);
        put_len(&mut head, TAG_1_LEN, features); // Example.features
        put_len(&mut head, TAG_1_LEN, image_entry); // Features.feature entry
        put_len(&mut head, TAG_1_LEN, 5); // entry key
        head.extend_from_slice(b"image");
        put_len(&mut head, TAG_2_LEN, image_feature); // entry value
        put_len(&mut head, TAG_1_LEN, bytes_list); // Feature.bytes_list
        put_len(&mut head, TAG_1_LEN, n); // BytesList.value[0]

        let mut tail = Vec::with_capacity(32);
        put_len(&mut tail, TAG_1_LEN, size_entry); // Features.feature entry
        put_len(&mut tail, TAG_1_LEN, 4); // entry key
        tail.extend_from_slice(b"size");
        put_len(&mut tail, TAG_2_LEN, size_feature); // entry value
        put_len(&mut tail, TAG_3_LEN, int64_list); // Feature.int64_list
        put_len(&mut tail, TAG_1_LEN, packed); // Int64List.value, packed
        encode_varint(n, &mut tail);

        Layout {
            head,
            tail,
            image_len,
        }
    }

    /// Length of the whole serialized Example.
    pub fn payload_len(&self) -> u64 {
        self.head.len() as u64 + self.image_len + self.tail.len() as u64
    }
}
