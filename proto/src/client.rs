//! A typed client of the auth server's gRPC API over mutual TLS.

mod recorder;

pub use recorder::SessionRecorder;

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use tonic::codegen::http::Uri;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::auth::{
    DeleteRoleRequest, DeleteUserRequest, Event, GetRoleRequest, GetRolesRequest, GetTokensRequest,
    GetUserRequest, GetUsersRequest, Operation, PingRequest, PingResponse, Watch, WatchKind,
};
use crate::error::{Error, Result};
use crate::services::{AccessRequestFilter, AccessRequestV3, ProvisionTokenV2, RoleV3, UserV2};
use crate::tls::{load_tls_config, TlsFiles};
use crate::AuthServiceClient;

/// Port used when an address names none.
const DEFAULT_PORT: u16 = 3025;

/// How long establishing the connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many items the methods that read a whole listing ask for per call.
pub const PAGE_SIZE: u32 = 500;

/// One page of a paged listing (`Limit` / `StartAfter` / `NextStartAfter`).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items. A page may be short, or empty, while more follow (a filtered listing
    /// examines a bounded number of stored items per call): only `next` says.
    pub items: Vec<T>,
    /// The `StartAfter` of the next page; `None` when there are no more items.
    pub next: Option<String>,
}

impl<T> Page<T> {
    fn new(items: Vec<T>, next_start_after: String) -> Self {
        Page {
            items,
            next: (!next_start_after.is_empty()).then_some(next_start_after),
        }
    }
}

/// Reads every page of a listing: `fetch` gets each `StartAfter` (empty first) and answers
/// the page there; `each` gets each page's items as they arrive (its error ends the
/// listing).
pub async fn for_each_page<T, E, F, Fut>(
    mut fetch: F,
    mut each: impl FnMut(Vec<T>) -> std::result::Result<(), E>,
) -> std::result::Result<(), E>
where
    E: From<Error>,
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>>>,
{
    let mut start_after = String::new();
    loop {
        let page = fetch(start_after).await?;
        each(page.items)?;
        match page.next {
            Some(next) => start_after = next,
            None => return Ok(()),
        }
    }
}

/// Every item of a listing, read a page at a time with `fetch` (see [`for_each_page`]).
async fn collect_pages<T, F, Fut>(fetch: F) -> Result<Vec<T>>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>>>,
{
    let mut all = Vec::new();
    for_each_page(fetch, |items| {
        all.extend(items);
        Ok::<_, Error>(())
    })
    .await?;
    Ok(all)
}

/// A connection to the auth server. Cheap to clone; clones share the
/// connection.
///
/// The convenience methods cover common calls; every RPC is reachable through
/// [`Client::rpc`] or by dereferencing to the generated [`AuthServiceClient`].
#[derive(Clone, Debug)]
pub struct Client {
    inner: AuthServiceClient<Channel>,
    channel: Channel,
}

impl Client {
    /// Connects to `addr` (`host:port`, `host` for port 3025, or
    /// `https://host:port`) with the identity in `files`. The connection and
    /// TLS handshake happen now, so an unreachable server or a refused
    /// certificate is reported here or at the first call.
    pub async fn connect(addr: &str, files: &TlsFiles) -> Result<Self> {
        Self::connect_with(addr, load_tls_config(files)?).await
    }

    /// Connects to `addr` with a ready TLS configuration.
    pub async fn connect_with(addr: &str, tls: ClientTlsConfig) -> Result<Self> {
        let uri = endpoint_uri(addr)?;
        let connect_error = |source| Error::Connect {
            addr: addr.to_owned(),
            source,
        };
        let channel = Endpoint::from(uri)
            .tls_config(tls)
            .map_err(connect_error)?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(connect_error)?;
        Ok(Self::from_channel(channel))
    }

