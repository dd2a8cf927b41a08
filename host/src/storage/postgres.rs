//! The PostgreSQL backend: the database every node of a cluster shares.
//!
//! A pool of connections (deadpool) with each statement prepared once per
//! connection. A commit is one transaction of four round trips whatever its
//! size: `BEGIN`; the lease check, the counter locks and the look-ups of
//! already stored ids, pipelined; every write as one array (`UNNEST`)
//! statement per table, pipelined; `COMMIT`. Times (lease expiry above all)
//! come from the database's clock, so nodes with skewed clocks agree.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde_json::Value;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::codec::{self, AlertRow, ChannelRow, EventRow, PluginRow};
use super::migrations::{self, Dialect};
use super::plan::{self, Counters, Existing};
use super::{
    AlertQueue, Channel, ChannelEvent, ChannelId, ChannelPlugin, ClusterStore, Commit, Committed,
    EventLog, Inserted, KvChange, Lease, Member, MemberList, Members, NewAlert, NewEvent, PluginKv,
    QueuedAlert, StorageError,
};

/// The database's clock, as stored (microseconds since the Unix epoch).
/// `now()` is the transaction's start: one time for a whole commit.
macro_rules! now_us {
    () => {
        "(EXTRACT(EPOCH FROM now()) * 1000000)::BIGINT"
    };
}

/// How long to wait for a new connection, and for a free one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The advisory lock (with the schema's name hashed as its second half)
/// that keeps nodes starting together from migrating one schema at once.
const MIGRATION_LOCK: i32 = 0x5354_4748; // "STGH"

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> Self {
        StorageError::Backend(format!("PostgreSQL: {e}"))
    }
}

impl From<deadpool_postgres::PoolError> for StorageError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StorageError::Backend(format!("no PostgreSQL connection: {e}"))
    }
}

/// A write that named a channel that does not exist (a foreign key) is
/// reported as such.
fn channel_error(channel: &str) -> impl Fn(tokio_postgres::Error) -> StorageError + '_ {
    move |e| {
        if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
            StorageError::NoChannel(channel.to_owned())
        } else {
            e.into()
        }
    }
}

/// The cluster store in a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host/db`) with up to `pool_size`
    /// connections and brings the schema up to date.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self, StorageError> {
        Self::open(url, None, pool_size).await
    }

    /// Like [`PostgresStore::connect`], with every table in `schema`
    /// (created if absent; lower-case letters, digits and `_`): several
    /// clusters, or tests running in parallel, can share one database.
    pub async fn connect_in_schema(
        url: &str,
        schema: &str,
        pool_size: usize,
    ) -> Result<Self, StorageError> {
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && !schema.starts_with(|c: char| c.is_ascii_digit())
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StorageError::Backend(format!(
                "schema name {schema:?} must be lower-case letters, digits and _"
            )));
        }
        Self::open(url, Some(schema), pool_size).await
    }

    async fn open(url: &str, schema: Option<&str>, pool_size: usize) -> Result<Self, StorageError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StorageError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        if let Some(schema) = schema {
            let options = match config.get_options() {
                Some(given) => format!("{given} -c search_path={schema}"),
                None => format!("-c search_path={schema}"),
            };
            config.options(options);
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(WAIT_TIMEOUT))
            .build()
            .map_err(|e| StorageError::Backend(format!("PostgreSQL pool: {e}")))?;
        let store = Self { pool };
        store.migrate(schema).await?;
        Ok(store)
    }

    /// Applies the missing migrations in one transaction, holding an
    /// advisory lock for the schema so concurrent nodes take turns (the
    /// second finds the work done).
    async fn migrate(&self, schema: Option<&str>) -> Result<(), StorageError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(COALESCE($2, current_schema(), '')))",
            &[&MIGRATION_LOCK, &schema],
        )
        .await?;
        if let Some(schema) = schema {
            // The name was checked to need no quoting.
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await?;
        }
        tx.batch_execute(migrations::SCHEMA_VERSION_TABLE).await?;
        let current: i64 = tx
            .query_one(migrations::CURRENT_VERSION, &[])
            .await?
            .try_get(0)?;
        for m in migrations::pending(current)? {
            let sql = migrations::render(m.sql, Dialect::Postgres)
                .map_err(|e| StorageError::Backend(format!("migration {}: {e}", m.version)))?;
            tx.batch_execute(&sql).await.map_err(|e| {
                StorageError::Backend(format!("migration {:04}_{}: {e}", m.version, m.name))
            })?;
            tx.execute(
                concat!(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, ",
                    now_us!(),
                    ")"
                ),
                &[&m.version, &m.name],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs one statement on a pooled connection and answers the rows it
    /// changed.
    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StorageError> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(sql).await?;
        Ok(client.execute(&stmt, params).await?)
    }

    /// Runs one query on a pooled connection.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StorageError> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(sql).await?;
        Ok(client.query(&stmt, params).await?)
    }

    /// Sets one column of a channel's row (the statement is chosen from a
    /// fixed list of columns, never from input).
    async fn set_channel_column(
        &self,
        channel: &str,
        sql: &str,
        value: &(dyn tokio_postgres::types::ToSql + Sync),
    ) -> Result<(), StorageError> {
        if self.execute(sql, &[&channel, value]).await? == 0 {
            return Err(StorageError::NoChannel(channel.to_owned()));
        }
        Ok(())
    }

    /// The channel whose key digest (the column of `sql`) is `digest`.
    async fn channel_by(&self, sql: &str, digest: &str) -> Result<Option<ChannelId>, StorageError> {
        match self.query(sql, &[&digest]).await?.first() {
            Some(row) => Ok(Some(row.try_get(0)?)),
            None => Ok(None),
        }
    }
}

