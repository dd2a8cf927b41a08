//! The SQLite backend: one file (or memory) for a single-machine trial of
//! the cluster roles and for the contract suite. One connection behind a
//! mutex, used on tokio's blocking threads: SQLite has one writer anyway,
//! and holding the connection for a whole commit makes every commit a
//! serial, immediate transaction. Leases use this machine's clock, which is
//! the only clock a one-file cluster has.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use super::codec::{self, AlertRow, ChannelRow, EventRow, PluginRow};
use super::migrations::{self, Dialect};
use super::plan::{self, Counters, Existing};
use super::{
    AlertQueue, Channel, ChannelEvent, ChannelId, ChannelPlugin, ClusterStore, Commit, Committed,
    EventLog, Inserted, KvChange, Lease, Member, MemberList, Members, NewAlert, NewEvent, PluginKv,
    QueuedAlert, StorageError,
};

/// How long a statement waits for another process holding the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Backend(format!("SQLite: {e}"))
    }
}

/// The cluster store in one SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and brings its schema up
    /// to date. The file holds sealed tokens and key digests, so it is
    /// readable by this user only (0600) in a private folder (0700).
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let context = |e: std::io::Error| StorageError::Backend(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::secrets::private_dir(dir).map_err(context)?;
        }
        make_private(path).map_err(context)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StorageError::Backend(format!("cannot open {}: {e}", path.display())))?;
        // WAL: readers of another process never block a commit.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
        Self::prepare(conn)
    }

    /// A private database in memory, gone when the store is dropped.
    pub fn in_memory() -> Result<Self, StorageError> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(mut conn: Connection) -> Result<Self, StorageError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `job` on the connection on a blocking thread.
    async fn run<T, F>(&self, job: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic in an earlier job rolled its transaction back when the
            // transaction was dropped; the connection itself is fine.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            job(&mut conn)
        })
        .await
        .map_err(|e| StorageError::Backend(format!("SQLite task failed: {e}")))?
    }
}

/// Creates the file 0600 if absent; takes group and other access away from
/// an existing one.
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o600))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map(drop),
        Err(e) => Err(e),
    }
}

/// Applies the missing migrations in one immediate transaction (which also
/// keeps two processes opening one file from migrating at once).
fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(migrations::SCHEMA_VERSION_TABLE)?;
    let current: i64 = tx.query_row(migrations::CURRENT_VERSION, [], |r| r.get(0))?;
    for m in migrations::pending(current)? {
        let sql = migrations::render(m.sql, Dialect::Sqlite)
            .map_err(|e| StorageError::Backend(format!("migration {}: {e}", m.version)))?;
        tx.execute_batch(&sql).map_err(|e| {
            StorageError::Backend(format!("migration {:04}_{}: {e}", m.version, m.name))
        })?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, now()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// This machine's clock, as stored.
fn now() -> i64 {
    codec::micros(Utc::now())
}

fn is_constraint(e: &rusqlite::Error, code: i32) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == ErrorCode::ConstraintViolation && f.extended_code == code)
}

/// A write that named a channel that does not exist (a foreign key) is
/// reported as such.
fn channel_error(channel: &str) -> impl Fn(rusqlite::Error) -> StorageError + '_ {
    move |e| {
        if is_constraint(&e, rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) {
            StorageError::NoChannel(channel.to_owned())
        } else {
            e.into()
        }
    }
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        channel_id: r.get(0)?,
        seq: r.get(1)?,
        id: r.get(2)?,
        kind: r.get(3)?,
        source: r.get(4)?,
        occurred_at: r.get(5)?,
        stored_at: r.get(6)?,
        body: r.get(7)?,
        display: r.get(8)?,
    })
}

const EVENT_COLUMNS: &str =
    "channel_id, seq, id, kind, source, occurred_at, stored_at, body, display";

