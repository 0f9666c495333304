//! Building the client of each service from the root URI, the storage options and the
//! environment (explicit options win over the environment). No request is made here: a bad
//! endpoint or missing bucket shows on the first operation, with the object named.

use std::{sync::Arc, time::Duration};

use dl_plugin_api::sdk::{log, Error, Result};
use object_store::{
    aws::{AmazonS3Builder, AmazonS3ConfigKey},
    azure::{AzureConfigKey, MicrosoftAzureBuilder},
    gcp::{GoogleCloudStorageBuilder, GoogleConfigKey},
    http::HttpBuilder,
    BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig,
};

use crate::{
    error::{seconds, Redactor},
    options::Options,
    store::{Remote, RemoteStore, Tuning, TRANSFER_SIZE},
    uri::{display_url, virtual_host, Root},
};

/// S3 and GCS refuse parts below 5 MiB (except the last).
pub const MIN_PART_SIZE_S3: u64 = 5 << 20;
/// S3's and GCS's largest part.
const MAX_PART_SIZE_S3: u64 = 5 << 30;
/// Azure's largest block.
const MAX_PART_SIZE_AZURE: u64 = 4000 << 20;
/// Room for backoff sleeps on top of the retry budget before the backstop deadline fires.
const DEADLINE_SLACK: Duration = Duration::from_secs(20);

/// The services this library reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Amazon S3 and S3-compatible stores.
    S3,
    /// Azure Blob Storage.
    Azure,
    /// Google Cloud Storage.
    Gcs,
    /// Plain HTTP/WebDAV servers.
    Http,
}

impl Service {
    /// URI schemes the service's components accept.
    pub fn schemes(self) -> &'static [&'static str] {
        match self {
            Service::S3 => &["s3"],
            Service::Azure => &["az", "azure"],
            Service::Gcs => &["gs"],
            Service::Http => &["http", "https"],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Service::S3 => "S3",
            Service::Azure => "Azure Blob Storage",
            Service::Gcs => "Google Cloud Storage",
            Service::Http => "HTTP",
        }
    }
}

/// A built client and what messages should call it.
struct Built {
    store: Arc<dyn ObjectStore>,
    endpoint: String,
    /// The bucket or container actually used (the URI may leave it to options).
    authority: String,
    /// Whether the service starts listings after a given key itself.
    native_offset: bool,
}

/// Connects the store at `root` with `options` (`storage.storage_options`).
pub fn connect(service: Service, root: &str, options: &serde_json::Value) -> Result<RemoteStore> {
    let root = Root::parse(root, service.schemes())?;
    let options = Options::parse(options)?;
    let redactor = Redactor::new(options.secrets());
    let tuning = tuning(service, &options)?;
    let built = match service {
        Service::S3 => s3(&root, &options),
        Service::Azure => azure(&root, &options),
        Service::Gcs => gcs(&root, &options),
        Service::Http => http(&root, &options),
    }
    .map_err(|err| Error::new(err.kind, redactor.scrub(&err.message)))?;
    let remote = Remote {
        store: built.store,
        scheme: root.scheme,
        authority: built.authority,
        prefix: root.prefix,
        endpoint: redactor.scrub(&built.endpoint),
        tuning,
        redactor,
        sorted_listing: service != Service::Http,
        native_offset: built.native_offset,
        multipart: service != Service::Http,
    };
    log::debug(
        "object-store",
        &format!(
            "{} at {}: {} attempts per request, timeout {} s, parts of {} bytes, {} in flight",
            remote.uri(""),
            remote.endpoint,
            options.max_attempts,
            seconds(options.timeout.as_secs_f64()),
            remote.tuning.part_size,
            remote.tuning.max_concurrency
        ),
    );
    Ok(RemoteStore::new(remote))
}

