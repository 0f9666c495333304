//! The glue [`crate::export_plugin!`] expands to: adapters from the SDK traits to the ABI
//! interfaces, with every call run under `catch_unwind` so a panic becomes an error.

use std::{
    cell::RefCell,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::Once,
};

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    sabi_trait::TD_Opaque,
    std_types::{RBox, RErr, ROk, ROption, RSlice, RSliceMut, RStr, RString, RVec},
    RMut,
};

use super::{
    BackendPlugin, DatasetSpec, Error, FileSpec, FormatPlugin, FormatSession, ObjectReader,
    ObjectWriter, Output, Result, SampleReader, Source, Store, WriteOptions,
};
use crate::abi::{
    self, BackendComponent_TO, CheckReport, Component, ComponentInfo, ComponentKind, ErrorKind,
    FormatComponent_TO, FormatSession_TO, GenerateOutput_TO, HostServices, LibraryInfo, ListEntry,
    ListPage, ObjectMeta, ObjectReader_TO, ObjectWriter_TO, PluginError, PluginModule,
    PluginModule_Ref, PluginResult, SampleReader_TO, Source_TO, StoreInfo, Store_TO,
};

thread_local! {
    /// Message and location of the last panic on this thread, recorded by the library's hook.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `body`, turning an error into a [`PluginError`] and a panic into one of kind `PANICKED`.
pub fn guard<T>(operation: &str, body: impl FnOnce() -> Result<T>) -> PluginResult<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => ROk(value),
        Ok(Err(err)) => RErr(err.into()),
        Err(payload) => {
            let recorded = LAST_PANIC.with(|last| last.borrow_mut().take());
            let message = recorded.unwrap_or_else(|| payload_text(payload.as_ref()));
            RErr(PluginError {
                kind: ErrorKind::PANICKED,
                message: format!("panicked in {operation}: {message}").into(),
                retryable: false,
            })
        }
    }
}

/// The message of a panic payload (`panic!` gives a `&str` or a `String`).
fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into())
}

/// Holds a plugin object whose `Drop` runs under `catch_unwind`: the ABI's destructor shims
/// would end the process on a panic.
struct Contained<T>(std::mem::ManuallyDrop<T>);

impl<T> Contained<T> {
    fn new(value: T) -> Self {
        Contained(std::mem::ManuallyDrop::new(value))
    }
}

impl<T> std::ops::Deref for Contained<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Contained<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> Drop for Contained<T> {
    fn drop(&mut self) {
        // SAFETY: dropped exactly once, here; the value is not used afterwards.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
            std::mem::ManuallyDrop::drop(&mut self.0)
        }));
        if dropped.is_err() {
            let text = LAST_PANIC
                .with(|last| last.borrow_mut().take())
                .unwrap_or_default();
            super::log::warn(
                "sdk",
                &format!("a plugin object panicked while being dropped: {text}"),
            );
        }
    }
}

/// `PluginModule::init` of every library: keeps the host's services and replaces this
/// library's panic hook (each shared library has its own) so panics are recorded, not printed.
pub extern "C" fn init_plugin(host: HostServices) -> PluginResult<()> {
    static HOOK: Once = Once::new();
    super::log::set_host(host);
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let payload = payload_text(info.payload());
            let text = match info.location() {
                Some(at) => format!("{payload} (at {}:{})", at.file(), at.line()),
                None => payload,
            };
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(text));
        }));
    });
    ROk(())
}

/// Builds the [`LibraryInfo`] of the library being exported.
pub fn library_info(
    package: &str,
    version: &str,
    description: &str,
    license: &str,
    panic_unwind: bool,
) -> LibraryInfo {
    LibraryInfo {
        package: package.into(),
        version: version.into(),
        description: description.into(),
        license: license.into(),
        abi_major: abi::ABI_MAJOR,
        api_version: env!("CARGO_PKG_VERSION").into(),
        panic_unwind,
    }
}

/// Builds the root module from the library's two exported functions.
pub fn root_module(
    library: extern "C" fn() -> LibraryInfo,
    components: extern "C" fn() -> PluginResult<RVec<Component>>,
) -> PluginModule_Ref {
    PluginModule {
        library,
        init: init_plugin,
        components,
    }
    .leak_into_prefix()
}