    /// Connects to `addr` without a client certificate, verifying the server with the
    /// cluster's host CA certificates `host_ca_pem` (`pctl auth export --type tls-host`).
    /// Such a connection can only join (RegisterUsingToken); every other RPC answers
    /// UNAUTHENTICATED.
    pub async fn connect_to_join(addr: &str, host_ca_pem: &str) -> Result<Self> {
        let tls = ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(host_ca_pem))
            .domain_name(crate::AUTH_SERVER_NAME);
        Self::connect_with(addr, tls).await
    }

    /// Wraps an already established channel.
    pub fn from_channel(channel: Channel) -> Self {
        Client {
            inner: AuthServiceClient::new(channel.clone()),
            channel,
        }
    }

    /// The connection itself, for calls the generated client does not make (e.g. by
    /// method path with another codec).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The generated client, for any RPC (a clone sharing the connection).
    pub fn rpc(&self) -> AuthServiceClient<Channel> {
        self.inner.clone()
    }

    /// Returns the cluster name and server version.
    pub async fn ping(&self) -> Result<PingResponse> {
        Ok(self.rpc().ping(PingRequest {}).await?.into_inner())
    }

    /// Returns one user, with its secrets if asked and allowed.
    pub async fn get_user(&self, name: &str, with_secrets: bool) -> Result<UserV2> {
        let request = GetUserRequest {
            name: name.to_owned(),
            with_secrets,
        };
        Ok(self.rpc().get_user(request).await?.into_inner())
    }

    /// Returns every user (the server streams them, reading its store a page at a time).
    pub async fn get_users(&self, with_secrets: bool) -> Result<Vec<UserV2>> {
        let mut stream = self.users_stream(with_secrets).await?;
        let mut users = Vec::new();
        while let Some(user) = stream.message().await? {
            users.push(user);
        }
        Ok(users)
    }

    /// Creates a user; fails if one with the same name exists.
    pub async fn create_user(&self, user: UserV2) -> Result<()> {
        self.rpc().create_user(user).await?;
        Ok(())
    }

    /// Updates an existing user.
    pub async fn update_user(&self, user: UserV2) -> Result<()> {
        self.rpc().update_user(user).await?;
        Ok(())
    }

    /// Deletes a user.
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        let request = DeleteUserRequest {
            name: name.to_owned(),
        };
        self.rpc().delete_user(request).await?;
        Ok(())
    }

    /// Returns one role.
    pub async fn get_role(&self, name: &str) -> Result<RoleV3> {
        let request = GetRoleRequest {
            name: name.to_owned(),
        };
        Ok(self.rpc().get_role(request).await?.into_inner())
    }

    /// Every user, as the server streams them: handle each as it arrives to hold only a
    /// few at once.
    pub async fn users_stream(&self, with_secrets: bool) -> Result<tonic::Streaming<UserV2>> {
        let request = GetUsersRequest {
            with_secrets,
            ..GetUsersRequest::default()
        };
        Ok(self.rpc().get_users(request).await?.into_inner())
    }

    /// Returns every role, [`PAGE_SIZE`] per call.
    pub async fn get_roles(&self) -> Result<Vec<RoleV3>> {
        collect_pages(|after| self.roles_page(after, PAGE_SIZE)).await
    }

    /// One page of roles by name: at most `limit` (1 to 1000) after `start_after` (empty
    /// for the first page, else the previous page's `next`).
    pub async fn roles_page(&self, start_after: String, limit: u32) -> Result<Page<RoleV3>> {
        let request = GetRolesRequest { limit, start_after };
        let answer = self.rpc().get_roles(request).await?.into_inner();
        Ok(Page::new(answer.roles, answer.next_start_after))
    }

    /// Every access request `filter` matches (its paging fields are ignored), [`PAGE_SIZE`]
    /// per call.
    pub async fn get_access_requests(
        &self,
        filter: AccessRequestFilter,
    ) -> Result<Vec<AccessRequestV3>> {
        collect_pages(|after| self.access_requests_page(filter.clone(), after, PAGE_SIZE)).await
    }

    /// One page of the access requests `filter` matches, by ID: at most `limit` (1 to 1000)
    /// after `start_after`.
    pub async fn access_requests_page(
        &self,
        filter: AccessRequestFilter,
        start_after: String,
        limit: u32,
    ) -> Result<Page<AccessRequestV3>> {
        let filter = AccessRequestFilter {
            limit,
            start_after,
            ..filter
        };
        let answer = self.rpc().get_access_requests(filter).await?.into_inner();
        Ok(Page::new(answer.access_requests, answer.next_start_after))
    }

    /// One page of provisioning tokens (static ones first), with their values if
    /// `with_secrets`: at most `limit` (1 to 1000) after `start_after`.
    pub async fn tokens_page(
        &self,
        with_secrets: bool,
        start_after: String,
        limit: u32,
    ) -> Result<Page<ProvisionTokenV2>> {
        let request = GetTokensRequest {
            with_secrets,
            limit,
            start_after,
        };
        let answer = self.rpc().get_tokens(request).await?.into_inner();
        Ok(Page::new(answer.provision_tokens, answer.next_start_after))
    }

    /// Creates a role; fails if one with the same name exists.
    pub async fn create_role(&self, role: RoleV3) -> Result<()> {
        self.rpc().create_role(role).await?;
        Ok(())
    }

    /// Creates or replaces a role.
    pub async fn upsert_role(&self, role: RoleV3) -> Result<()> {
        self.rpc().upsert_role(role).await?;
        Ok(())
    }

    /// Deletes a role.
    pub async fn delete_role(&self, name: &str) -> Result<()> {
        let request = DeleteRoleRequest {
            name: name.to_owned(),
        };
        self.rpc().delete_role(request).await?;
        Ok(())
    }

    /// Watches `kinds` (WatchEvents). Returns once the watch is established — the server's
    /// first event, INIT, has been read — so every change after this call reaches the
    /// stream, in order. The stream ends with an error status when the watcher fell behind
    /// (ABORTED) or the server stops (UNAVAILABLE): watch again and re-read then.
    pub async fn watch_events(&self, kinds: Vec<WatchKind>) -> Result<tonic::Streaming<Event>> {
        let mut stream = self.rpc().watch_events(Watch { kinds }).await?.into_inner();
        match stream.message().await? {
            Some(event) if event.r#type() == Operation::Init => Ok(stream),
            Some(event) => Err(Error::Protocol(format!(
                "the first event of a watch is {:?}, not INIT",
                event.r#type()
            ))),
            None => Err(Error::Protocol(
                "the watch ended before its first event".to_owned(),
            )),
        }
    }
}

impl Deref for Client {
    type Target = AuthServiceClient<Channel>;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

/// Turns an address as users write it into the `https://` URI to dial.
pub(crate) fn endpoint_uri(addr: &str) -> Result<Uri> {
    let invalid = |reason: &str| Error::InvalidAddress {
        addr: addr.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = addr.trim();
    if trimmed.is_empty() {
        return Err(invalid("the address is empty"));
    }
    let full = if let Some((scheme, _)) = trimmed.split_once("://") {
        if !scheme.eq_ignore_ascii_case("https") {
            return Err(invalid(
                "the API is served over TLS: use `host:port` or `https://host:port`",
            ));
        }
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let uri: Uri = full.parse().map_err(|e| invalid(&format!("{e}")))?;
    let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
    if authority.host().is_empty() {
        return Err(invalid("no host"));
    }
    if authority.port().is_some() {
        return Ok(uri);
    }
    let path = uri.path_and_query().map_or("", |p| p.as_str());
    let path = if path == "/" { "" } else { path };
    format!("https://{}:{DEFAULT_PORT}{path}", authority.host())
        .parse()
        .map_err(|e| invalid(&format!("{e}")))
}

#[cfg(test)]
mod tests;