/// Request sizes and limits from the options, checked against the service's part limits.
fn tuning(service: Service, options: &Options) -> Result<Tuning> {
    let (min, max) = match service {
        Service::S3 | Service::Gcs => (MIN_PART_SIZE_S3, MAX_PART_SIZE_S3),
        Service::Azure => (1, MAX_PART_SIZE_AZURE),
        Service::Http => (1, u64::MAX),
    };
    let part = options.part_size;
    if service != Service::Http && !(min..=max).contains(&part) {
        let why = if part < min {
            format!(
                "{} needs parts of at least {min} bytes (5 MiB) except the last",
                service.name()
            )
        } else {
            format!("{} takes parts of at most {max} bytes", service.name())
        };
        return Err(Error::invalid_config(format!(
            "storage_options.part_size_bytes = {part}: {why}"
        )));
    }
    Ok(Tuning {
        part_size: usize::try_from(part).unwrap_or(usize::MAX),
        max_concurrency: options.max_concurrent_parts,
        transfer_size: TRANSFER_SIZE,
        timeout: options.timeout,
        deadline: options.retry_timeout
            + options.timeout
            + options.connect_timeout
            + DEADLINE_SLACK,
    })
}

/// `s3_max_attempts` counts the first attempt; object_store counts retries.
fn retry_config(options: &Options) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: options.max_attempts.saturating_sub(1) as usize,
        retry_timeout: options.retry_timeout,
    }
}

/// A duration as object_store's configuration parser reads it.
fn duration_text(duration: Duration) -> String {
    format!("{}ms", duration.as_millis().max(1))
}

/// The client settings every service shares, as configuration keys so that those taken from
/// the environment (proxies, `*_ALLOW_HTTP`) stay in force.
fn client_settings(options: &Options) -> [(ClientConfigKey, String); 2] {
    [
        (ClientConfigKey::Timeout, duration_text(options.timeout)),
        (
            ClientConfigKey::ConnectTimeout,
            duration_text(options.connect_timeout),
        ),
    ]
}

fn is_plain_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

fn is_true(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on"
    )
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn build_error(root: &Root, service: Service, err: impl std::fmt::Display) -> Error {
    Error::invalid_config(format!(
        "{}://{}: cannot set up the {} client: {err}",
        root.scheme,
        root.authority,
        service.name()
    ))
}

fn need_bucket(root: &Root, what: &str) -> Result<()> {
    if root.authority.is_empty() {
        return Err(Error::invalid_config(format!(
            "storage root {}:///{}: no {what}; write {}://<{what}>[/<prefix>]",
            root.scheme, root.prefix, root.scheme
        )));
    }
    Ok(())
}

fn s3(root: &Root, options: &Options) -> Result<Built> {
    need_bucket(root, "bucket")?;
    let bucket = &root.authority;
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(endpoint) = &options.endpoint_url {
        builder = builder.with_endpoint(endpoint);
    }
    let mut endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    } else if endpoint.is_some()
        && builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .is_none()
    {
        // S3-compatible servers rarely care, but requests must be signed for some region.
        builder = builder.with_region("us-east-1");
    }
    let region = builder
        .get_config_value(&AmazonS3ConfigKey::Region)
        .unwrap_or_else(|| "us-east-1".into());
    if endpoint.as_deref().is_some_and(is_plain_http) {
        builder = builder.with_allow_http(true);
    }
    let virtual_hosted = match options.force_path_style {
        Some(path_style) => {
            builder = builder.with_virtual_hosted_style_request(!path_style);
            !path_style
        }
        None => builder
            .get_config_value(&AmazonS3ConfigKey::VirtualHostedStyleRequest)
            .is_some_and(|v| is_true(&v)),
    };
    // object_store expects a virtual-hosted endpoint to name the bucket already; users write
    // the service endpoint, as boto3 takes it.
    if let (true, Some(given)) = (virtual_hosted, &endpoint) {
        let rewritten = virtual_host(given, bucket);
        builder = builder.with_endpoint(&rewritten);
        endpoint = Some(rewritten);
    }
    match (&options.access_key_id, &options.secret_access_key) {
        (Some(id), Some(secret)) => {
            builder = builder
                .with_access_key_id(id.expose())
                .with_secret_access_key(secret.expose());
        }
        (None, None) => {}
        _ => {
            return Err(Error::invalid_config(
                "storage_options: give both access_key_id and secret_access_key, or neither \
                 (then AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the instance's role apply)",
            ))
        }
    }
    if let Some(token) = &options.session_token {
        builder = builder.with_token(token.expose());
    }
    for (key, value) in client_settings(options) {
        builder = builder.with_config(AmazonS3ConfigKey::Client(key), value);
    }
    let store = builder
        .with_retry(retry_config(options))
        .build()
        .map_err(|err| build_error(root, Service::S3, err))?;
    let endpoint = match endpoint {
        Some(endpoint) => display_url(&endpoint),
        None if virtual_hosted => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        None => format!("https://s3.{region}.amazonaws.com"),
    };
    Ok(Built {
        store: Arc::new(store),
        endpoint,
        authority: bucket.clone(),
        native_offset: true,
    })
}