/// Collects the components of one library.
pub struct ComponentList {
    version: &'static str,
    components: Vec<Component>,
}

impl ComponentList {
    /// Adds a format component.
    pub fn format(&mut self, plugin: impl FormatPlugin) {
        self.components.push(format_component(plugin, self.version));
    }

    /// Adds a backend component.
    pub fn backend(&mut self, plugin: impl BackendPlugin) {
        self.components
            .push(backend_component(plugin, self.version));
    }
}

/// Runs the library's component constructors under [`guard`].
pub fn components(
    version: &'static str,
    build: impl FnOnce(&mut ComponentList),
) -> PluginResult<RVec<Component>> {
    guard("components", || {
        let mut list = ComponentList {
            version,
            components: Vec::new(),
        };
        build(&mut list);
        Ok(list.components.into())
    })
}

fn options_json(options: &[super::OptionSpec]) -> RString {
    serde_json::to_string(options)
        .unwrap_or_else(|_| "[]".into())
        .into()
}

/// Wraps a format plugin as an ABI component.
pub fn format_component(plugin: impl FormatPlugin, version: &str) -> Component {
    let description = plugin.describe();
    Component {
        info: ComponentInfo {
            kind: ComponentKind::FORMAT,
            name: description.name.into(),
            version: version.into(),
            description: description.description.into(),
            capabilities: description.capabilities,
            extension: description.extension.into(),
            options_schema: options_json(&description.options),
        },
        format: ROption::RSome(FormatComponent_TO::from_value(
            FormatAdapter(plugin),
            TD_Opaque,
        )),
        backend: ROption::RNone,
    }
}

/// Wraps a backend plugin as an ABI component.
pub fn backend_component(plugin: impl BackendPlugin, version: &str) -> Component {
    let description = plugin.describe();
    Component {
        info: ComponentInfo {
            kind: ComponentKind::BACKEND,
            name: description.name.into(),
            version: version.into(),
            description: description.description.into(),
            capabilities: description.capabilities,
            extension: RString::new(),
            options_schema: options_json(&description.options),
        },
        format: ROption::RNone,
        backend: ROption::RSome(BackendComponent_TO::from_value(
            BackendAdapter(plugin),
            TD_Opaque,
        )),
    }
}

struct FormatAdapter<F>(F);

impl<F: FormatPlugin> abi::FormatComponent for FormatAdapter<F> {
    fn configure(
        &self,
        dataset_json: RStr<'_>,
    ) -> PluginResult<FormatSession_TO<'static, RBox<()>>> {
        guard("configure", || {
            let spec = DatasetSpec::from_json(dataset_json.as_str())?;
            let session = self.0.configure(&spec)?;
            Ok(FormatSession_TO::from_value(
                SessionAdapter(Contained::new(session)),
                TD_Opaque,
            ))
        })
    }
}

struct SessionAdapter(Contained<Box<dyn FormatSession>>);

impl abi::FormatSession for SessionAdapter {
    fn file_size(&self, file: &abi::FileSpec) -> PluginResult<ROption<u64>> {
        guard("file_size", || {
            Ok(self.0.file_size(&FileSpec::from(file))?.into())
        })
    }

    fn generate(
        &self,
        file: &abi::FileSpec,
        out: GenerateOutput_TO<'_, RMut<'_, ()>>,
    ) -> PluginResult<u64> {
        guard("generate", || {
            let mut out = out;
            let mut output = Output::new(&mut out);
            self.0.generate(&FileSpec::from(file), &mut output)?;
            Ok(output.written())
        })
    }