/// Writes everything `commit` holds in the open transaction `tx`.
fn commit_in(tx: &rusqlite::Transaction<'_>, commit: &Commit) -> Result<Committed, StorageError> {
    let now = now();
    for cursor in &commit.cursors {
        let name = codec::partition_lease(cursor.partition);
        let held: Option<(String, i64)> = tx
            .prepare_cached("SELECT holder, expires_at FROM leases WHERE name = ?1")?
            .query_row([&name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if !held.is_some_and(|(holder, expires)| holder == cursor.holder && expires > now) {
            return Err(StorageError::LeaseLost(name));
        }
    }

    let mut counters = HashMap::new();
    {
        let mut read = tx.prepare_cached(
            "SELECT last_event, last_alert FROM channel_seq WHERE channel_id = ?1",
        )?;
        for channel in plan::channels(commit) {
            let found = read
                .query_row([channel], |r| {
                    Ok(Counters {
                        last_event: r.get(0)?,
                        last_alert: r.get(1)?,
                    })
                })
                .optional()?;
            if let Some(c) = found {
                counters.insert(channel.to_owned(), c);
            }
        }
    }
    let stored_events = stored(
        tx,
        "SELECT 1 FROM events WHERE channel_id = ?1 AND id = ?2",
        commit.events.iter().map(|e| (&e.channel_id, &e.id)),
    )?;
    let stored_alerts = stored(
        tx,
        "SELECT 1 FROM overlay_alerts WHERE channel_id = ?1 AND id = ?2",
        commit.alerts.iter().map(|a| (&a.channel_id, &a.id)),
    )?;
    let plan = plan::plan(commit, &counters, &stored_events, &stored_alerts)?;

    let mut insert = tx.prepare_cached(
        "INSERT INTO events (channel_id, seq, id, kind, source, occurred_at, stored_at, body, display)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (channel_id, id) DO NOTHING",
    )?;
    for (seq, e) in &plan.events {
        insert.execute(params![
            e.channel_id,
            seq,
            e.id,
            e.kind,
            e.source,
            codec::micros(e.occurred_at),
            now,
            e.body.to_string(),
            e.display.as_ref().map(Value::to_string),
        ])?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO overlay_alerts (channel_id, id, overlay, position, event_id, plugin, body, queued_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (channel_id, id) DO NOTHING",
    )?;
    for (position, a) in &plan.alerts {
        insert.execute(params![
            a.channel_id,
            a.id,
            a.overlay,
            position,
            a.event_id,
            a.plugin,
            a.body.to_string(),
            now,
        ])?;
    }
    let mut update = tx.prepare_cached(
        "UPDATE channel_seq SET last_event = ?2, last_alert = ?3 WHERE channel_id = ?1",
    )?;
    for (channel, c) in &plan.counters {
        update.execute(params![channel, c.last_event, c.last_alert])?;
    }
    for change in &plan.kv {
        match &change.value {
            Some(value) => tx
                .prepare_cached(
                    "INSERT INTO plugin_kv (channel_id, plugin, key, value) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (channel_id, plugin, key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![change.channel_id, change.plugin, change.key, value])?,
            None => tx
                .prepare_cached(
                    "DELETE FROM plugin_kv WHERE channel_id = ?1 AND plugin = ?2 AND key = ?3",
                )?
                .execute(params![change.channel_id, change.plugin, change.key])?,
        };
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO known_followers (channel_id, user_id) VALUES (?1, ?2)
         ON CONFLICT (channel_id, user_id) DO NOTHING",
    )?;
    for (channel, user) in &plan.followers {
        insert.execute(params![channel, user])?;
    }
    // The furthest position per partition, as on PostgreSQL.
    let mut furthest: std::collections::BTreeMap<u32, u64> = std::collections::BTreeMap::new();
    for cursor in &commit.cursors {
        let entry = furthest.entry(cursor.partition).or_insert(cursor.sequence);
        *entry = (*entry).max(cursor.sequence);
    }
    for (partition, sequence) in furthest {
        tx.prepare_cached(
            "INSERT INTO stream_cursors (partition, sequence) VALUES (?1, ?2)
             ON CONFLICT (partition) DO UPDATE SET sequence = excluded.sequence",
        )?
        .execute(params![i64::from(partition), codec::sequence_in(sequence)?])?;
    }
    Ok(plan.committed)
}

/// Which of `keys` (channel, id) the table of `query` holds already.
fn stored<'a>(
    tx: &rusqlite::Transaction<'_>,
    query: &str,
    keys: impl Iterator<Item = (&'a String, &'a String)>,
) -> Result<Existing, StorageError> {
    let mut found = Existing::new();
    let mut check = tx.prepare_cached(query)?;
    for (channel, id) in keys {
        if check.exists(params![channel, id])? {
            found.entry(channel.clone()).or_default().insert(id.clone());
        }
    }
    Ok(found)
}

#[async_trait::async_trait]
impl ClusterStore for SqliteStore {
    async fn create_channel(&self, id: &str, login: &str) -> Result<Channel, StorageError> {
        let (id, login) = (id.to_owned(), login.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let clash: Option<bool> = tx
                .query_row(
                    "SELECT id = ?1 FROM channels WHERE id = ?1 OR login = ?2 ORDER BY id = ?1 DESC",
                    params![id, login],
                    |r| r.get(0),
                )
                .optional()?;
            match clash {
                Some(true) => return Err(StorageError::ChannelExists(id)),
                Some(false) => return Err(StorageError::ChannelExists(login)),
                None => {}
            }
            let created_at = now();
            tx.execute(
                "INSERT INTO channels (id, login, created_at) VALUES (?1, ?2, ?3)",
                params![id, login, created_at],
            )?;
            tx.execute(
                "INSERT INTO channel_seq (channel_id, last_event, last_alert) VALUES (?1, 0, 0)",
                [&id],
            )?;
            tx.commit()?;
            ChannelRow {
                id,
                login,
                created_at,
            }
            .decode()
        })
        .await
    }

    async fn channel(&self, id: &str) -> Result<Option<Channel>, StorageError> {
        let id = id.to_owned();
        self.run(move |conn| {
            conn.prepare_cached("SELECT id, login, created_at FROM channels WHERE id = ?1")?
                .query_row([&id], |r| {
                    Ok(ChannelRow {
                        id: r.get(0)?,
                        login: r.get(1)?,
                        created_at: r.get(2)?,
                    })
                })
                .optional()?
                .map(ChannelRow::decode)
                .transpose()
        })
        .await
    }

    async fn channels(&self) -> Result<Vec<Channel>, StorageError> {
        self.run(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, login, created_at FROM channels ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok(ChannelRow {
                    id: r.get(0)?,
                    login: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })?;
            rows.map(|r| r?.decode()).collect()
        })
        .await
    }

    async fn set_overlay_key_digest(
        &self,
        channel: &str,
        digest: &str,
    ) -> Result<(), StorageError> {
        self.set_channel_column(channel, "overlay_key_digest", digest.to_owned())
            .await
    }

    async fn channel_by_overlay_key(
        &self,
        digest: &str,
    ) -> Result<Option<ChannelId>, StorageError> {
        self.channel_by("overlay_key_digest", digest).await
    }

    async fn set_dashboard_token_digest(
        &self,
        channel: &str,
        digest: &str,
    ) -> Result<(), StorageError> {
        self.set_channel_column(channel, "dashboard_token_digest", digest.to_owned())
            .await
    }

    async fn channel_by_dashboard_token(
        &self,
        digest: &str,
    ) -> Result<Option<ChannelId>, StorageError> {
        self.channel_by("dashboard_token_digest", digest).await
    }

    async fn set_sealed_user_token(
        &self,
        channel: &str,
        sealed: Option<&[u8]>,
    ) -> Result<(), StorageError> {
        self.set_channel_column(channel, "sealed_user_token", sealed.map(<[u8]>::to_vec))
            .await
    }

    async fn sealed_user_token(&self, channel: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let channel = channel.to_owned();
        self.run(move |conn| {
            conn.prepare_cached("SELECT sealed_user_token FROM channels WHERE id = ?1")?
                .query_row([&channel], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()?
                .ok_or(StorageError::NoChannel(channel))
        })
        .await
    }

    async fn commit(&self, commit: Commit) -> Result<Committed, StorageError> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let committed = commit_in(&tx, &commit)?;
            tx.commit()?;
            Ok(committed)
        })
        .await
    }

    async fn cursor(&self, partition: u32) -> Result<Option<u64>, StorageError> {
        self.run(move |conn| {
            conn.prepare_cached("SELECT sequence FROM stream_cursors WHERE partition = ?1")?
                .query_row([i64::from(partition)], |r| r.get::<_, i64>(0))
                .optional()?
                .map(codec::sequence_out)
                .transpose()
        })
        .await
    }

    async fn put_plugin(&self, plugin: ChannelPlugin) -> Result<(), StorageError> {
        self.run(move |conn| {
            // Empty grants and null settings mean "not given": a replace
            // keeps what the streamer set.
            conn.prepare_cached(
                "INSERT INTO channel_plugins
                     (channel_id, name, package, digest, granted, settings, enabled, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (channel_id, name) DO UPDATE SET
                     package = excluded.package,
                     digest = excluded.digest,
                     granted = CASE WHEN ?9 THEN channel_plugins.granted ELSE excluded.granted END,
                     settings = CASE WHEN ?10 THEN channel_plugins.settings ELSE excluded.settings END,
                     enabled = excluded.enabled,
                     updated_at = excluded.updated_at",
            )?
            .execute(params![
                plugin.channel_id,
                plugin.name,
                plugin.package,
                plugin.digest,
                codec::strings_text(&plugin.granted),
                plugin.settings.to_string(),
                plugin.enabled,
                now(),
                plugin.granted.is_empty(),
                plugin.settings.is_null(),
            ])
            .map_err(channel_error(&plugin.channel_id))?;
            Ok(())
        })
        .await
    }

    async fn plugins(&self, channel: &str) -> Result<Vec<ChannelPlugin>, StorageError> {
        let channel = channel.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT channel_id, name, package, digest, granted, settings, enabled, updated_at
                 FROM channel_plugins WHERE channel_id = ?1 ORDER BY name",
            )?;
            let rows = stmt.query_map([&channel], |r| {
                Ok(PluginRow {
                    channel_id: r.get(0)?,
                    name: r.get(1)?,
                    package: r.get(2)?,
                    digest: r.get(3)?,
                    granted: r.get(4)?,
                    settings: r.get(5)?,
                    enabled: r.get(6)?,
                    updated_at: r.get(7)?,
                })
            })?;
            rows.map(|r| r?.decode()).collect()
        })
        .await
    }

    async fn set_plugin_settings(
        &self,
        channel: &str,
        plugin: &str,
        settings: &Value,
    ) -> Result<bool, StorageError> {
        self.set_plugin_column(channel, plugin, "settings", settings.to_string())
            .await
    }

    async fn set_plugin_grants(
        &self,
        channel: &str,
        plugin: &str,
        granted: &[String],
    ) -> Result<bool, StorageError> {
        self.set_plugin_column(channel, plugin, "granted", codec::strings_text(granted))
            .await
    }

    async fn remove_plugin(&self, channel: &str, plugin: &str) -> Result<bool, StorageError> {
        let (channel, plugin) = (channel.to_owned(), plugin.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let removed = tx.execute(
                "DELETE FROM channel_plugins WHERE channel_id = ?1 AND name = ?2",
                params![channel, plugin],
            )?;
            tx.execute(
                "DELETE FROM plugin_kv WHERE channel_id = ?1 AND plugin = ?2",
                params![channel, plugin],
            )?;
            tx.commit()?;
            Ok(removed == 1)
        })
        .await
    }

    async fn known_followers(&self, channel: &str) -> Result<Vec<String>, StorageError> {
        let channel = channel.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT user_id FROM known_followers WHERE channel_id = ?1 ORDER BY user_id",
            )?;
            let rows = stmt.query_map([&channel], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn add_known_followers(&self, channel: &str, ids: &[String]) -> Result<(), StorageError> {
        let (channel, ids) = (channel.to_owned(), ids.to_vec());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO known_followers (channel_id, user_id) VALUES (?1, ?2)
                     ON CONFLICT (channel_id, user_id) DO NOTHING",
                )?;
                for id in &ids {
                    insert
                        .execute(params![channel, id])
                        .map_err(channel_error(&channel))?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn remove_known_followers(
        &self,
        channel: &str,
        ids: &[String],
    ) -> Result<(), StorageError> {
        let (channel, ids) = (channel.to_owned(), ids.to_vec());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut delete = tx.prepare_cached(
                    "DELETE FROM known_followers WHERE channel_id = ?1 AND user_id = ?2",
                )?;
                for id in &ids {
                    delete.execute(params![channel, id])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn members(
        &self,
        channel: &str,
        list: MemberList,
    ) -> Result<Option<Members>, StorageError> {
        let channel = channel.to_owned();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let generation: Option<i64> = tx
                .prepare_cached(
                    "SELECT generation FROM member_lists WHERE channel_id = ?1 AND list = ?2",
                )?
                .query_row(params![channel, list.as_str()], |r| r.get(0))
                .optional()?;
            let Some(generation) = generation else {
                return Ok(None);
            };
            let mut stmt = tx.prepare_cached(
                "SELECT user_id, login, display_name, data FROM channel_members
                 WHERE channel_id = ?1 AND list = ?2 ORDER BY user_id",
            )?;
            let rows = stmt.query_map(params![channel, list.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
            })?;
            let mut members = Vec::new();
            for row in rows {
                let (user_id, login, display_name, data) = row?;
                members.push(codec::member(user_id, login, display_name, &data)?);
            }
            Ok(Some(Members {
                generation,
                members,
            }))
        })
        .await
    }

    async fn replace_members(
        &self,
        channel: &str,
        list: MemberList,
        known: Option<i64>,
        added: &[Member],
        removed: &[String],
    ) -> Result<Option<i64>, StorageError> {
        let (channel, added, removed) = (channel.to_owned(), added.to_vec(), removed.to_vec());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let generation: Option<i64> = match known {
                None => tx
                    .prepare_cached(
                        "INSERT INTO member_lists (channel_id, list, generation, updated_at)
                         VALUES (?1, ?2, 1, ?3)
                         ON CONFLICT (channel_id, list) DO NOTHING
                         RETURNING generation",
                    )?
                    .query_row(params![channel, list.as_str(), now()], |r| r.get(0))
                    .optional()
                    .map_err(channel_error(&channel))?,
                Some(known) => tx
                    .prepare_cached(
                        "UPDATE member_lists SET generation = generation + 1, updated_at = ?4
                         WHERE channel_id = ?1 AND list = ?2 AND generation = ?3
                         RETURNING generation",
                    )?
                    .query_row(params![channel, list.as_str(), known, now()], |r| r.get(0))
                    .optional()?,
            };
            // Moved on: the transaction is dropped, so nothing is written.
            let Some(generation) = generation else {
                return Ok(None);
            };
            {
                let mut delete = tx.prepare_cached(
                    "DELETE FROM channel_members
                     WHERE channel_id = ?1 AND list = ?2 AND user_id = ?3",
                )?;
                for id in &removed {
                    delete.execute(params![channel, list.as_str(), id])?;
                }
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO channel_members
                         (channel_id, list, user_id, login, display_name, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (channel_id, list, user_id) DO UPDATE SET
                         login = excluded.login,
                         display_name = excluded.display_name,
                         data = excluded.data",
                )?;
                for m in &added {
                    upsert.execute(params![
                        channel,
                        list.as_str(),
                        m.user_id,
                        m.login,
                        m.display_name,
                        m.data.to_string()
                    ])?;
                }
            }
            tx.commit()?;
            Ok(Some(generation))
        })
        .await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StorageError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.run(move |conn| {
            let now = now();
            let changed = conn
                .prepare_cached(
                    "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET
                         holder = excluded.holder, expires_at = excluded.expires_at
                     WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4",
                )?
                .execute(params![
                    name,
                    holder,
                    now.saturating_add(codec::ttl_micros(ttl)),
                    now
                ])?;
            Ok(changed == 1)
        })
        .await
    }

    async fn acquire_leases(
        &self,
        names: &[String],
        holder: &str,
        ttl: Duration,
    ) -> Result<Vec<String>, StorageError> {
        let (names, holder) = (names.to_vec(), holder.to_owned());
        self.run(move |conn| {
            let now = now();
            let tx = conn.transaction()?;
            let mut held = Vec::new();
            {
                let mut take = tx.prepare_cached(
                    "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET
                         holder = excluded.holder, expires_at = excluded.expires_at
                     WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4",
                )?;
                for name in names {
                    let expires = now.saturating_add(codec::ttl_micros(ttl));
                    if take.execute(params![name, holder, expires, now])? == 1 {
                        held.push(name);
                    }
                }
            }
            tx.commit()?;
            Ok(held)
        })
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StorageError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.run(move |conn| {
            conn.prepare_cached("DELETE FROM leases WHERE name = ?1 AND holder = ?2")?
                .execute(params![name, holder])?;
            Ok(())
        })
        .await
    }

    async fn leases(&self, prefix: &str) -> Result<Vec<Lease>, StorageError> {
        let prefix = prefix.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT name, holder, expires_at FROM leases
                 WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name",
            )?;
            let rows = stmt.query_map([&prefix], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.map(|r| {
                let (name, holder, expires_at) = r?;
                codec::lease(name, holder, expires_at)
            })
            .collect()
        })
        .await
    }
}