/// The container: `storage_options.container`, else the URI's, else `AZURE_BLOB_CONTAINER`,
/// else `AZURE_CONTAINER_NAME` (read by the builder).
fn azure_container(
    root: &Root,
    options: &Options,
    builder: &MicrosoftAzureBuilder,
) -> Result<String> {
    let in_uri = (!root.authority.is_empty()).then(|| root.authority.clone());
    match (&options.container, in_uri) {
        (Some(given), Some(uri)) if *given != uri => Err(Error::invalid_config(format!(
            "storage root {}://{uri}: names container {uri:?} but storage_options.container is {given:?}; \
             drop one of them",
            root.scheme
        ))),
        (Some(given), _) => Ok(given.clone()),
        (None, Some(uri)) => Ok(uri),
        (None, None) => env("AZURE_BLOB_CONTAINER")
            .or_else(|| builder.get_config_value(&AzureConfigKey::ContainerName))
            .ok_or_else(|| {
                Error::invalid_config(format!(
                    "storage root {}:///{}: no container; write {}://<container>/<prefix>, or set \
                     storage_options.container or AZURE_BLOB_CONTAINER",
                    root.scheme, root.prefix, root.scheme
                ))
            }),
    }
}

/// Azurite's well-known development account and key (public, in Microsoft's documentation).
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn azure(root: &Root, options: &Options) -> Result<Built> {
    let mut builder = MicrosoftAzureBuilder::from_env();
    if let Some(account) = &options.account_name {
        builder = builder.with_account(account);
    } else if builder
        .get_config_value(&AzureConfigKey::AccountName)
        .is_none()
    {
        // dl-driver's older name for the account.
        if let Some(account) = env("AZURE_BLOB_ACCOUNT") {
            builder = builder.with_account(account);
        }
    }
    if let Some(key) = &options.account_key {
        builder = builder.with_access_key(key.expose());
    }
    if let Some(endpoint) = &options.endpoint_url {
        builder = builder.with_endpoint(endpoint.clone());
    }
    let emulator = match options.use_emulator {
        Some(emulator) => emulator,
        None => builder
            .get_config_value(&AzureConfigKey::UseEmulator)
            .is_some_and(|v| is_true(&v)),
    };
    let mut endpoint = builder.get_config_value(&AzureConfigKey::Endpoint);
    if let (true, Some(given)) = (emulator, &endpoint) {
        // object_store's emulator mode only reaches the port in AZURITE_BLOB_STORAGE_URL; an
        // Azurite elsewhere is addressed as an ordinary account at `<endpoint>/<account>`.
        let account = builder
            .get_config_value(&AzureConfigKey::AccountName)
            .unwrap_or_else(|| AZURITE_ACCOUNT.into());
        let trimmed = given.trim_end_matches('/');
        let service = if trimmed.ends_with(&format!("/{account}")) {
            trimmed.to_string()
        } else {
            format!("{trimmed}/{account}")
        };
        if builder
            .get_config_value(&AzureConfigKey::AccessKey)
            .is_none()
        {
            builder = builder.with_access_key(AZURITE_KEY);
        }
        builder = builder
            .with_use_emulator(false)
            .with_account(account)
            .with_endpoint(service.clone());
        endpoint = Some(service);
    } else {
        builder = builder.with_use_emulator(emulator);
    }
    if endpoint.as_deref().is_some_and(is_plain_http) {
        builder = builder.with_allow_http(true);
    }
    let container = azure_container(root, options, &builder)?;
    builder = builder.with_container_name(&container);
    let account = builder.get_config_value(&AzureConfigKey::AccountName);
    if !emulator && account.is_none() {
        return Err(Error::invalid_config(format!(
            "{}://{container}: no storage account; set storage_options.account_name, \
             AZURE_STORAGE_ACCOUNT_NAME or AZURE_BLOB_ACCOUNT (or use_emulator for Azurite)",
            root.scheme
        )));
    }
    for (key, value) in client_settings(options) {
        builder = builder.with_config(AzureConfigKey::Client(key), value);
    }
    let store = builder
        .with_retry(retry_config(options))
        .build()
        .map_err(|err| build_error(root, Service::Azure, err))?;
    let endpoint = match (endpoint, account) {
        (Some(endpoint), _) => display_url(&endpoint),
        (None, account) if emulator => {
            let base =
                env("AZURITE_BLOB_STORAGE_URL").unwrap_or_else(|| "http://127.0.0.1:10000".into());
            let account = account.unwrap_or_else(|| AZURITE_ACCOUNT.into());
            format!("{}/{account}", display_url(&base))
        }
        (None, Some(account)) => format!("https://{account}.blob.core.windows.net"),
        (None, None) => "https://<account>.blob.core.windows.net".into(),
    };
    Ok(Built {
        store: Arc::new(store),
        endpoint,
        authority: container,
        // Azurite ignores `startFrom`: pages then filter a listing from the start.
        native_offset: !emulator,
    })
}

