//! The components as the host sees them through the ABI adapters.

use dl_plugin_api::{
    abi::{self, ComponentKind},
    sdk::{backend_caps, export::backend_component},
};

use crate::{AzureBackend, GcsBackend, HttpBackend, S3Backend};

#[test]
fn every_scheme_is_a_backend_component() {
    let components = [
        backend_component(S3Backend, "test"),
        backend_component(AzureBackend("az"), "test"),
        backend_component(AzureBackend("azure"), "test"),
        backend_component(GcsBackend, "test"),
        backend_component(HttpBackend("http"), "test"),
        backend_component(HttpBackend("https"), "test"),
    ];
    let names: Vec<String> = components.iter().map(|c| c.info.name.to_string()).collect();
    assert_eq!(names, ["s3", "az", "azure", "gs", "http", "https"]);
    for component in &components {
        assert_eq!(component.info.kind, ComponentKind::BACKEND);
        let caps = component.info.capabilities;
        let wanted =
            backend_caps::READ | backend_caps::WRITE | backend_caps::LIST | backend_caps::DELETE;
        assert_eq!(caps & wanted, wanted, "{}", component.info.name);
        let schema: serde_json::Value =
            serde_json::from_str(component.info.options_schema.as_str()).unwrap();
        let keys: Vec<&str> = schema
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert!(keys.contains(&"s3_max_attempts"), "{keys:?}");
    }
}

#[test]
fn connect_through_the_abi() {
    let component = backend_component(S3Backend, "test");
    let backend = component.backend.into_option().expect("backend object");
    let store = backend
        .connect(
            "s3://bench/data".into(),
            r#"{"endpoint_url": "http://127.0.0.1:9", "s3_force_path_style": "True"}"#.into(),
        )
        .into_result()
        .unwrap();
    let info = store.info();
    assert_eq!((info.alignment, info.transfer_size), (1, 8 << 20));

    let err = backend
        .connect("s3://bench".into(), r#"{"s3_max_attempts": "many"}"#.into())
        .into_result()
        .err()
        .expect("bad option");
    assert_eq!(err.kind, abi::ErrorKind::INVALID_CONFIG);
    assert!(err.message.contains("s3_max_attempts"), "{}", err.message);
    let err = backend
        .connect("gs://bench".into(), "".into())
        .into_result()
        .err()
        .expect("wrong scheme");
    assert_eq!(err.kind, abi::ErrorKind::INVALID_CONFIG);
}
