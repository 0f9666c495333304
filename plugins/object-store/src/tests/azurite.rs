//! The `az` backend against Azurite on 127.0.0.1, reached through `use_emulator` plus
//! `endpoint_url` as DLIO users configure it. Never skipped: without Azurite (or the
//! azure-storage-blob package that creates the container) the test fails and says so.

use std::{
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use dl_plugin_api::sdk::{BackendPlugin, ErrorKind, WriteOptions};
use serde_json::json;

use super::{all_pages, pattern};
use crate::AzureBackend;

const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Azurite's blob service, killed (and its storage removed) when dropped.
struct Azurite {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn azurite_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DL_DRIVER_AZURITE") {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("azurite-blob"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "azurite-blob is not on the PATH: install Azurite (npm install -g azurite) or set \
                 DL_DRIVER_AZURITE to its path"
            )
        })
}

impl Azurite {
    fn start(container: &str) -> Azurite {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("dl-object-store-azurite-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(azurite_binary())
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(&dir)
            .args(["--silent", "--skipApiVersionCheck", "--loose"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start azurite-blob");
        let mut server = Azurite { child, port, dir };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("azurite-blob exited with {status} before listening on {port}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "azurite-blob did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server.create_container(container);
        server
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Containers need a signed request; the Azure SDK for Python signs it.
    fn create_container(&self, name: &str) {
        let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        let script = format!(
            "import sys\nfrom azure.storage.blob import BlobServiceClient\n\
             BlobServiceClient.from_connection_string('DefaultEndpointsProtocol=http;\
             AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint=' + sys.argv[1] + '/{ACCOUNT};')\
             .create_container(sys.argv[2])\n"
        );
        let output = Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(self.endpoint())
            .arg(name)
            .output()
            .unwrap_or_else(|err| {
                panic!(
                    "run {}: {err}; install azure-storage-blob into the workspace's .venv \
                     (pip install -r scripts/test-requirements.txt)",
                    python.display()
                )
            });
        assert!(
            output.status.success(),
            "create container {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn azure_against_azurite() {
    let server = Azurite::start("bench");
    // The well-known Azurite account is the default; the key is then Azurite's too.
    let options = json!({
        "use_emulator": "True",
        "endpoint_url": server.endpoint(),
        "part_size_bytes": 1 << 20,
        "s3_max_attempts": 2,
        "timeout_seconds": 5,
    });
    let store = AzureBackend("az")
        .connect("az://bench/data", &options)
        .unwrap();

    let big = pattern((3 << 20) + 12_345, 5);
    let mut writer = store
        .open_write("train/big.bin", &WriteOptions::default())
        .unwrap();
    for chunk in big.chunks(700_001) {
        writer.write(chunk).unwrap();
    }
    assert_eq!(
        store.stat("train/big.bin").unwrap(),
        None,
        "visible before finish"
    );
    assert_eq!(writer.finish().unwrap().size, big.len() as u64);
    let mut reader = store.open_read("train/big.bin").unwrap();
    let mut buf = vec![0u8; 100_000];
    let offset = (1 << 20) - 50_000;
    assert_eq!(reader.read_at(offset as u64, &mut buf).unwrap(), 100_000);
    assert!(buf == big[offset..offset + 100_000]);

    let mut aborted = store
        .open_write("train/aborted.bin", &WriteOptions::default())
        .unwrap();
    aborted.write(&pattern(3 << 20, 6)).unwrap();
    aborted.abort();
    assert_eq!(store.stat("train/aborted.bin").unwrap(), None);

    for i in 0..30 {
        let mut writer = store
            .open_write(&format!("many/obj_{i:02}"), &WriteOptions::default())
            .unwrap();
        writer.write(&pattern(i, i as u64)).unwrap();
        writer.finish().unwrap();
    }
    let (many, pages) = all_pages(&*store, "many/", 7);
    assert_eq!(pages, 5);
    let expected: Vec<(String, u64)> = (0..30)
        .map(|i| (format!("many/obj_{i:02}"), i as u64))
        .collect();
    assert_eq!(many, expected);
    let (all, _) = all_pages(&*store, "", 4);
    assert_eq!(all.len(), 31);

    store.delete("train/big.bin").unwrap();
    store.delete("train/big.bin").unwrap();
    assert_eq!(store.stat("train/big.bin").unwrap(), None);

    // With the account spelt out, and a container that does not exist.
    let named = json!({
        "use_emulator": true,
        "endpoint_url": server.endpoint(),
        "account_name": ACCOUNT,
        "account_key": KEY,
    });
    let missing = AzureBackend("azure")
        .connect("azure://nothing/x", &named)
        .unwrap();
    let err = missing.list("", None, 10).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NOT_FOUND, "{err}");
    let endpoint = format!("{}/{ACCOUNT}", server.endpoint());
    assert!(
        err.message
            .starts_with(&format!("LIST azure://nothing/x at {endpoint}")),
        "{err}"
    );
    assert!(!err.message.contains(KEY), "{err}");
}
