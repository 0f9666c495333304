//! Real storage servers on 127.0.0.1 for the object-store tests: moto (S3) and Azurite
//! (Azure Blob), each started on a free port by the test and killed when dropped. A server
//! that cannot be found or started fails the test with what to install.

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::support::{python, python_run};

/// Azurite's well-known development account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development key (public, documented by Microsoft).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status} before listening on 127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not listen on 127.0.0.1:{port} within 60 s");
}

/// A storage server process, killed on drop.
pub struct Server {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server now (to test what a run does when storage goes away).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// moto's S3 server (from the test venv) with `bucket` created.
pub fn moto(bucket: &str) -> Server {
    let port = free_port();
    let mut child = Command::new(python())
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto's S3 server (python -m moto.server): install moto[server] from scripts/test-requirements.txt");
    wait_for_port(port, &mut child, "moto_server");
    let server = Server {
        child: Some(child),
        port,
    };
    s3_python(
        &server,
        "import sys; s3.create_bucket(Bucket=sys.argv[2]); print('ok')",
        &[bucket],
    );
    server
}

/// Runs `script` with `s3` bound to a boto3 client of `server` (argv[1] is its endpoint).
pub fn s3_python(server: &Server, script: &str, args: &[&str]) -> String {
    let prelude = "import sys, boto3\n\
                   s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
                   aws_access_key_id='testing', aws_secret_access_key='testing')\n";
    let endpoint = server.endpoint();
    let mut all = vec![endpoint.as_str()];
    all.extend_from_slice(args);
    python_run(&format!("{prelude}{script}"), &all)
}

/// Every object under `prefix` in `bucket`, as `(key, size, etag)`, through paginated listing.
pub fn s3_objects(server: &Server, bucket: &str, prefix: &str) -> Vec<(String, u64, String)> {
    let out = s3_python(
        server,
        "import json\n\
         pages = s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[2], Prefix=sys.argv[3])\n\
         print(json.dumps([[o['Key'], o['Size'], o['ETag']] for p in pages for o in p.get('Contents', [])]))",
        &[bucket, prefix],
    );
    let rows: Vec<(String, u64, String)> = serde_json::from_str(&out).unwrap();
    rows
}

/// The Azurite binary: `DL_DRIVER_AZURITE`, or `azurite-blob` on the PATH.
fn azurite_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DL_DRIVER_AZURITE") {
        return path.into();
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("azurite-blob"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "azurite-blob is not on the PATH: install Azurite (npm install -g azurite@3.37.0, as \
             .ci/run does) or set DL_DRIVER_AZURITE"
        )
    })
}

/// Azurite's blob service storing under `dir`, with `container` created.
pub fn azurite(dir: &Path, container: &str) -> Server {
    let port = free_port();
    let mut child = Command::new(azurite_binary())
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .arg("--location")
        .arg(dir)
        .args(["--silent", "--skipApiVersionCheck", "--loose"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start azurite-blob");
    wait_for_port(port, &mut child, "azurite-blob");
    let server = Server {
        child: Some(child),
        port,
    };
    azure_python(
        &server,
        "service.create_container(sys.argv[2]); print('ok')",
        &[container],
    );
    server
}

/// Runs `script` with `service` bound to an azure-storage-blob client of `server`.
pub fn azure_python(server: &Server, script: &str, args: &[&str]) -> String {
    let prelude = format!(
        "import sys\nfrom azure.storage.blob import BlobServiceClient\n\
         service = BlobServiceClient.from_connection_string(\
         'DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};\
         BlobEndpoint=' + sys.argv[1] + '/{AZURITE_ACCOUNT};')\n"
    );
    let endpoint = server.endpoint();
    let mut all = vec![endpoint.as_str()];
    all.extend_from_slice(args);
    python_run(&format!("{prelude}{script}"), &all)
}

/// Every blob under `prefix` in `container`, as `(name, size)`.
pub fn azure_blobs(server: &Server, container: &str, prefix: &str) -> Vec<(String, u64)> {
    let out = azure_python(
        server,
        "import json\n\
         c = service.get_container_client(sys.argv[2])\n\
         print(json.dumps([[b.name, b.size] for b in c.list_blobs(name_starts_with=sys.argv[3])]))",
        &[container, prefix],
    );
    serde_json::from_str(&out).unwrap()
}

/// Our test double of GCS's XML API (`gcs_xml_shim.py`), serving any bucket.
pub fn gcs_shim() -> Server {
    let port = free_port();
    let shim = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cli/gcs_xml_shim.py");
    let mut child = Command::new(python())
        .arg(shim)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tests/cli/gcs_xml_shim.py");
    wait_for_port(port, &mut child, "gcs_xml_shim.py");
    Server {
        child: Some(child),
        port,
    }
}
