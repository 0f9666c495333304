//! Storage options and root URIs as users write them.

use std::time::Duration;

use dl_plugin_api::sdk::{ErrorKind, Store};
use serde_json::json;

use crate::{
    connect::{connect, Service},
    options::{Options, DEFAULT_PART_SIZE},
    uri::{display_url, Root},
};

fn parse_err(value: serde_json::Value) -> String {
    let err = Options::parse(&value).unwrap_err();
    assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{err}");
    err.message
}

#[test]
fn absent_options_take_the_defaults() {
    for empty in [
        json!(null),
        json!({}),
        json!({"unrelated": 1, "endpoint_url": ""}),
    ] {
        let options = Options::parse(&empty).unwrap();
        assert_eq!(options, Options::default());
    }
    let options = Options::default();
    assert_eq!(options.max_attempts, 3);
    assert_eq!(options.timeout, Duration::from_secs(30));
    assert_eq!(options.connect_timeout, Duration::from_secs(5));
    assert_eq!(options.retry_timeout, Duration::from_secs(60));
    assert_eq!(options.part_size, DEFAULT_PART_SIZE);
    assert_eq!(options.max_concurrent_parts, 8);
    assert!(parse_err(json!([1])).contains("storage_options"));
}

#[test]
fn path_style_is_a_bool_or_its_spelling() {
    for (value, expected) in [
        (json!(true), true),
        (json!(false), false),
        (json!("true"), true),
        (json!("True"), true),
        (json!("FALSE"), false),
        (json!("False"), false),
        (json!("yes"), true),
        (json!("0"), false),
        (json!(1), true),
    ] {
        let options = Options::parse(&json!({ "s3_force_path_style": value })).unwrap();
        assert_eq!(options.force_path_style, Some(expected), "{value}");
    }
    let message = parse_err(json!({"s3_force_path_style": "maybe"}));
    assert!(
        message.contains("s3_force_path_style") && message.contains("maybe"),
        "{message}"
    );
}

#[test]
fn numbers_may_be_strings() {
    let options = Options::parse(&json!({
        "s3_max_attempts": "5",
        "timeout_seconds": "2.5",
        "connect_timeout_seconds": 1,
        "retry_timeout_seconds": 7.5,
        "part_size_bytes": "5242880",
        "max_concurrent_parts": 4.0,
    }))
    .unwrap();
    assert_eq!(options.max_attempts, 5);
    assert_eq!(options.timeout, Duration::from_millis(2500));
    assert_eq!(options.connect_timeout, Duration::from_secs(1));
    assert_eq!(options.retry_timeout, Duration::from_millis(7500));
    assert_eq!(options.part_size, 5 << 20);
    assert_eq!(options.max_concurrent_parts, 4);
    assert_eq!(
        Options::parse(&json!({"s3_max_attempts": 1}))
            .unwrap()
            .max_attempts,
        1
    );
    for (key, bad) in [
        ("s3_max_attempts", json!(0)),
        ("s3_max_attempts", json!("three")),
        ("s3_max_attempts", json!(2.5)),
        ("s3_max_attempts", json!(-1)),
        ("timeout_seconds", json!(0)),
        ("timeout_seconds", json!("soon")),
        ("retry_timeout_seconds", json!(-3)),
        ("part_size_bytes", json!("16MiB")),
        ("max_concurrent_parts", json!(0)),
        ("max_concurrent_parts", json!(100_000)),
        ("use_emulator", json!("perhaps")),
        ("region", json!(true)),
    ] {
        let mut map = serde_json::Map::new();
        map.insert(key.to_string(), bad.clone());
        let message = parse_err(serde_json::Value::Object(map));
        assert!(
            message.contains(&format!("storage_options.{key}")),
            "{message}"
        );
    }
}

