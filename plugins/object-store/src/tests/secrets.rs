//! Credentials are used, never shown: not in errors, not in Debug output, not in store info.

use std::net::TcpListener;

use dl_plugin_api::sdk::{Error, Store, WriteOptions};
use serde_json::json;

use crate::{
    connect::{connect, Service},
    error::Redactor,
    options::Options,
};

const SECRET: &str = "SECRET-do-not-print-123";

/// Every credential option set to a variant of [`SECRET`], plus `extra` keys.
fn with_secrets(extra: serde_json::Value) -> serde_json::Value {
    let mut options = json!({
        "access_key_id": format!("id-{SECRET}"),
        "secret_access_key": SECRET,
        "session_token": format!("token-{SECRET}"),
        "account_key": SECRET,
        "service_account_key": format!("{{\"private_key\": \"{SECRET}\"}}"),
    });
    if let (Some(map), Some(more)) = (options.as_object_mut(), extra.as_object()) {
        map.extend(more.clone());
    }
    options
}

fn clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
    assert!(
        !text.contains("do-not-print"),
        "{what} shows part of the secret: {text}"
    );
}

fn clean_error(what: &str, err: &Error) {
    clean(what, &err.message);
    clean(what, &format!("{err:?}"));
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn option_structs_print_redacted() {
    let options = Options::parse(&with_secrets(json!({}))).unwrap();
    clean("Options Debug", &format!("{options:?}"));
    clean("Options pretty Debug", &format!("{options:#?}"));
    assert!(format!("{options:?}").contains("<redacted>"));

    let store = connect(
        Service::S3,
        "s3://bench/data",
        &with_secrets(json!({"endpoint_url": "http://127.0.0.1:9"})),
    )
    .unwrap();
    clean("store Debug", &format!("{store:?} {:?}", store.remote()));
    clean("store info", store.info().extra.as_str());
}

#[test]
fn malformed_options_never_echo_credentials() {
    for extra in [
        json!({"s3_max_attempts": "x"}),
        json!({"secret_access_key": true}),
        json!({"session_token": [SECRET]}),
        json!({"part_size_bytes": 1}),
        json!({"endpoint_url": format!("not a url {SECRET}")}),
    ] {
        let result = connect(Service::S3, "s3://bench", &with_secrets(extra.clone()));
        if let Err(err) = result {
            clean_error(&format!("s3 with {extra}"), &err);
        }
    }
    let half = json!({"access_key_id": "id", "secret_access_key": null, "session_token": SECRET});
    let err = connect(Service::S3, "s3://bench", &half).unwrap_err();
    clean_error("half credentials", &err);
    // Not base64: the Azure client refuses the key, and must not quote it.
    let result = connect(
        Service::Azure,
        "az://box",
        &with_secrets(json!({"account_name": "acct"})),
    );
    if let Err(err) = result {
        clean_error("azure key", &err);
    }
    let result = connect(Service::Gcs, "gs://bucket", &with_secrets(json!({})));
    if let Err(err) = result {
        clean_error("gcs key", &err);
    }
}

#[test]
fn failed_requests_never_echo_credentials() {
    let port = closed_port();
    for endpoint in [
        format!("http://127.0.0.1:{port}"),
        format!("http://user:{SECRET}@127.0.0.1:{port}"),
    ] {
        let options = with_secrets(json!({
            "endpoint_url": endpoint,
            "s3_max_attempts": 1,
            "timeout_seconds": 2,
        }));
        let store = connect(Service::S3, "s3://bench/data", &options).unwrap();
        clean("endpoint in info", store.info().extra.as_str());
        let errors = [
            store.stat("k").unwrap_err(),
            store.open_read("k").err().unwrap(),
            store.list("", None, 10).unwrap_err(),
            store.delete("k").unwrap_err(),
            {
                let mut writer = store.open_write("k", &WriteOptions::default()).unwrap();
                writer.write(b"data").unwrap();
                writer.finish().unwrap_err()
            },
        ];
        for err in &errors {
            clean_error("request error", err);
            assert!(
                err.message.contains(&format!("127.0.0.1:{port}")),
                "names the endpoint: {err}"
            );
            assert!(
                err.message.contains("s3://bench/data"),
                "names the object: {err}"
            );
        }
    }
}

#[test]
fn the_redactor_removes_credentials_and_query_strings() {
    let redactor = Redactor::new([SECRET, ""]);
    let text = format!(
        "failed {SECRET} at https://acct.blob.core.windows.net/c/k?sv=2020&sig={SECRET}, \
         see (http://h:1/p?token=x) and http://plain/ok"
    );
    let scrubbed = redactor.scrub(&text);
    clean("scrubbed text", &scrubbed);
    assert_eq!(
        scrubbed,
        "failed <redacted> at https://acct.blob.core.windows.net/c/k, see (http://h:1/p) and http://plain/ok"
    );
    assert!(!format!("{redactor:?}").contains(SECRET));
}