fn gcs(root: &Root, options: &Options) -> Result<Built> {
    need_bucket(root, "bucket")?;
    let mut builder = GoogleCloudStorageBuilder::from_env().with_bucket_name(&root.authority);
    if let Some(path) = &options.service_account_path {
        builder = builder.with_service_account_path(path);
    }
    if let Some(key) = &options.service_account_key {
        builder = builder.with_service_account_key(key.expose());
    }
    if let Some(endpoint) = &options.endpoint_url {
        builder = builder.with_base_url(endpoint);
    }
    let endpoint = builder.get_config_value(&GoogleConfigKey::BaseUrl);
    if endpoint.as_deref().is_some_and(is_plain_http) {
        builder = builder.with_config(GoogleConfigKey::Client(ClientConfigKey::AllowHttp), "true");
    }
    for (key, value) in client_settings(options) {
        builder = builder.with_config(GoogleConfigKey::Client(key), value);
    }
    let store = builder
        .with_retry(retry_config(options))
        .build()
        .map_err(|err| build_error(root, Service::Gcs, err))?;
    Ok(Built {
        store: Arc::new(store),
        endpoint: endpoint.map_or_else(
            || "https://storage.googleapis.com".into(),
            |e| display_url(&e),
        ),
        authority: root.authority.clone(),
        native_offset: true,
    })
}

fn http(root: &Root, options: &Options) -> Result<Built> {
    need_bucket(root, "host")?;
    // The path stays the store's prefix, so keys and listings work as for the clouds.
    let origin = format!("{}://{}", root.scheme, root.authority);
    let mut builder = HttpBuilder::new().with_url(origin.clone());
    if root.scheme == "http" {
        builder = builder.with_config(ClientConfigKey::AllowHttp, "true");
    }
    for (key, value) in client_settings(options) {
        builder = builder.with_config(key, value);
    }
    let store = builder
        .with_retry(retry_config(options))
        .build()
        .map_err(|err| build_error(root, Service::Http, err))?;
    Ok(Built {
        store: Arc::new(store),
        endpoint: origin,
        authority: root.authority.clone(),
        native_offset: true,
    })
}