#[test]
fn roots_split_into_bucket_and_prefix() {
    let root = Root::parse("s3://bucket/some/prefix/", &["s3"]).unwrap();
    assert_eq!(
        (root.authority.as_str(), root.prefix.as_str()),
        ("bucket", "some/prefix")
    );
    let root = Root::parse("S3://bucket", &["s3"]).unwrap();
    assert_eq!((root.scheme.as_str(), root.prefix.as_str()), ("s3", ""));
    let root = Root::parse("az:///only/prefix", &["az", "azure"]).unwrap();
    assert_eq!(
        (root.authority.as_str(), root.prefix.as_str()),
        ("", "only/prefix")
    );
    for bad in [
        "bucket/x",
        "gs://b",
        "s3://b/a//c",
        "s3://b/../x",
        "s3://b/x?y=1",
    ] {
        let err = Root::parse(bad, &["s3"]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{bad}");
    }
    let err = Root::parse("http://user:pw-123@host/x", &["http"]).unwrap_err();
    assert!(!err.message.contains("pw-123"), "{err}");
    assert_eq!(display_url("http://u:p@h:1/a/?q=s"), "http://h:1/a");
}

fn endpoint_of(store: &dyn Store) -> String {
    let info = store.info();
    let extra: serde_json::Value = serde_json::from_str(info.extra.as_str()).unwrap();
    extra["endpoint"].as_str().unwrap().to_string()
}

#[test]
fn s3_clients_follow_the_options() {
    let base = json!({
        "endpoint_url": "http://localhost:9000",
        "access_key_id": "id",
        "secret_access_key": "secret-value",
    });
    let store = connect(Service::S3, "s3://bench/data", &base).unwrap();
    assert_eq!(endpoint_of(&store), "http://localhost:9000");
    assert_eq!(store.remote().uri("k"), "s3://bench/data/k");
    let mut virtual_hosted = base.clone();
    virtual_hosted["s3_force_path_style"] = json!("False");
    let store = connect(Service::S3, "s3://bench/data", &virtual_hosted).unwrap();
    assert_eq!(endpoint_of(&store), "http://bench.localhost:9000");

    let mut small = base.clone();
    small["part_size_bytes"] = json!(1 << 20);
    let err = connect(Service::S3, "s3://bench", &small).unwrap_err();
    assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
    assert!(
        err.message.contains("part_size_bytes") && err.message.contains("5 MiB"),
        "{err}"
    );
    // Azure has no such minimum.
    let azure = json!({"account_name": "acct", "account_key": "a2V5", "part_size_bytes": 1 << 20});
    connect(Service::Azure, "az://container/p", &azure).unwrap();

    let half = json!({"access_key_id": "id"});
    let err = connect(Service::S3, "s3://bench", &half).unwrap_err();
    assert!(err.message.contains("secret_access_key"), "{err}");
    let err = connect(Service::S3, "s3:///prefix", &base).unwrap_err();
    assert!(err.message.contains("no bucket"), "{err}");
}

#[test]
fn azure_containers_come_from_the_uri_or_the_options() {
    let account = json!({"account_name": "acct", "account_key": "a2V5"});
    let store = connect(Service::Azure, "azure://box/p", &account).unwrap();
    assert_eq!(store.remote().uri("k"), "azure://box/p/k");
    assert_eq!(endpoint_of(&store), "https://acct.blob.core.windows.net");

    let mut named = account.clone();
    named["container"] = json!("box");
    let store = connect(Service::Azure, "az:///p", &named).unwrap();
    assert_eq!(store.remote().uri("k"), "az://box/p/k");
    let err = connect(Service::Azure, "az://other/p", &named).unwrap_err();
    assert!(
        err.message.contains("other") && err.message.contains("box"),
        "{err}"
    );
    if std::env::var_os("AZURE_BLOB_CONTAINER").is_none()
        && std::env::var_os("AZURE_CONTAINER_NAME").is_none()
    {
        let err = connect(Service::Azure, "az:///p", &account).unwrap_err();
        assert!(err.message.contains("AZURE_BLOB_CONTAINER"), "{err}");
    }

    // Azurite on its own port: addressed as the account under that endpoint.
    let azurite = json!({"use_emulator": "true", "endpoint_url": "http://127.0.0.1:10999"});
    let store = connect(Service::Azure, "az://bench/d", &azurite).unwrap();
    assert_eq!(
        endpoint_of(&store),
        "http://127.0.0.1:10999/devstoreaccount1"
    );
    assert!(!store.remote().native_offset);
}

#[test]
fn gcs_and_http_roots() {
    let store = connect(
        Service::Gcs,
        "gs://bucket/p",
        &json!({"endpoint_url": "http://127.0.0.1:4443", "service_account_key": null}),
    );
    // Without credentials the GCS builder may refuse; either way the message is about setup.
    if let Err(err) = &store {
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{err}");
    }
    let store = connect(
        Service::Http,
        "http://127.0.0.1:8080/dav/data/",
        &json!(null),
    )
    .unwrap();
    assert_eq!(endpoint_of(&store), "http://127.0.0.1:8080");
    assert_eq!(store.remote().prefix, "dav/data");
    assert!(!store.remote().multipart && !store.remote().sorted_listing);
}
