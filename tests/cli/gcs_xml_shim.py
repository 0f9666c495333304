#!/usr/bin/env python3
"""Test double of Google Cloud Storage's *XML API*, for object_store's GCS client.

The Rust crate `object_store` (0.14, feature `gcp`) talks to GCS through the
S3-compatible XML API (https://storage.googleapis.com/BUCKET/OBJECT), not the
JSON API, so JSON-only emulators fail with errors such as "ETag Header missing".
This stdlib-only server implements just the subset that client uses:

  PUT    /b/key                  put (honours x-goog-if-generation-match; 0 = create-only)
  PUT    /b/key                  copy, with header x-goog-copy-source: b/src (copy/rename)
  GET    /b/key, HEAD /b/key     get / head; Range, If-Match, If-None-Match, ?generation=
  DELETE /b/key                  delete (404 NoSuchKey when missing, like GCS)
  GET    /b?list-type=2          list: prefix, delimiter, start-after, max-keys,
                                 continuation-token; at most --page-size keys per page
  POST   /b/key?uploads          multipart: initiate
  PUT    /b/key?partNumber=N&uploadId=U   upload part (any size)
  POST   /b/key?uploadId=U       complete (<CompleteMultipartUpload> body)
  DELETE /b/key?uploadId=U       abort

Every object response carries ETag, Last-Modified, Content-Length and
x-goog-generation, which object_store requires.  Errors use GCS's XML shape
(<Error><Code>NoSuchKey</Code>...), and a 404 becomes object_store's NotFound.

Buckets are implicit: any bucket name is accepted and starts empty.  Objects
live in memory and vanish when the process exits.  Authentication is ignored.

Usage:  python gcs_xml_shim.py --host 127.0.0.1 --port PORT [--page-size N]
  --port 0 picks a free port; the one line written to stderr is
  "listening on http://HOST:PORT".  The page size (default 1000, the real
  service's maximum) may also be set with the env var GCS_SHIM_PAGE_SIZE.

object_store configuration (service-account key JSON, e.g. in
GOOGLE_SERVICE_ACCOUNT_KEY; plus GOOGLE_ALLOW_HTTP=true since the URL is http):
  {"private_key": "x", "private_key_id": "x", "client_email": "x@x",
   "gcs_base_url": "http://127.0.0.1:PORT", "disable_oauth": true}
"""
import argparse
import base64
import email.utils
import hashlib
import itertools
import os
import sys
import threading
import time
import types
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

# Request headers stored with an object and echoed back on GET/HEAD.
STORED_HEADERS = ("content-type", "cache-control", "content-disposition",
                  "content-encoding", "content-language", "x-goog-storage-class")
XML_DECL = "<?xml version='1.0' encoding='UTF-8'?>"


class Obj:
    """One stored object generation."""

    _generations = itertools.count(int(time.time() * 1e6))

    def __init__(self, data, headers, etag=None):
        self.data = data
        self.headers = headers
        self.etag = etag or '"%s"' % hashlib.md5(data).hexdigest()
        self.mtime = time.time()
        self.generation = str(next(Obj._generations))


STORE = types.SimpleNamespace(
    lock=threading.Lock(),
    objects={},   # (bucket, key) -> Obj
    uploads={},   # upload id -> {"bucket", "key", "headers", "parts": {part number: (etag, data)}}
)
PAGE_SIZE = 1000   # overridden by --page-size / GCS_SHIM_PAGE_SIZE


