//! The stores driven through the ABI adapters the exported library hands to the host.

use dl_plugin_api::abi::{self, ComponentKind};

use super::*;

#[test]
fn stores_work_through_the_abi() {
    let dir = tempfile::tempdir().unwrap();
    for (component, root) in [
        (
            dl_plugin_api::sdk::export::backend_component(FileBackend, "test"),
            dir.path().display().to_string(),
        ),
        (
            dl_plugin_api::sdk::export::backend_component(DirectBackend, "test"),
            format!("direct://{}", dir.path().display()),
        ),
    ] {
        assert_eq!(component.info.kind, ComponentKind::BACKEND);
        assert_eq!(component.info.options_schema.as_str(), "[]");
        let backend = component.backend.into_option().expect("backend object");
        let store = backend
            .connect(root.as_str().into(), "".into())
            .into_result()
            .unwrap();
        let name = component.info.name.to_string();
        let key = format!("{name}/obj");
        let options = abi::WriteOptions {
            size_hint: u64::MAX,
            fsync: true,
            extra: "".into(),
        };
        let mut writer = store
            .open_write(key.as_str().into(), &options)
            .into_result()
            .unwrap();
        writer
            .write(pattern(5000, 9).as_slice().into())
            .into_result()
            .unwrap();
        assert_eq!(writer.finish().into_result().unwrap().size, 5000);
        assert_eq!(
            store
                .stat(key.as_str().into())
                .into_result()
                .unwrap()
                .into_option()
                .map(|m| m.size),
            Some(5000)
        );

        let mut reader = store.open_read(key.as_str().into()).into_result().unwrap();
        let mut buf = BlockBuf::new(8192).unwrap();
        assert_eq!(
            reader
                .read_at(0, buf.whole_mut().into())
                .into_result()
                .unwrap(),
            5000
        );
        assert!(buf.whole_mut()[..5000] == pattern(5000, 9));

        let page = store
            .list(format!("{name}/").as_str().into(), "".into(), 10)
            .into_result()
            .unwrap();
        assert_eq!(page.entries.len(), 1);
        assert!(page.next_cursor.is_empty());
        let err = store
            .open_read("missing".into())
            .into_result()
            .err()
            .expect("missing object");
        assert_eq!(err.kind, abi::ErrorKind::NOT_FOUND);
        store.delete(key.as_str().into()).into_result().unwrap();
    }
}
