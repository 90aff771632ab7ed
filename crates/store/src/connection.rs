//! Connections to SQLite or PostgreSQL through one type, a pool, and the embedded migrations.

use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StoreError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A connection to either backend; every repository function takes one.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL, what deployments use and what lets several nodes share state.
    Postgresql(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

/// A pooled connection.
pub type PooledDb = PooledConnection<ConnectionManager<DbConnection>>;

/// The database of a Sésame node: a pool of connections to one backend.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnectionManager<DbConnection>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never print it.
        f.debug_struct("Database").finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(sqlite) = conn {
            // WAL lets readers work while one writer commits; the busy timeout makes concurrent
            // writers wait for each other instead of failing at once.
            sqlite
                .batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

impl Database {
    /// Opens a pool on `url`: a `postgres://` or `postgresql://` URL, or a SQLite file path
    /// (optionally prefixed with `sqlite://`).
    pub fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let is_postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let url = url.strip_prefix("sqlite://").unwrap_or(url);
        // The pool's own error names no cause (a connection of several backends tries each of
        // them), after waiting for its timeout: one direct connection first says at once what
        // is wrong, such as a refused connection or a directory that does not exist.
        let probe = if is_postgres {
            PgConnection::establish(url).map(drop)
        } else {
            SqliteConnection::establish(url).map(drop)
        };
        probe.map_err(|err| StoreError::Unavailable(err.to_string()))?;
        let manager = ConnectionManager::<DbConnection>::new(url);
        let builder = Pool::builder()
            .max_size(if is_postgres {
                max_connections
            } else {
                max_connections.min(8)
            })
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(SqlitePragmas));
        let pool = builder
            .build(manager)
            .map_err(|err| StoreError::Unavailable(err.to_string()))?;
        Ok(Self { pool })
    }

    /// Runs the migrations that have not run yet, returning how many ran.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let mut conn = self.get()?;
        let applied = match &mut *conn {
            DbConnection::Sqlite(sqlite) => sqlite.run_pending_migrations(SQLITE_MIGRATIONS),
            DbConnection::Postgresql(pg) => pg.run_pending_migrations(POSTGRES_MIGRATIONS),
        }
        .map_err(|err| StoreError::Migration(err.to_string()))?;
        Ok(applied.len())
    }

    /// Takes a connection from the pool, waiting up to ten seconds.
    pub fn get(&self) -> Result<PooledDb, StoreError> {
        self.pool
            .get()
            .map_err(|err| StoreError::Unavailable(err.to_string()))
    }

    /// Runs blocking database work on tokio's blocking pool, off the HTTP workers.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let database = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = database.get()?;
            work(&mut conn)
        })
        .await
        .map_err(|err| StoreError::Unavailable(format!("database task failed: {err}")))?
    }

    /// Whether the database answers a trivial query: the readiness check.
    pub async fn is_ready(&self) -> bool {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(StoreError::from))
            .await
            .is_ok()
    }
}

/// The migration names of each backend, for the test that keeps them in step.
pub fn migration_names() -> (Vec<String>, Vec<String>) {
    use diesel::migration::MigrationSource;
    let names = |source: &EmbeddedMigrations| -> Vec<String> {
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(source)
            .map(|list| {
                list.iter()
                    .map(|migration| migration.name().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    (names(&SQLITE_MIGRATIONS), names(&POSTGRES_MIGRATIONS))
}

/// Runs `work` in one transaction: committed when it returns `Ok`, rolled back otherwise.
///
/// On SQLite the transaction takes the write lock when it begins (`BEGIN IMMEDIATE`). A
/// deferred transaction that reads and then writes fails at once with "database is locked"
/// when another connection committed in between, whatever the busy timeout; an immediate one
/// waits for its turn instead. PostgreSQL needs nothing of the kind.
pub fn in_transaction<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    use diesel::Connection;
    use diesel::connection::{AnsiTransactionManager, TransactionManager};

    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    let outermost = AnsiTransactionManager::transaction_manager_status_mut(sqlite)
        .transaction_depth()
        .map_err(StoreError::from)?
        .is_none();
    if !outermost {
        // Nested: a savepoint inside the immediate transaction already open.
        return conn.transaction(work);
    }
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let result = work(conn);
    let DbConnection::Sqlite(sqlite) = conn else {
        return result;
    };
    match result {
        Ok(value) => {
            <AnsiTransactionManager as TransactionManager<SqliteConnection>>::commit_transaction(
                sqlite,
            )?;
            Ok(value)
        }
        Err(err) => {
            // The work's error is the one that matters; a failed rollback leaves the
            // connection broken, which the pool detects and replaces.
            let _ = <AnsiTransactionManager as TransactionManager<SqliteConnection>>::rollback_transaction(sqlite);
            Err(err)
        }
    }
}