def iso(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def meta_headers(headers):
    """The subset of request headers persisted with an object."""
    return {k.lower(): v for k, v in headers.items()
            if k.lower() in STORED_HEADERS or k.lower().startswith("x-goog-meta-")}


class GcsError(Exception):
    """Raised to answer with GCS's XML error shape; raising inside `with STORE.lock` frees the lock."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


NO_SUCH_KEY = (404, "NoSuchKey", "The specified key does not exist.")
NO_SUCH_UPLOAD = (404, "NoSuchUpload", "The requested upload was not found.")
PRECONDITION = (412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as reqwest expects
    server_version = "gcs-xml-shim"

    def log_message(self, *args):   # silence per-request logging
        pass

    # ---- plumbing ---------------------------------------------------------
    def dispatch(self, method, head=False):
        url = urlsplit(self.path)
        self.query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        bucket, _, key = url.path.lstrip("/").partition("/")
        self.bucket, self.key = unquote(bucket), unquote(key)
        length = int(self.headers.get("Content-Length") or 0)   # object_store always sends it
        self.data = self.rfile.read(length) if length else b""
        try:
            if not self.bucket:
                raise GcsError(400, "InvalidArgument", "Missing bucket name.")
            try:
                method()
            except (ValueError, IndexError) as e:   # bad max-keys, continuation-token, ...
                raise GcsError(400, "InvalidArgument", f"Invalid argument: {e}")
        except GcsError as e:
            body = (f"{XML_DECL}<Error><Code>{e.code}</Code><Message>{escape(e.message)}</Message>"
                    f"<Details>{escape(self.bucket + '/' + self.key)}</Details></Error>")
            self.reply(e.status, body, e.headers, head)

    def reply(self, status, body=b"", headers=None, head=False):
        body = body.encode() if isinstance(body, str) else body
        headers = {"Content-Length": str(len(body)), **(headers or {})}
        if body and "Content-Type" not in headers:
            headers["Content-Type"] = "application/xml; charset=UTF-8"
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def upload(self):
        """The multipart upload named by ?uploadId= (caller holds the lock)."""
        up = STORE.uploads.get(self.query["uploadId"])
        if up is None or (up["bucket"], up["key"]) != (self.bucket, self.key):
            raise GcsError(*NO_SUCH_UPLOAD)
        return up

    def do_HEAD(self): self.dispatch(lambda: self.get(head=True), head=True)
    def do_GET(self): self.dispatch(self.get)
    def do_PUT(self): self.dispatch(self.put)
    def do_POST(self): self.dispatch(self.post)
    def do_DELETE(self): self.dispatch(self.delete)

    # ---- operations -------------------------------------------------------
    def get(self, head=False):
        if not self.key:
            return self.list_objects(head)
        with STORE.lock:
            o = STORE.objects.get((self.bucket, self.key))
        if o is None or self.query.get("generation", o.generation) != o.generation:
            raise GcsError(*NO_SUCH_KEY)
        h = {"ETag": o.etag, "Last-Modified": email.utils.formatdate(o.mtime, usegmt=True),
             "x-goog-generation": o.generation, "x-goog-metageneration": "1",
             "x-goog-stored-content-length": str(len(o.data)), "Accept-Ranges": "bytes",
             "Content-Type": "application/octet-stream"}
        h.update((k.title() if k in STORED_HEADERS else k, v) for k, v in o.headers.items())
        if_match, if_none = self.headers.get("If-Match"), self.headers.get("If-None-Match")
        if if_match and if_match not in ("*", o.etag):
            raise GcsError(*PRECONDITION)
        if if_none and if_none in ("*", o.etag):
            return self.reply(304, headers={"ETag": o.etag, "Last-Modified": h["Last-Modified"]}, head=True)
        rng, size = self.headers.get("Range", ""), len(o.data)
        start_s, dash, end_s = rng.strip().removeprefix("bytes=").partition("-")
        if not dash or not (start_s + end_s).isdigit():
            return self.reply(200, o.data, h, head)   # no (or an unparsable) Range: whole object
        if start_s:   # "bytes=a-b" or "bytes=a-"
            start, end = int(start_s), min(int(end_s), size - 1) if end_s else size - 1
        else:         # "bytes=-n": the last n bytes
            start, end = max(size - int(end_s), 0), size - 1
        if start >= size or start > end:
            raise GcsError(416, "InvalidRange", "The requested range cannot be satisfied.",
                           {"Content-Range": f"bytes */{size}"})
        h["Content-Range"] = f"bytes {start}-{end}/{size}"
        self.reply(206, o.data[start:end + 1], h, head)

    def list_objects(self, head):
        """ListObjectsV2 (list-type=2): the XML shape object_store's S3/GCS list parser reads."""
        prefix, delim = self.query.get("prefix", ""), self.query.get("delimiter", "")
        limit = min(int(self.query.get("max-keys") or PAGE_SIZE), PAGE_SIZE)
        marker, skip_cp = self.query.get("start-after", ""), ""
        if self.query.get("continuation-token"):   # our token is b64("K" + key) or b64("P" + prefix)
            tok = base64.urlsafe_b64decode(self.query["continuation-token"]).decode()
            marker, skip_cp = max(marker, tok[1:]), (tok[1:] if tok[0] == "P" else "")
        with STORE.lock:
            items = sorted((k, o) for (b, k), o in STORE.objects.items() if b == self.bucket)
        contents, prefixes, last, truncated = [], [], "", False
        for key, o in items:
            if not key.startswith(prefix) or key <= marker or (skip_cp and key.startswith(skip_cp)):
                continue
            rest = key[len(prefix):]
            cp = prefix + rest[:rest.index(delim) + len(delim)] if delim and delim in rest else None
            if cp is not None and prefixes and prefixes[-1] == cp:
                continue   # keys sharing a prefix are contiguous once sorted
            if len(contents) + len(prefixes) >= limit:
                truncated = True
                break
            if cp is None:
                contents.append((key, o))
                last = "K" + key
            else:
                prefixes.append(cp)
                last = "P" + cp
        out = [XML_DECL, '<ListBucketResult xmlns="http://doc.s3.amazonaws.com/2006-03-01">',
               f"<Name>{escape(self.bucket)}</Name><Prefix>{escape(prefix)}</Prefix>",
               f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount><MaxKeys>{limit}</MaxKeys>",
               f"<Delimiter>{escape(delim)}</Delimiter>" if delim else "",
               f"<IsTruncated>{str(truncated).lower()}</IsTruncated>"]
        if truncated:
            out.append(f"<NextContinuationToken>{base64.urlsafe_b64encode(last.encode()).decode()}"
                       "</NextContinuationToken>")
        out += [f"<Contents><Key>{escape(k)}</Key><Generation>{o.generation}</Generation>"
                f"<LastModified>{iso(o.mtime)}</LastModified><ETag>{escape(o.etag)}</ETag>"
                f"<Size>{len(o.data)}</Size><StorageClass>STANDARD</StorageClass></Contents>"
                for k, o in contents]
        out += [f"<CommonPrefixes><Prefix>{escape(cp)}</Prefix></CommonPrefixes>" for cp in prefixes]
        self.reply(200, "".join(out) + "</ListBucketResult>", head=head)

    def put(self):
        if not self.key:
            return self.reply(200)   # "create bucket": a no-op, buckets are implicit
        if "uploadId" in self.query:
            return self.put_part()
        src = self.headers.get("x-goog-copy-source")   # copy: "bucket/url-encoded-key"
        with STORE.lock:
            existing = STORE.objects.get((self.bucket, self.key))
            want = self.headers.get("x-goog-if-generation-match")   # "0": must not exist yet
            if want is not None and want != (existing.generation if existing else "0"):
                raise GcsError(*PRECONDITION)
            if src:
                so = STORE.objects.get(tuple(unquote(src).lstrip("/").split("/", 1)))
                if so is None:
                    raise GcsError(*NO_SUCH_KEY)
                o = Obj(so.data, dict(so.headers), so.etag)
            else:
                o = Obj(self.data, meta_headers(self.headers))
            STORE.objects[(self.bucket, self.key)] = o
        body = (f"{XML_DECL}<CopyObjectResult><LastModified>{iso(o.mtime)}</LastModified>"
                f"<ETag>{escape(o.etag)}</ETag></CopyObjectResult>") if src else b""
        self.reply(200, body, {"ETag": o.etag, "x-goog-generation": o.generation,
                               "x-goog-metageneration": "1"})

    def put_part(self):
        n = self.query.get("partNumber", "")
        if not n.isdigit():
            raise GcsError(400, "InvalidArgument", "Invalid partNumber.")
        etag = '"%s"' % hashlib.md5(self.data).hexdigest()
        with STORE.lock:
            self.upload()["parts"][int(n)] = (etag, self.data)
        self.reply(200, headers={"ETag": etag})

    def post(self):
        b, k = escape(self.bucket), escape(self.key)
        if "uploads" in self.query:   # initiate
            uid = uuid.uuid4().hex
            with STORE.lock:
                STORE.uploads[uid] = {"bucket": self.bucket, "key": self.key,
                                      "headers": meta_headers(self.headers), "parts": {}}
            return self.reply(200, f"{XML_DECL}<InitiateMultipartUploadResult><Bucket>{b}</Bucket>"
                                   f"<Key>{k}</Key><UploadId>{uid}</UploadId></InitiateMultipartUploadResult>")
        if "uploadId" not in self.query:
            raise GcsError(400, "InvalidArgument", "Unsupported POST request.")
        try:   # complete: <CompleteMultipartUpload><Part><ETag>..</ETag><PartNumber>..</PartNumber></Part>..
            wanted = []
            for part in ET.fromstring(self.data).iter():
                if part.tag.split("}")[-1] == "Part":
                    f = {c.tag.split("}")[-1]: (c.text or "").strip() for c in part}
                    wanted.append((int(f["PartNumber"]), f["ETag"].strip('"')))
        except (ET.ParseError, KeyError, ValueError):
            raise GcsError(400, "MalformedXML", "The XML you provided was not well-formed.")
        with STORE.lock:
            up = self.upload()
            if not wanted or any(up["parts"].get(n, ("",))[0].strip('"') != e for n, e in wanted):
                raise GcsError(400, "InvalidPart", "A listed part is missing or its ETag does not match.")
            parts = [up["parts"][n] for n, _ in wanted]
            digest = hashlib.md5(b"".join(bytes.fromhex(e.strip('"')) for e, _ in parts)).hexdigest()
            o = Obj(b"".join(d for _, d in parts), up["headers"], '"%s-%d"' % (digest, len(parts)))
            STORE.objects[(self.bucket, self.key)] = o
            del STORE.uploads[self.query["uploadId"]]
        self.reply(200, f"{XML_DECL}<CompleteMultipartUploadResult><Bucket>{b}</Bucket><Key>{k}</Key>"
                        f"<ETag>{escape(o.etag)}</ETag></CompleteMultipartUploadResult>",
                   {"ETag": o.etag, "x-goog-generation": o.generation})

    def delete(self):
        with STORE.lock:
            if "uploadId" in self.query:   # abort
                self.upload()
                del STORE.uploads[self.query["uploadId"]]
            elif STORE.objects.pop((self.bucket, self.key), None) is None:
                raise GcsError(*NO_SUCH_KEY)
        self.reply(204)


def main():
    global PAGE_SIZE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--page-size", type=int, default=int(os.environ.get("GCS_SHIM_PAGE_SIZE", 1000)),
                    help="max keys per list page (default 1000, env GCS_SHIM_PAGE_SIZE)")
    args = ap.parse_args()
    PAGE_SIZE = max(1, args.page_size)
    server = ThreadingHTTPServer((args.host, args.port), Handler)   # daemon threads by default
    print(f"listening on http://{args.host}:{server.server_address[1]}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