// Written through `commit`, so the single-call writes keep every check a
// worker's commit has (the channel exists, ids already stored are skipped).
#[async_trait::async_trait]
impl EventLog for SqliteStore {
    async fn append_events(&self, events: Vec<NewEvent>) -> Result<Vec<Inserted>, StorageError> {
        Ok(self.commit(Commit::of_events(events)).await?.events)
    }

    async fn recent_events(
        &self,
        channel: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<ChannelEvent>, StorageError> {
        let channel = channel.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE channel_id = ?1 AND seq < ?2
                 ORDER BY seq DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(
                params![channel, before.unwrap_or(i64::MAX), limit],
                event_row,
            )?;
            rows.map(|r| r?.decode()).collect()
        })
        .await
    }

    async fn events_after(
        &self,
        channel: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChannelEvent>, StorageError> {
        let channel = channel.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE channel_id = ?1 AND seq > ?2
                 ORDER BY seq LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![channel, after, limit], event_row)?;
            rows.map(|r| r?.decode()).collect()
        })
        .await
    }

    async fn event_count(&self, channel: &str) -> Result<i64, StorageError> {
        let channel = channel.to_owned();
        self.run(move |conn| {
            Ok(conn
                .prepare_cached("SELECT COUNT(*) FROM events WHERE channel_id = ?1")?
                .query_row([&channel], |r| r.get(0))?)
        })
        .await
    }
}