    fn open(
        &self,
        file: &abi::FileSpec,
        source: Source_TO<'static, RBox<()>>,
    ) -> PluginResult<SampleReader_TO<'static, RBox<()>>> {
        guard("open", || {
            let reader = self.0.open(&FileSpec::from(file), Source::new(source))?;
            Ok(SampleReader_TO::from_value(
                ReaderAdapter(Contained::new(reader)),
                TD_Opaque,
            ))
        })
    }

    fn check(
        &self,
        file: &abi::FileSpec,
        source: Source_TO<'static, RBox<()>>,
    ) -> PluginResult<CheckReport> {
        guard("check", || {
            self.0.check(&FileSpec::from(file), Source::new(source))
        })
    }

    fn sidecar_keys(&self, file: &abi::FileSpec) -> PluginResult<RVec<RString>> {
        guard("sidecar_keys", || {
            let keys = self.0.sidecar_keys(&FileSpec::from(file))?;
            Ok(keys.into_iter().map(RString::from).collect())
        })
    }

    fn extension(&self, name: RStr<'_>, args_json: RStr<'_>) -> PluginResult<RString> {
        guard("extension", || {
            let args = parse_json(args_json.as_str())?;
            Ok(self.0.extension(name.as_str(), &args)?.to_string().into())
        })
    }
}

/// Parses JSON text from the host; empty text means `null`.
fn parse_json(text: &str) -> Result<serde_json::Value> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(text)
        .map_err(|err| Error::invalid_config(format!("arguments are not JSON: {err}")))
}

struct ReaderAdapter(Contained<Box<dyn SampleReader>>);

impl abi::SampleReader for ReaderAdapter {
    fn read_sample(&mut self, sample: u64) -> PluginResult<()> {
        guard("read_sample", || self.0.read_sample(sample))
    }
}

struct BackendAdapter<B>(B);

impl<B: BackendPlugin> abi::BackendComponent for BackendAdapter<B> {
    fn connect(
        &self,
        root: RStr<'_>,
        options_json: RStr<'_>,
    ) -> PluginResult<Store_TO<'static, RBox<()>>> {
        guard("connect", || {
            let text = options_json.as_str();
            let options = if text.trim().is_empty() {
                serde_json::Value::Object(Default::default())
            } else {
                serde_json::from_str(text).map_err(|err| {
                    Error::invalid_config(format!("storage options are not JSON: {err}"))
                })?
            };
            let store = self.0.connect(root.as_str(), &options)?;
            Ok(Store_TO::from_value(
                StoreAdapter(Contained::new(store)),
                TD_Opaque,
            ))
        })
    }
}

struct StoreAdapter(Contained<Box<dyn Store>>);

impl abi::Store for StoreAdapter {
    fn info(&self) -> StoreInfo {
        match guard("info", || Ok(self.0.info())) {
            ROk(info) => info,
            RErr(_) => StoreInfo::new(1, 1 << 20),
        }
    }

    fn stat(&self, key: RStr<'_>) -> PluginResult<ROption<ObjectMeta>> {
        guard("stat", || Ok(self.0.stat(key.as_str())?.into()))
    }

    fn open_read(&self, key: RStr<'_>) -> PluginResult<ObjectReader_TO<'static, RBox<()>>> {
        guard("open_read", || {
            let reader = self.0.open_read(key.as_str())?;
            Ok(ObjectReader_TO::from_value(
                ObjectReaderAdapter(Contained::new(reader)),
                TD_Opaque,
            ))
        })
    }

    fn open_write(
        &self,
        key: RStr<'_>,
        options: &abi::WriteOptions,
    ) -> PluginResult<ObjectWriter_TO<'static, RBox<()>>> {
        guard("open_write", || {
            let options = WriteOptions {
                size_hint: (options.size_hint != u64::MAX).then_some(options.size_hint),
                fsync: options.fsync,
                extra: serde_json::from_str(options.extra.as_str())
                    .unwrap_or(serde_json::Value::Null),
            };
            let writer = self.0.open_write(key.as_str(), &options)?;
            Ok(ObjectWriter_TO::from_value(
                ObjectWriterAdapter(Contained::new(writer)),
                TD_Opaque,
            ))
        })
    }

    fn list(&self, prefix: RStr<'_>, cursor: RStr<'_>, max: u32) -> PluginResult<ListPage> {
        guard("list", || {
            let cursor = (!cursor.is_empty()).then_some(cursor.as_str());
            let page = self.0.list(prefix.as_str(), cursor, max)?;
            Ok(ListPage {
                entries: page
                    .entries
                    .into_iter()
                    .map(|(key, size)| ListEntry {
                        key: key.into(),
                        size,
                    })
                    .collect(),
                next_cursor: page.next_cursor.unwrap_or_default().into(),
            })
        })
    }