// The statements of a commit.

/// The commit's partition leases its holders still hold, locked so no one
/// takes one over before the commit ends.
const LEASES_HELD: &str = concat!(
    "SELECT l.name FROM leases l
     JOIN UNNEST($1::TEXT[], $2::TEXT[]) AS k (name, holder) ON l.name = k.name
     WHERE l.holder = k.holder AND l.expires_at > ",
    now_us!(),
    " ORDER BY l.name FOR UPDATE OF l"
);

/// Locks the counters of a commit's channels, in one order for every
/// commit so two commits never wait for each other.
const LOCK_COUNTERS: &str = "SELECT channel_id, last_event, last_alert FROM channel_seq
     WHERE channel_id = ANY($1) ORDER BY channel_id FOR UPDATE";

const STORED_EVENTS: &str = "SELECT e.channel_id, e.id FROM events e
     JOIN UNNEST($1::TEXT[], $2::TEXT[]) AS k (channel_id, id)
       ON e.channel_id = k.channel_id AND e.id = k.id";

const STORED_ALERTS: &str = "SELECT a.channel_id, a.id FROM overlay_alerts a
     JOIN UNNEST($1::TEXT[], $2::TEXT[]) AS k (channel_id, id)
       ON a.channel_id = k.channel_id AND a.id = k.id";

const INSERT_EVENTS: &str = concat!(
    "INSERT INTO events (channel_id, seq, id, kind, source, occurred_at, stored_at, body, display)
     SELECT e.channel_id, e.seq, e.id, e.kind, e.source, e.occurred_at, ",
    now_us!(),
    ", e.body, e.display
     FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::BIGINT[],
                 $7::TEXT[], $8::TEXT[])
       AS e (channel_id, seq, id, kind, source, occurred_at, body, display)
     ON CONFLICT (channel_id, id) DO NOTHING"
);

const INSERT_ALERTS: &str = concat!(
    "INSERT INTO overlay_alerts (channel_id, id, overlay, position, event_id, plugin, body, queued_at)
     SELECT a.channel_id, a.id, a.overlay, a.position, a.event_id, a.plugin, a.body, ",
    now_us!(),
    " FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[], $6::TEXT[],
                 $7::TEXT[])
       AS a (channel_id, id, overlay, position, event_id, plugin, body)
     ON CONFLICT (channel_id, id) DO NOTHING"
);

const UPDATE_COUNTERS: &str = "UPDATE channel_seq
     SET last_event = c.last_event, last_alert = c.last_alert
     FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[]) AS c (channel_id, last_event, last_alert)
     WHERE channel_seq.channel_id = c.channel_id";

const SET_KV: &str = "INSERT INTO plugin_kv (channel_id, plugin, key, value)
     SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[])
     ON CONFLICT (channel_id, plugin, key) DO UPDATE SET value = EXCLUDED.value";

const DELETE_KV: &str = "DELETE FROM plugin_kv
     USING UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[]) AS d (channel_id, plugin, key)
     WHERE plugin_kv.channel_id = d.channel_id AND plugin_kv.plugin = d.plugin
       AND plugin_kv.key = d.key";

const ADD_FOLLOWERS: &str = "INSERT INTO known_followers (channel_id, user_id)
     SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[])
     ON CONFLICT (channel_id, user_id) DO NOTHING";

const SET_CURSORS: &str = "INSERT INTO stream_cursors (partition, sequence)
     SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[])
     ON CONFLICT (partition) DO UPDATE SET sequence = EXCLUDED.sequence";

const EVENT_COLUMNS: &str =
    "channel_id, seq, id, kind, source, occurred_at, stored_at, body, display";