#[async_trait::async_trait]
impl AlertQueue for SqliteStore {
    async fn queue_alerts(
        &self,
        alerts: Vec<NewAlert>,
    ) -> Result<Vec<(String, i64)>, StorageError> {
        Ok(self.commit(Commit::of_alerts(alerts)).await?.alerts)
    }

    async fn unacked_alerts(
        &self,
        channel: &str,
        overlay: &str,
        limit: u32,
    ) -> Result<Vec<QueuedAlert>, StorageError> {
        let (channel, overlay) = (channel.to_owned(), overlay.to_owned());
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT channel_id, id, overlay, position, event_id, plugin, body, queued_at
                 FROM overlay_alerts
                 WHERE channel_id = ?1 AND overlay = ?2 AND acked_at IS NULL
                 ORDER BY position LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![channel, overlay, limit], |r| {
                Ok(AlertRow {
                    channel_id: r.get(0)?,
                    id: r.get(1)?,
                    overlay: r.get(2)?,
                    position: r.get(3)?,
                    event_id: r.get(4)?,
                    plugin: r.get(5)?,
                    body: r.get(6)?,
                    queued_at: r.get(7)?,
                })
            })?;
            rows.map(|r| r?.decode()).collect()
        })
        .await
    }

    async fn ack_alert(
        &self,
        channel: &str,
        overlay: &str,
        id: &str,
    ) -> Result<bool, StorageError> {
        let (channel, overlay, id) = (channel.to_owned(), overlay.to_owned(), id.to_owned());
        self.run(move |conn| {
            let changed = conn
                .prepare_cached(
                    "UPDATE overlay_alerts SET acked_at = ?4
                     WHERE channel_id = ?1 AND overlay = ?2 AND id = ?3 AND acked_at IS NULL",
                )?
                .execute(params![channel, overlay, id, now()])?;
            Ok(changed == 1)
        })
        .await
    }
}