    fn delete(&self, key: RStr<'_>) -> PluginResult<()> {
        guard("delete", || self.0.delete(key.as_str()))
    }

    fn local_path(&self, key: RStr<'_>) -> ROption<RString> {
        match guard("local_path", || Ok(self.0.local_path(key.as_str()))) {
            ROk(path) => path
                .map(|p| RString::from(p.to_string_lossy().into_owned()))
                .into(),
            RErr(_) => ROption::RNone,
        }
    }

    fn extension(&self, name: RStr<'_>, args_json: RStr<'_>) -> PluginResult<RString> {
        guard("extension", || {
            let args = parse_json(args_json.as_str())?;
            Ok(self.0.extension(name.as_str(), &args)?.to_string().into())
        })
    }
}

struct ObjectReaderAdapter(Contained<Box<dyn ObjectReader>>);

impl abi::ObjectReader for ObjectReaderAdapter {
    fn size(&mut self) -> PluginResult<u64> {
        guard("size", || self.0.size())
    }

    fn read_at(&mut self, offset: u64, mut buf: RSliceMut<'_, u8>) -> PluginResult<u64> {
        guard("read_at", || self.0.read_at(offset, buf.as_mut_slice()))
    }
}

struct ObjectWriterAdapter(Contained<Box<dyn ObjectWriter>>);

impl abi::ObjectWriter for ObjectWriterAdapter {
    fn write(&mut self, data: RSlice<'_, u8>) -> PluginResult<()> {
        guard("write", || self.0.write(data.as_slice()))
    }

    fn finish(&mut self) -> PluginResult<ObjectMeta> {
        guard("finish", || self.0.finish())
    }

    fn abort(&mut self) {
        let _ = guard("abort", || {
            self.0.abort();
            Ok(())
        });
    }
}

/// Exports a plugin library: its metadata (from Cargo) and its components.
///
/// ```text
/// dl_plugin_api::export_plugin! {
///     description: "NPZ files as numpy.savez writes them",
///     formats: [NpzFormat],
///     backends: [],
/// }
/// ```
#[macro_export]
macro_rules! export_plugin {
    (
        description: $description:expr,
        formats: [$($format:expr),* $(,)?],
        backends: [$($backend:expr),* $(,)?] $(,)?
    ) => {
        #[no_mangle]
        #[doc(hidden)]
        pub static _1as_0lib_1header_0root_bmodule_bloader:
            $crate::__private::abi_stable::library::LibHeader = {
            extern "C" fn __dl_plugin_library() -> $crate::abi::LibraryInfo {
                $crate::sdk::export::library_info(
                    env!("CARGO_PKG_NAME"),
                    env!("CARGO_PKG_VERSION"),
                    $description,
                    env!("CARGO_PKG_LICENSE"),
                    cfg!(panic = "unwind"),
                )
            }
            extern "C" fn __dl_plugin_components() -> $crate::abi::PluginResult<
                $crate::__private::abi_stable::std_types::RVec<$crate::abi::Component>,
            > {
                #[allow(unused_variables)]
                $crate::sdk::export::components(env!("CARGO_PKG_VERSION"), |list| {
                    $( list.format($format); )*
                    $( list.backend($backend); )*
                })
            }
            fn __dl_plugin_root() -> $crate::abi::PluginModule_Ref {
                $crate::sdk::export::root_module(__dl_plugin_library, __dl_plugin_components)
            }
            extern "C" fn __dl_plugin_loader() -> $crate::__private::abi_stable::library::RootModuleResult {
                $crate::__private::abi_stable::library::__call_root_module_loader(__dl_plugin_root)
            }
            unsafe {
                $crate::__private::abi_stable::library::LibHeader::from_constructor::<$crate::abi::PluginModule_Ref>(
                    __dl_plugin_loader,
                    $crate::__private::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };
    };
}