fn event_row(r: &tokio_postgres::Row) -> Result<ChannelEvent, StorageError> {
    EventRow {
        channel_id: r.try_get(0)?,
        seq: r.try_get(1)?,
        id: r.try_get(2)?,
        kind: r.try_get(3)?,
        source: r.try_get(4)?,
        occurred_at: r.try_get(5)?,
        stored_at: r.try_get(6)?,
        body: r.try_get(7)?,
        display: r.try_get(8)?,
    }
    .decode()
}

fn channel_row(r: &tokio_postgres::Row) -> Result<Channel, StorageError> {
    ChannelRow {
        id: r.try_get(0)?,
        login: r.try_get(1)?,
        created_at: r.try_get(2)?,
    }
    .decode()
}

/// Ids among `keys` the query's rows (channel, id) say are stored.
fn existing(rows: &[tokio_postgres::Row]) -> Result<Existing, StorageError> {
    let mut found = Existing::new();
    for row in rows {
        found
            .entry(row.try_get(0)?)
            .or_default()
            .insert(row.try_get(1)?);
    }
    Ok(found)
}

#[async_trait::async_trait]
impl ClusterStore for PostgresStore {
    async fn create_channel(&self, id: &str, login: &str) -> Result<Channel, StorageError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let insert = tx
            .prepare_cached(concat!(
                "INSERT INTO channels (id, login, created_at) VALUES ($1, $2, ",
                now_us!(),
                ") ON CONFLICT DO NOTHING RETURNING id, login, created_at"
            ))
            .await?;
        let Some(row) = tx.query_opt(&insert, &[&id, &login]).await? else {
            let same_id = tx
                .query_opt("SELECT 1 FROM channels WHERE id = $1", &[&id])
                .await?
                .is_some();
            return Err(StorageError::ChannelExists(
                if same_id { id } else { login }.to_owned(),
            ));
        };
        let counters = tx
            .prepare_cached(
                "INSERT INTO channel_seq (channel_id, last_event, last_alert) VALUES ($1, 0, 0)",
            )
            .await?;
        tx.execute(&counters, &[&id]).await?;
        tx.commit().await?;
        channel_row(&row)
    }

    async fn channel(&self, id: &str) -> Result<Option<Channel>, StorageError> {
        self.query(
            "SELECT id, login, created_at FROM channels WHERE id = $1",
            &[&id],
        )
        .await?
        .first()
        .map(channel_row)
        .transpose()
    }

    async fn channels(&self) -> Result<Vec<Channel>, StorageError> {
        self.query(
            "SELECT id, login, created_at FROM channels ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(channel_row)
        .collect()
    }

    async fn set_overlay_key_digest(
        &self,
        channel: &str,
        digest: &str,
    ) -> Result<(), StorageError> {
        self.set_channel_column(
            channel,
            "UPDATE channels SET overlay_key_digest = $2 WHERE id = $1",
            &digest,
        )
        .await
    }

    async fn channel_by_overlay_key(
        &self,
        digest: &str,
    ) -> Result<Option<ChannelId>, StorageError> {
        self.channel_by(
            "SELECT id FROM channels WHERE overlay_key_digest = $1",
            digest,
        )
        .await
    }

    async fn set_dashboard_token_digest(
        &self,
        channel: &str,
        digest: &str,
    ) -> Result<(), StorageError> {
        self.set_channel_column(
            channel,
            "UPDATE channels SET dashboard_token_digest = $2 WHERE id = $1",
            &digest,
        )
        .await
    }

    async fn channel_by_dashboard_token(
        &self,
        digest: &str,
    ) -> Result<Option<ChannelId>, StorageError> {
        self.channel_by(
            "SELECT id FROM channels WHERE dashboard_token_digest = $1",
            digest,
        )
        .await
    }

    async fn set_sealed_user_token(
        &self,
        channel: &str,
        sealed: Option<&[u8]>,
    ) -> Result<(), StorageError> {
        self.set_channel_column(
            channel,
            "UPDATE channels SET sealed_user_token = $2 WHERE id = $1",
            &sealed,
        )
        .await
    }

    async fn sealed_user_token(&self, channel: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let rows = self
            .query(
                "SELECT sealed_user_token FROM channels WHERE id = $1",
                &[&channel],
            )
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| StorageError::NoChannel(channel.to_owned()))?;
        Ok(row.try_get(0)?)
    }

    async fn commit(&self, commit: Commit) -> Result<Committed, StorageError> {
        let mut client = self.pool.get().await?;
        // Prepared before the transaction (a no-op once cached): a statement
        // prepared on first use inside the pipelines below would let a later
        // statement overtake it.
        let leases_held = client.prepare_cached(LEASES_HELD).await?;
        let lock_counters = client.prepare_cached(LOCK_COUNTERS).await?;
        let stored_events = client.prepare_cached(STORED_EVENTS).await?;
        let stored_alerts = client.prepare_cached(STORED_ALERTS).await?;
        let insert_events = client.prepare_cached(INSERT_EVENTS).await?;
        let insert_alerts = client.prepare_cached(INSERT_ALERTS).await?;
        let update_counters = client.prepare_cached(UPDATE_COUNTERS).await?;
        let set_kv = client.prepare_cached(SET_KV).await?;
        let delete_kv = client.prepare_cached(DELETE_KV).await?;
        let add_followers = client.prepare_cached(ADD_FOLLOWERS).await?;
        let set_cursors = client.prepare_cached(SET_CURSORS).await?;
        let tx = client.transaction().await?;

        // First round trip: fence, lock, look up. PostgreSQL runs pipelined
        // statements in order, each (READ COMMITTED) with a snapshot taken
        // after the previous one finished, so the look-ups see every commit
        // that held these counters before us.
        let (lease_names, lease_holders): (Vec<String>, Vec<&str>) = commit
            .cursors
            .iter()
            .map(|c| (codec::partition_lease(c.partition), c.holder.as_str()))
            .unzip();
        let channels = plan::channels(&commit);
        let (ev_channels, ev_ids): (Vec<&str>, Vec<&str>) = commit
            .events
            .iter()
            .map(|e| (e.channel_id.as_str(), e.id.as_str()))
            .unzip();
        let (al_channels, al_ids): (Vec<&str>, Vec<&str>) = commit
            .alerts
            .iter()
            .map(|a| (a.channel_id.as_str(), a.id.as_str()))
            .unzip();
        let (held, counter_rows, event_rows, alert_rows) = futures_util::try_join!(
            async {
                if lease_names.is_empty() {
                    return Ok(Vec::new());
                }
                tx.query(&leases_held, &[&lease_names, &lease_holders])
                    .await
            },
            async {
                if channels.is_empty() {
                    return Ok(Vec::new());
                }
                tx.query(&lock_counters, &[&channels]).await
            },
            async {
                if ev_ids.is_empty() {
                    return Ok(Vec::new());
                }
                tx.query(&stored_events, &[&ev_channels, &ev_ids]).await
            },
            async {
                if al_ids.is_empty() {
                    return Ok(Vec::new());
                }
                tx.query(&stored_alerts, &[&al_channels, &al_ids]).await
            },
        )?;
        let held: HashSet<String> = held
            .iter()
            .map(|r| r.try_get::<_, String>(0))
            .collect::<Result<_, _>>()?;
        if let Some(lost) = lease_names.iter().find(|n| !held.contains(*n)) {
            return Err(StorageError::LeaseLost(lost.clone()));
        }
        let mut counters = HashMap::new();
        for row in &counter_rows {
            counters.insert(
                row.try_get::<_, String>(0)?,
                Counters {
                    last_event: row.try_get(1)?,
                    last_alert: row.try_get(2)?,
                },
            );
        }
        let plan = plan::plan(
            &commit,
            &counters,
            &existing(&event_rows)?,
            &existing(&alert_rows)?,
        )?;

        // Second round trip: every write, one statement per table.
        let events = EventColumns::of(&plan);
        let alerts = AlertColumns::of(&plan);
        let (c_channels, c_events, c_alerts): (Vec<&str>, Vec<i64>, Vec<i64>) = plan
            .counters
            .iter()
            .map(|(channel, c)| (*channel, c.last_event, c.last_alert))
            .collect();
        let (set, deleted): (Vec<&KvChange>, Vec<&KvChange>) =
            plan.kv.iter().copied().partition(|k| k.value.is_some());
        let set_columns = (
            set.iter()
                .map(|k| k.channel_id.as_str())
                .collect::<Vec<_>>(),
            set.iter().map(|k| k.plugin.as_str()).collect::<Vec<_>>(),
            set.iter().map(|k| k.key.as_str()).collect::<Vec<_>>(),
            set.iter().map(|k| k.value.as_deref()).collect::<Vec<_>>(),
        );
        let delete_columns = (
            deleted
                .iter()
                .map(|k| k.channel_id.as_str())
                .collect::<Vec<_>>(),
            deleted
                .iter()
                .map(|k| k.plugin.as_str())
                .collect::<Vec<_>>(),
            deleted.iter().map(|k| k.key.as_str()).collect::<Vec<_>>(),
        );
        let (f_channels, f_users): (Vec<&str>, Vec<&str>) = plan.followers.iter().copied().unzip();
        // One row per partition (the furthest position): a statement may
        // not upsert a row twice.
        let mut furthest: BTreeMap<i64, i64> = BTreeMap::new();
        for c in &commit.cursors {
            let sequence = codec::sequence_in(c.sequence)?;
            let entry = furthest.entry(i64::from(c.partition)).or_insert(sequence);
            *entry = (*entry).max(sequence);
        }
        let (cursor_partitions, cursor_sequences): (Vec<i64>, Vec<i64>) =
            furthest.into_iter().unzip();
        futures_util::try_join!(
            async {
                if events.channel_id.is_empty() {
                    return Ok(0);
                }
                tx.execute(
                    &insert_events,
                    &[
                        &events.channel_id,
                        &events.seq,
                        &events.id,
                        &events.kind,
                        &events.source,
                        &events.occurred_at,
                        &events.body,
                        &events.display,
                    ],
                )
                .await
            },
            async {
                if alerts.channel_id.is_empty() {
                    return Ok(0);
                }
                tx.execute(
                    &insert_alerts,
                    &[
                        &alerts.channel_id,
                        &alerts.id,
                        &alerts.overlay,
                        &alerts.position,
                        &alerts.event_id,
                        &alerts.plugin,
                        &alerts.body,
                    ],
                )
                .await
            },
            async {
                if c_channels.is_empty() {
                    return Ok(0);
                }
                tx.execute(&update_counters, &[&c_channels, &c_events, &c_alerts])
                    .await
            },
            async {
                if set_columns.0.is_empty() {
                    return Ok(0);
                }
                tx.execute(
                    &set_kv,
                    &[
                        &set_columns.0,
                        &set_columns.1,
                        &set_columns.2,
                        &set_columns.3,
                    ],
                )
                .await
            },
            async {
                if delete_columns.0.is_empty() {
                    return Ok(0);
                }
                tx.execute(
                    &delete_kv,
                    &[&delete_columns.0, &delete_columns.1, &delete_columns.2],
                )
                .await
            },
            async {
                if f_channels.is_empty() {
                    return Ok(0);
                }
                tx.execute(&add_followers, &[&f_channels, &f_users]).await
            },
            async {
                if cursor_partitions.is_empty() {
                    return Ok(0);
                }
                tx.execute(&set_cursors, &[&cursor_partitions, &cursor_sequences])
                    .await
            },
        )?;
        tx.commit().await?;
        Ok(plan.committed)
    }

    async fn cursor(&self, partition: u32) -> Result<Option<u64>, StorageError> {
        let rows = self
            .query(
                "SELECT sequence FROM stream_cursors WHERE partition = $1",
                &[&i64::from(partition)],
            )
            .await?;
        match rows.first() {
            Some(row) => Ok(Some(codec::sequence_out(row.try_get(0)?)?)),
            None => Ok(None),
        }
    }

    async fn put_plugin(&self, plugin: ChannelPlugin) -> Result<(), StorageError> {
        // Empty grants and null settings mean "not given": a replace keeps
        // what the streamer set.
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(concat!(
                "INSERT INTO channel_plugins
                     (channel_id, name, package, digest, granted, settings, enabled, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, ",
                now_us!(),
                ")
                 ON CONFLICT (channel_id, name) DO UPDATE SET
                     package = EXCLUDED.package,
                     digest = EXCLUDED.digest,
                     granted = CASE WHEN $8 THEN channel_plugins.granted ELSE EXCLUDED.granted END,
                     settings = CASE WHEN $9 THEN channel_plugins.settings ELSE EXCLUDED.settings END,
                     enabled = EXCLUDED.enabled,
                     updated_at = EXCLUDED.updated_at"
            ))
            .await?;
        client
            .execute(
                &stmt,
                &[
                    &plugin.channel_id,
                    &plugin.name,
                    &plugin.package,
                    &plugin.digest,
                    &codec::strings_text(&plugin.granted),
                    &plugin.settings.to_string(),
                    &plugin.enabled,
                    &plugin.granted.is_empty(),
                    &plugin.settings.is_null(),
                ],
            )
            .await
            .map_err(channel_error(&plugin.channel_id))?;
        Ok(())
    }

    async fn plugins(&self, channel: &str) -> Result<Vec<ChannelPlugin>, StorageError> {
        self.query(
            "SELECT channel_id, name, package, digest, granted, settings, enabled, updated_at
             FROM channel_plugins WHERE channel_id = $1 ORDER BY name",
            &[&channel],
        )
        .await?
        .iter()
        .map(|r| {
            PluginRow {
                channel_id: r.try_get(0)?,
                name: r.try_get(1)?,
                package: r.try_get(2)?,
                digest: r.try_get(3)?,
                granted: r.try_get(4)?,
                settings: r.try_get(5)?,
                enabled: r.try_get(6)?,
                updated_at: r.try_get(7)?,
            }
            .decode()
        })
        .collect()
    }

    async fn set_plugin_settings(
        &self,
        channel: &str,
        plugin: &str,
        settings: &Value,
    ) -> Result<bool, StorageError> {
        let changed = self
            .execute(
                concat!(
                    "UPDATE channel_plugins SET settings = $3, updated_at = ",
                    now_us!(),
                    " WHERE channel_id = $1 AND name = $2"
                ),
                &[&channel, &plugin, &settings.to_string()],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn set_plugin_grants(
        &self,
        channel: &str,
        plugin: &str,
        granted: &[String],
    ) -> Result<bool, StorageError> {
        let changed = self
            .execute(
                concat!(
                    "UPDATE channel_plugins SET granted = $3, updated_at = ",
                    now_us!(),
                    " WHERE channel_id = $1 AND name = $2"
                ),
                &[&channel, &plugin, &codec::strings_text(granted)],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn remove_plugin(&self, channel: &str, plugin: &str) -> Result<bool, StorageError> {
        let mut client = self.pool.get().await?;
        let remove = client
            .prepare_cached("DELETE FROM channel_plugins WHERE channel_id = $1 AND name = $2")
            .await?;
        let forget = client
            .prepare_cached("DELETE FROM plugin_kv WHERE channel_id = $1 AND plugin = $2")
            .await?;
        let tx = client.transaction().await?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&channel, &plugin];
        let (removed, _) =
            futures_util::try_join!(tx.execute(&remove, &params), tx.execute(&forget, &params),)?;
        tx.commit().await?;
        Ok(removed == 1)
    }

    async fn known_followers(&self, channel: &str) -> Result<Vec<String>, StorageError> {
        self.query(
            "SELECT user_id FROM known_followers WHERE channel_id = $1 ORDER BY user_id",
            &[&channel],
        )
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    async fn add_known_followers(&self, channel: &str, ids: &[String]) -> Result<(), StorageError> {
        if ids.is_empty() {
            return Ok(());
        }
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO known_followers (channel_id, user_id)
                 SELECT $1, u FROM UNNEST($2::TEXT[]) AS u
                 ON CONFLICT (channel_id, user_id) DO NOTHING",
            )
            .await?;
        client
            .execute(&stmt, &[&channel, &ids])
            .await
            .map_err(channel_error(channel))?;
        Ok(())
    }

    async fn remove_known_followers(
        &self,
        channel: &str,
        ids: &[String],
    ) -> Result<(), StorageError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.execute(
            "DELETE FROM known_followers WHERE channel_id = $1 AND user_id = ANY($2)",
            &[&channel, &ids],
        )
        .await?;
        Ok(())
    }

    async fn members(
        &self,
        channel: &str,
        list: MemberList,
    ) -> Result<Option<Members>, StorageError> {
        let mut client = self.pool.get().await?;
        // One snapshot for the generation and the rows.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let generation = tx
            .query_opt(
                "SELECT generation FROM member_lists WHERE channel_id = $1 AND list = $2",
                &[&channel, &list.as_str()],
            )
            .await?;
        let Some(generation) = generation else {
            return Ok(None);
        };
        let rows = tx
            .query(
                "SELECT user_id, login, display_name, data FROM channel_members
                 WHERE channel_id = $1 AND list = $2 ORDER BY user_id",
                &[&channel, &list.as_str()],
            )
            .await?;
        tx.commit().await?;
        let members = rows
            .iter()
            .map(|r| {
                let data: String = r.try_get(3)?;
                codec::member(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, &data)
            })
            .collect::<Result<_, StorageError>>()?;
        Ok(Some(Members {
            generation: generation.try_get(0)?,
            members,
        }))
    }

    async fn replace_members(
        &self,
        channel: &str,
        list: MemberList,
        known: Option<i64>,
        added: &[Member],
        removed: &[String],
    ) -> Result<Option<i64>, StorageError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // The list's row is locked by this statement until the commit, so
        // two writers of one list take turns, and the second finds the
        // generation moved on.
        let row = match known {
            None => tx
                .query_opt(
                    concat!(
                        "INSERT INTO member_lists (channel_id, list, generation, updated_at)
                         VALUES ($1, $2, 1, ",
                        now_us!(),
                        ") ON CONFLICT (channel_id, list) DO NOTHING
                         RETURNING generation"
                    ),
                    &[&channel, &list.as_str()],
                )
                .await
                .map_err(channel_error(channel))?,
            Some(known) => {
                tx.query_opt(
                    concat!(
                        "UPDATE member_lists SET generation = generation + 1, updated_at = ",
                        now_us!(),
                        " WHERE channel_id = $1 AND list = $2 AND generation = $3
                         RETURNING generation"
                    ),
                    &[&channel, &list.as_str(), &known],
                )
                .await?
            }
        };
        // Moved on: the transaction is dropped, so nothing is written.
        let Some(row) = row else { return Ok(None) };
        let generation: i64 = row.try_get(0)?;
        if !removed.is_empty() {
            tx.execute(
                "DELETE FROM channel_members
                 WHERE channel_id = $1 AND list = $2 AND user_id = ANY($3)",
                &[&channel, &list.as_str(), &removed],
            )
            .await?;
        }
        if !added.is_empty() {
            let column = |f: fn(&Member) -> String| added.iter().map(f).collect::<Vec<_>>();
            let (ids, logins, names, data) = (
                column(|m| m.user_id.clone()),
                column(|m| m.login.clone()),
                column(|m| m.display_name.clone()),
                column(|m| m.data.to_string()),
            );
            // A user twice in `added`: the last row wins, as on SQLite.
            tx.execute(
                "INSERT INTO channel_members
                     (channel_id, list, user_id, login, display_name, data)
                 SELECT DISTINCT ON (u) $1, $2, u, l, n, d
                 FROM UNNEST($3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[])
                     WITH ORDINALITY AS t (u, l, n, d, i)
                 ORDER BY u, i DESC
                 ON CONFLICT (channel_id, list, user_id) DO UPDATE SET
                     login = EXCLUDED.login,
                     display_name = EXCLUDED.display_name,
                     data = EXCLUDED.data",
                &[&channel, &list.as_str(), &ids, &logins, &names, &data],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Some(generation))
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StorageError> {
        let changed = self
            .execute(
                concat!(
                    "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, ",
                    now_us!(),
                    " + $3)
                     ON CONFLICT (name) DO UPDATE SET
                         holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                     WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= ",
                    now_us!()
                ),
                &[&name, &holder, &codec::ttl_micros(ttl)],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn acquire_leases(
        &self,
        names: &[String],
        holder: &str,
        ttl: Duration,
    ) -> Result<Vec<String>, StorageError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        // Sorted, so two nodes renewing overlapping sets lock rows in one
        // order and never wait for each other in a cycle.
        let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let held: HashSet<String> = self
            .query(
                concat!(
                    "INSERT INTO leases (name, holder, expires_at)
                     SELECT n, $2, ",
                    now_us!(),
                    " + $3 FROM UNNEST($1::TEXT[]) AS n
                     ON CONFLICT (name) DO UPDATE SET
                         holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                     WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= ",
                    now_us!(),
                    " RETURNING name"
                ),
                &[&sorted, &holder, &codec::ttl_micros(ttl)],
            )
            .await?
            .iter()
            .map(|r| r.try_get::<_, String>(0))
            .collect::<Result<_, _>>()?;
        Ok(names
            .iter()
            .filter(|n| held.contains(*n))
            .cloned()
            .collect())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StorageError> {
        self.execute(
            "DELETE FROM leases WHERE name = $1 AND holder = $2",
            &[&name, &holder],
        )
        .await?;
        Ok(())
    }

    async fn leases(&self, prefix: &str) -> Result<Vec<Lease>, StorageError> {
        self.query(
            "SELECT name, holder, expires_at FROM leases
             WHERE left(name, char_length($1)) = $1 ORDER BY name",
            &[&prefix],
        )
        .await?
        .iter()
        .map(|r| codec::lease(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
        .collect()
    }
}

// Written through `commit`, so the single-call writes keep every check a
// worker's commit has (the channel exists, ids already stored are skipped).
#[async_trait::async_trait]
impl EventLog for PostgresStore {
    async fn append_events(&self, events: Vec<NewEvent>) -> Result<Vec<Inserted>, StorageError> {
        Ok(self.commit(Commit::of_events(events)).await?.events)
    }

    async fn recent_events(
        &self,
        channel: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<ChannelEvent>, StorageError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE channel_id = $1 AND seq < $2
             ORDER BY seq DESC LIMIT $3"
        );
        self.query(
            &sql,
            &[&channel, &before.unwrap_or(i64::MAX), &i64::from(limit)],
        )
        .await?
        .iter()
        .map(event_row)
        .collect()
    }

    async fn events_after(
        &self,
        channel: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChannelEvent>, StorageError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE channel_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3"
        );
        self.query(&sql, &[&channel, &after, &i64::from(limit)])
            .await?
            .iter()
            .map(event_row)
            .collect()
    }

    async fn event_count(&self, channel: &str) -> Result<i64, StorageError> {
        let rows = self
            .query(
                "SELECT COUNT(*) FROM events WHERE channel_id = $1",
                &[&channel],
            )
            .await?;
        match rows.first() {
            Some(row) => Ok(row.try_get(0)?),
            None => Ok(0),
        }
    }
}

#[async_trait::async_trait]
impl AlertQueue for PostgresStore {
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
        self.query(
            "SELECT channel_id, id, overlay, position, event_id, plugin, body, queued_at
             FROM overlay_alerts
             WHERE channel_id = $1 AND overlay = $2 AND acked_at IS NULL
             ORDER BY position LIMIT $3",
            &[&channel, &overlay, &i64::from(limit)],
        )
        .await?
        .iter()
        .map(|r| {
            AlertRow {
                channel_id: r.try_get(0)?,
                id: r.try_get(1)?,
                overlay: r.try_get(2)?,
                position: r.try_get(3)?,
                event_id: r.try_get(4)?,
                plugin: r.try_get(5)?,
                body: r.try_get(6)?,
                queued_at: r.try_get(7)?,
            }
            .decode()
        })
        .collect()
    }

    async fn ack_alert(
        &self,
        channel: &str,
        overlay: &str,
        id: &str,
    ) -> Result<bool, StorageError> {
        let changed = self
            .execute(
                concat!(
                    "UPDATE overlay_alerts SET acked_at = ",
                    now_us!(),
                    " WHERE channel_id = $1 AND overlay = $2 AND id = $3 AND acked_at IS NULL"
                ),
                &[&channel, &overlay, &id],
            )
            .await?;
        Ok(changed == 1)
    }
}

#[async_trait::async_trait]
impl PluginKv for PostgresStore {
    async fn plugin_kv(
        &self,
        channel: &str,
        plugin: &str,
    ) -> Result<HashMap<String, String>, StorageError> {
        self.query(
            "SELECT key, value FROM plugin_kv WHERE channel_id = $1 AND plugin = $2",
            &[&channel, &plugin],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    async fn apply_kv(&self, kv: Vec<KvChange>) -> Result<(), StorageError> {
        self.commit(Commit::of_kv(kv)).await.map(drop)
    }
}

/// A commit's new events as one array per column.
struct EventColumns<'a> {
    channel_id: Vec<&'a str>,
    seq: Vec<i64>,
    id: Vec<&'a str>,
    kind: Vec<&'a str>,
    source: Vec<&'a str>,
    occurred_at: Vec<i64>,
    body: Vec<String>,
    display: Vec<Option<String>>,
}

impl<'a> EventColumns<'a> {
    fn of(plan: &plan::Plan<'a>) -> Self {
        let n = plan.events.len();
        let mut c = Self {
            channel_id: Vec::with_capacity(n),
            seq: Vec::with_capacity(n),
            id: Vec::with_capacity(n),
            kind: Vec::with_capacity(n),
            source: Vec::with_capacity(n),
            occurred_at: Vec::with_capacity(n),
            body: Vec::with_capacity(n),
            display: Vec::with_capacity(n),
        };
        for (seq, e) in &plan.events {
            c.channel_id.push(&e.channel_id);
            c.seq.push(*seq);
            c.id.push(&e.id);
            c.kind.push(&e.kind);
            c.source.push(&e.source);
            c.occurred_at.push(codec::micros(e.occurred_at));
            c.body.push(e.body.to_string());
            c.display.push(e.display.as_ref().map(Value::to_string));
        }
        c
    }
}

/// A commit's new alerts as one array per column.
struct AlertColumns<'a> {
    channel_id: Vec<&'a str>,
    id: Vec<&'a str>,
    overlay: Vec<&'a str>,
    position: Vec<i64>,
    event_id: Vec<Option<&'a str>>,
    plugin: Vec<Option<&'a str>>,
    body: Vec<String>,
}

impl<'a> AlertColumns<'a> {
    fn of(plan: &plan::Plan<'a>) -> Self {
        let n = plan.alerts.len();
        let mut c = Self {
            channel_id: Vec::with_capacity(n),
            id: Vec::with_capacity(n),
            overlay: Vec::with_capacity(n),
            position: Vec::with_capacity(n),
            event_id: Vec::with_capacity(n),
            plugin: Vec::with_capacity(n),
            body: Vec::with_capacity(n),
        };
        for (position, a) in &plan.alerts {
            c.channel_id.push(&a.channel_id);
            c.id.push(&a.id);
            c.overlay.push(&a.overlay);
            c.position.push(*position);
            c.event_id.push(a.event_id.as_deref());
            c.plugin.push(a.plugin.as_deref());
            c.body.push(a.body.to_string());
        }
        c
    }
}