#[async_trait::async_trait]
impl PluginKv for SqliteStore {
    async fn plugin_kv(
        &self,
        channel: &str,
        plugin: &str,
    ) -> Result<HashMap<String, String>, StorageError> {
        let (channel, plugin) = (channel.to_owned(), plugin.to_owned());
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT key, value FROM plugin_kv WHERE channel_id = ?1 AND plugin = ?2",
            )?;
            let rows = stmt.query_map(params![channel, plugin], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn apply_kv(&self, kv: Vec<KvChange>) -> Result<(), StorageError> {
        self.commit(Commit::of_kv(kv)).await.map(drop)
    }
}

impl SqliteStore {
    /// Sets one column of a channel's row (the statement is chosen from a
    /// fixed list of columns, never from input).
    async fn set_channel_column<V>(
        &self,
        channel: &str,
        column: &'static str,
        value: V,
    ) -> Result<(), StorageError>
    where
        V: rusqlite::ToSql + Send + 'static,
    {
        let channel = channel.to_owned();
        self.run(move |conn| {
            let changed = conn
                .prepare_cached(&format!("UPDATE channels SET {column} = ?2 WHERE id = ?1"))?
                .execute(params![channel, value])?;
            if changed == 0 {
                return Err(StorageError::NoChannel(channel));
            }
            Ok(())
        })
        .await
    }

    /// The channel whose `column` (a key digest) equals `digest`.
    async fn channel_by(
        &self,
        column: &'static str,
        digest: &str,
    ) -> Result<Option<ChannelId>, StorageError> {
        let digest = digest.to_owned();
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT id FROM channels WHERE {column} = ?1"))?
                .query_row([&digest], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    /// Sets the settings or grants of an installed plugin.
    async fn set_plugin_column(
        &self,
        channel: &str,
        plugin: &str,
        column: &'static str,
        value: String,
    ) -> Result<bool, StorageError> {
        let (channel, plugin) = (channel.to_owned(), plugin.to_owned());
        self.run(move |conn| {
            let changed = conn
                .prepare_cached(&format!(
                    "UPDATE channel_plugins SET {column} = ?3, updated_at = ?4
                     WHERE channel_id = ?1 AND name = ?2"
                ))?
                .execute(params![channel, plugin, value, now()])?;
            Ok(changed == 1)
        })
        .await
    }
}
